#include "services/converter/vtt.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace zarc::converter {
namespace {

TEST(VttTest, ZoomTranscriptWithSpeakers) {
  const std::string text =
      "WEBVTT\r\n\r\n"
      "1\r\n00:00:04.859 --> 00:00:07.410\r\nAlice Smith: Good morning, everyone.\r\n\r\n"
      "2\r\n00:00:07.500 --> 00:00:12.000\r\nBob: Two lines\r\nof text: here\r\n\r\n"
      "3\r\n00:00:13.000 --> 00:00:14.000\r\nno speaker in this cue\r\n";
  absl::StatusOr<ParsedVtt> vtt = ParseVtt(text, "transcript.vtt");
  ASSERT_TRUE(vtt.ok()) << vtt.status();
  EXPECT_TRUE(vtt->problems.empty());
  ASSERT_EQ(vtt->cues.size(), 3u);
  EXPECT_EQ(vtt->cues[0].identifier, "1");
  EXPECT_EQ(vtt->cues[0].start, absl::Seconds(4) + absl::Milliseconds(859));
  EXPECT_EQ(vtt->cues[0].end, absl::Seconds(7) + absl::Milliseconds(410));
  EXPECT_EQ(vtt->cues[0].speaker, "Alice Smith");
  EXPECT_EQ(vtt->cues[0].text, "Good morning, everyone.");
  EXPECT_EQ(vtt->cues[1].speaker, "Bob");
  EXPECT_EQ(vtt->cues[1].text, "Two lines\nof text: here");
  EXPECT_EQ(vtt->cues[2].speaker, "");
  EXPECT_EQ(vtt->cues[2].text, "no speaker in this cue");
}

TEST(VttTest, UnnumberedCuesVoiceTagsSettingsAndNotes) {
  const std::string text =
      "\xEF\xBB\xBFWEBVTT - captions\n"
      "Kind: captions\n\n"
      "NOTE this is a comment\n\n"
      "01:02.000 --> 01:03.500 align:start position:10%\n"
      "<v Zoë Ñúñez>Hola 👋</v>\n\n"
      "1:00:00.000 --> 1:00:01.000\n"
      "田中: はい\n";
  absl::StatusOr<ParsedVtt> vtt = ParseVtt(text, "cc.vtt");
  ASSERT_TRUE(vtt.ok()) << vtt.status();
  ASSERT_EQ(vtt->cues.size(), 2u);
  EXPECT_EQ(vtt->cues[0].identifier, "");
  EXPECT_EQ(vtt->cues[0].start, absl::Minutes(1) + absl::Seconds(2));
  EXPECT_EQ(vtt->cues[0].speaker, "Zoë Ñúñez");
  EXPECT_EQ(vtt->cues[0].text, "Hola 👋");
  EXPECT_EQ(vtt->cues[1].start, absl::Hours(1));
  EXPECT_EQ(vtt->cues[1].speaker, "田中");
  EXPECT_EQ(vtt->cues[1].text, "はい");
}

TEST(VttTest, BadTimingIsReportedWithItsLineAndSkipped) {
  const std::string text =
      "WEBVTT\n\n"
      "1\n00:00:01.000 -> 00:00:02.000\nlost\n\n"
      "2\n00:00:03.000 --> 00:00:04.000\nkept\n";
  absl::StatusOr<ParsedVtt> vtt = ParseVtt(text, "t.vtt");
  ASSERT_TRUE(vtt.ok());
  ASSERT_EQ(vtt->cues.size(), 1u);
  EXPECT_EQ(vtt->cues[0].text, "kept");
  ASSERT_EQ(vtt->problems.size(), 1u);
  EXPECT_TRUE(absl::StrContains(vtt->problems[0], "t.vtt line 4:")) << vtt->problems[0];
}

TEST(VttTest, RejectsAFileThatIsNotWebVtt) {
  absl::StatusOr<ParsedVtt> vtt = ParseVtt("1\n00:00:01,000 --> 00:00:02,000\nsrt\n", "t.vtt");
  ASSERT_FALSE(vtt.ok());
  EXPECT_EQ(vtt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseVtt("WEBVTTX\n", "t.vtt").ok());
  EXPECT_FALSE(ParseVtt("", "t.vtt").ok());
}

}  // namespace
}  // namespace zarc::converter
