#include "services/converter/chat_txt.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace zarc::converter {
namespace {

TEST(ChatTxtTest, CloudFormatWithContinuationLines) {
  const std::string text =
      "\xEF\xBB\xBF"
      "00:00:16\tAlice Smith:\tHello everyone\r\n"
      "00:01:02\tBob Jones:\tFirst line\r\n"
      "second line\r\n"
      "\r\n"
      "fourth line   \r\n"
      "01:02:03\tDr. Who: The Doctor:\tnames may contain colons\r\n";
  absl::StatusOr<ParsedChat> chat = ParseChatTxt(text, "chat.txt");
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_TRUE(chat->problems.empty());
  ASSERT_EQ(chat->messages.size(), 3u);
  EXPECT_EQ(chat->messages[0].offset, absl::Seconds(16));
  EXPECT_EQ(chat->messages[0].sender, "Alice Smith");
  EXPECT_EQ(chat->messages[0].text, "Hello everyone");
  EXPECT_EQ(chat->messages[0].recipient, "");
  EXPECT_FALSE(chat->messages[0].is_private);
  EXPECT_EQ(chat->messages[1].text, "First line\nsecond line\n\nfourth line");
  EXPECT_EQ(chat->messages[2].offset, absl::Hours(1) + absl::Minutes(2) + absl::Seconds(3));
  EXPECT_EQ(chat->messages[2].sender, "Dr. Who: The Doctor");
  EXPECT_EQ(chat->messages[2].line, 6);
}

TEST(ChatTxtTest, NonAsciiNamesAndEmoji) {
  const std::string text =
      "00:00:05\t山田 太郎:\tこんにちは 🎉\n"
      "00:00:09\tZoë Ñúñez:\t👍🏽 ok\n";
  absl::StatusOr<ParsedChat> chat = ParseChatTxt(text, "chat.txt");
  ASSERT_TRUE(chat.ok()) << chat.status();
  ASSERT_EQ(chat->messages.size(), 2u);
  EXPECT_EQ(chat->messages[0].sender, "山田 太郎");
  EXPECT_EQ(chat->messages[0].text, "こんにちは 🎉");
  EXPECT_EQ(chat->messages[1].sender, "Zoë Ñúñez");
  EXPECT_EQ(chat->messages[1].text, "👍🏽 ok");
}

TEST(ChatTxtTest, LocalFormatTextOnNextLinesAndPrivateMarkers) {
  const std::string text =
      "10:15:32 From  Alice Smith  to  Everyone:\n"
      "\tGood morning\n"
      "\tsecond line\n"
      "10:16:00 From Bob to Alice Smith(Direct Message):\n"
      "\tpsst\n"
      "10:17:00 From Carol to Bob (Privately) : same line text\n"
      "10:18:00 From Dave to Everyone: one-line: with colon\n";
  absl::StatusOr<ParsedChat> chat = ParseChatTxt(text, "meeting_saved_chat.txt");
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_TRUE(chat->problems.empty());
  ASSERT_EQ(chat->messages.size(), 4u);
  EXPECT_EQ(chat->messages[0].sender, "Alice Smith");
  EXPECT_EQ(chat->messages[0].recipient, "");
  EXPECT_EQ(chat->messages[0].text, "Good morning\nsecond line");
  EXPECT_FALSE(chat->messages[0].is_private);
  EXPECT_EQ(chat->messages[1].sender, "Bob");
  EXPECT_EQ(chat->messages[1].recipient, "Alice Smith");
  EXPECT_TRUE(chat->messages[1].is_private);
  EXPECT_EQ(chat->messages[1].text, "psst");
  EXPECT_EQ(chat->messages[2].recipient, "Bob");
  EXPECT_TRUE(chat->messages[2].is_private);
  EXPECT_EQ(chat->messages[2].text, "same line text");
  EXPECT_EQ(chat->messages[3].text, "one-line: with colon");
  EXPECT_EQ(chat->messages[3].offset, absl::Hours(10) + absl::Minutes(18));
}

TEST(ChatTxtTest, ReportsWhatItCouldNotReadWithLineNumbers) {
  const std::string text =
      "stray preamble\n"
      "00:00:01\tAlice:\thi\n"
      "00:00:02 no separator here\n"
      "00:00:03\tBob:\tbad \xff byte\n";
  absl::StatusOr<ParsedChat> chat = ParseChatTxt(text, "chat.txt");
  ASSERT_TRUE(chat.ok()) << chat.status();
  ASSERT_EQ(chat->messages.size(), 4u);
  EXPECT_EQ(chat->messages[0].sender, "");
  EXPECT_EQ(chat->messages[0].text, "stray preamble");
  EXPECT_EQ(chat->messages[2].text, "no separator here");
  EXPECT_EQ(chat->messages[3].text, "bad \xEF\xBF\xBD byte");
  ASSERT_EQ(chat->problems.size(), 3u);
  EXPECT_TRUE(absl::StrContains(chat->problems[0], "not valid UTF-8")) << chat->problems[0];
  EXPECT_TRUE(absl::StrContains(chat->problems[1], "chat.txt line 1:")) << chat->problems[1];
  EXPECT_TRUE(absl::StrContains(chat->problems[2], "chat.txt line 3:")) << chat->problems[2];
}

TEST(ChatTxtTest, RejectsAFileWithNoTimestampAtAll) {
  absl::StatusOr<ParsedChat> chat = ParseChatTxt("<html>Access denied</html>\n", "chat.txt");
  ASSERT_FALSE(chat.ok());
  EXPECT_EQ(chat.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(chat.status().message(), "<html>Access denied</html>"));
  absl::StatusOr<ParsedChat> empty = ParseChatTxt("\r\n", "chat.txt");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->messages.empty());
}

TEST(ChatTxtTest, InvalidClockValuesAreNotTimestamps) {
  absl::StatusOr<ParsedChat> chat = ParseChatTxt("00:00:01\tA:\tx\n00:61:00\tB:\ty\n", "c.txt");
  ASSERT_TRUE(chat.ok());
  ASSERT_EQ(chat->messages.size(), 1u);
  EXPECT_EQ(chat->messages[0].text, "x\n00:61:00\tB:\ty");
}

}  // namespace
}  // namespace zarc::converter
