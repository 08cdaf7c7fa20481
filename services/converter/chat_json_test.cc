#include "services/converter/chat_json.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace zarc::converter {
namespace {

std::string B(absl::string_view text) { return absl::Base64Escape(text); }

std::string Message(int type, absl::string_view id, absl::string_view sender,
                    absl::string_view content, absl::string_view extra = "") {
  return absl::StrCat("{\"msg_type\":", type, ",\"msg_id\":\"", id,
                      "\",\"e_time\":1709647200000,\"s_name\":\"", B(sender), "\",\"s_email\":\"",
                      B("x@example.com"), "\",\"msg_content\":\"", B(content), "\"", extra, "}");
}

TEST(ChatJsonTest, EveryMessageTypeWithItsReferences) {
  const std::string json = absl::StrCat(
      "{\"uuid\":\"abc==\",\"messages\":[", Message(1, "m1", "Zoë", "Hello 👋"), ",",
      Message(2, "m2", "Bob", "secret",
              absl::StrCat(",\"r_name\":\"", B("Zoë"), "\",\"r_email\":\"", B("zoe@example.com"),
                           "\"")),
      ",", Message(3, "m3", "Bob", "", ",\"original_msg_id\":\"m2\""), ",",
      Message(4, "m4", "Carol", "👍", ",\"parent_msg_id\":\"m1\""), ",",
      Message(5, "m5", "Carol", "raise hand"), ",",
      Message(6, "m6", "Zoë", "Hello all 👋", ",\"original_msg_id\":\"m1\""), ",",
      Message(7, "m7", "山田", "はい",
              ",\"parent_msg_id\":\"m1\",\"files\":[{\"file_name\":\"" + B("資料.pdf") + "\"}]"),
      "]}");
  absl::StatusOr<ParsedArchivedChat> chat = ParseChatJson(json, "chat.json");
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_TRUE(chat->problems.empty()) << chat->problems.front();
  EXPECT_EQ(chat->meeting_uuid, "abc==");
  ASSERT_EQ(chat->messages.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(chat->messages[i].msg_type, i + 1);
  EXPECT_EQ(chat->messages[0].sender_name, "Zoë");
  EXPECT_EQ(chat->messages[0].sender_email, "x@example.com");
  EXPECT_EQ(chat->messages[0].content, "Hello 👋");
  EXPECT_EQ(chat->messages[0].time, absl::FromUnixMillis(1709647200000));
  EXPECT_EQ(chat->messages[1].recipient_name, "Zoë");
  EXPECT_EQ(chat->messages[1].recipient_email, "zoe@example.com");
  EXPECT_EQ(chat->messages[2].original_id, "m2");
  EXPECT_EQ(chat->messages[3].parent_id, "m1");
  EXPECT_EQ(chat->messages[3].content, "👍");
  EXPECT_EQ(chat->messages[5].original_id, "m1");
  EXPECT_EQ(chat->messages[6].parent_id, "m1");
  ASSERT_EQ(chat->messages[6].files.size(), 1u);
  EXPECT_EQ(chat->messages[6].files[0], "資料.pdf");
}

TEST(ChatJsonTest, TimeFormatsAndForgivenFields) {
  const std::string json =
      "[{\"msg_type\":\"1\",\"msg_id\":7,\"e_time\":\"2024-03-05T14:00:00Z\",\"s_name\":\"not "
      "base64!\",\"msg_content\":\"" +
      B("ok") +
      "\"},"
      "{\"msg_type\":9,\"e_time\":1709647200,\"msg_content\":\"" +
      B("\xff") +
      "\"},"
      "{\"msg_type\":1},"
      "42]";
  absl::StatusOr<ParsedArchivedChat> chat = ParseChatJson(json, "c.json");
  ASSERT_TRUE(chat.ok()) << chat.status();
  ASSERT_EQ(chat->messages.size(), 3u);
  EXPECT_EQ(chat->messages[0].id, "7");
  EXPECT_EQ(chat->messages[0].time, absl::FromUnixSeconds(1709647200));
  EXPECT_EQ(chat->messages[0].sender_name, "not base64!");
  EXPECT_EQ(chat->messages[1].time, absl::FromUnixSeconds(1709647200));
  EXPECT_EQ(chat->messages[1].msg_type, 9);
  EXPECT_EQ(chat->messages[1].content, "\xEF\xBF\xBD");
  EXPECT_FALSE(chat->messages[2].time.has_value());
  const std::string all = absl::StrJoin(chat->problems, "\n");
  EXPECT_TRUE(absl::StrContains(all, "c.json message 1: s_name is not base64")) << all;
  EXPECT_TRUE(absl::StrContains(all, "c.json message 2: msg_type is missing or unknown")) << all;
  EXPECT_TRUE(absl::StrContains(all, "c.json message 2: msg_content is not UTF-8")) << all;
  EXPECT_TRUE(absl::StrContains(all, "c.json message 3: e_time is missing")) << all;
  EXPECT_TRUE(absl::StrContains(all, "c.json message 4: not a JSON object")) << all;
}

TEST(ChatJsonTest, RejectsWhatIsNotAnArchivedChat) {
  for (const std::string& bad : {std::string("not json"), std::string("{\"messages\":3}"),
                                 std::string("\"text\""), std::string(100000, '[')}) {
    absl::StatusOr<ParsedArchivedChat> chat = ParseChatJson(bad, "c.json");
    ASSERT_FALSE(chat.ok()) << bad.substr(0, 20);
    EXPECT_EQ(chat.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(chat.status().message(), "c.json: "));
  }
}

}  // namespace
}  // namespace zarc::converter
