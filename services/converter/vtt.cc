#include "services/converter/vtt.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/converter/mime_header.h"

namespace zarc::converter {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";
constexpr size_t kMaxSpeakerLength = 80;

absl::string_view Trim(absl::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

bool Digits(absl::string_view s, size_t n, int* value) {
  if (s.size() != n) return false;
  *value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    *value = *value * 10 + (c - '0');
  }
  return true;
}

// `[HH:]MM:SS.mmm` (WebVTT §4.1); hours may have more than two digits; ',' accepted for '.'.
std::optional<absl::Duration> ParseTimestamp(absl::string_view s) {
  const size_t dot = s.find_first_of(".,");
  if (dot == absl::string_view::npos) return std::nullopt;
  int millis;
  if (!Digits(s.substr(dot + 1), 3, &millis)) return std::nullopt;
  const std::vector<absl::string_view> parts = absl::StrSplit(s.substr(0, dot), ':');
  if (parts.size() != 2 && parts.size() != 3) return std::nullopt;
  int hours = 0;
  int minutes;
  int seconds;
  if (parts.size() == 3) {
    if (parts[0].empty() || parts[0].size() > 4 || !Digits(parts[0], parts[0].size(), &hours)) {
      return std::nullopt;
    }
  }
  if (!Digits(parts[parts.size() - 2], 2, &minutes) || !Digits(parts.back(), 2, &seconds) ||
      minutes > 59 || seconds > 59) {
    return std::nullopt;
  }
  return absl::Hours(hours) + absl::Minutes(minutes) + absl::Seconds(seconds) +
         absl::Milliseconds(millis);
}

// `start --> end[ settings]`.
bool ParseTiming(absl::string_view line, VttCue* cue) {
  const size_t arrow = line.find("-->");
  if (arrow == absl::string_view::npos) return false;
  const absl::string_view start = Trim(line.substr(0, arrow));
  absl::string_view end = Trim(line.substr(arrow + 3));
  const size_t space = end.find_first_of(" \t");
  if (space != absl::string_view::npos) end = end.substr(0, space);
  std::optional<absl::Duration> s = ParseTimestamp(start);
  std::optional<absl::Duration> e = ParseTimestamp(end);
  if (!s.has_value() || !e.has_value()) return false;
  cue->start = *s;
  cue->end = *e;
  return true;
}

// Zoom writes `Speaker Name: words`; WebVTT proper writes `<v Speaker Name>words`.
void SplitSpeaker(VttCue* cue) {
  absl::string_view text = cue->text;
  if (absl::StartsWith(text, "<v ") || absl::StartsWith(text, "<v.")) {
    const size_t close = text.find('>');
    if (close != absl::string_view::npos) {
      absl::string_view tag = text.substr(2, close - 2);
      const size_t space = tag.find(' ');
      cue->speaker = space == absl::string_view::npos ? "" : std::string(Trim(tag.substr(space)));
      std::string rest(text.substr(close + 1));
      const size_t end_tag = rest.find("</v>");
      if (end_tag != std::string::npos) rest.erase(end_tag, 4);
      cue->text = std::move(rest);
      return;
    }
  }
  const size_t first_line_end = std::min(text.find('\n'), text.size());
  const size_t colon = text.substr(0, first_line_end).find(": ");
  if (colon == absl::string_view::npos || colon == 0 || colon > kMaxSpeakerLength) return;
  const absl::string_view speaker = text.substr(0, colon);
  // A URL or a time of day before ": " is not a speaker.
  if (absl::StrContains(speaker, "://") || absl::StrContains(speaker, "-->")) return;
  cue->speaker = std::string(Trim(speaker));
  cue->text = std::string(text.substr(colon + 2));
}

}  // namespace

absl::StatusOr<ParsedVtt> ParseVtt(absl::string_view text, absl::string_view file_name) {
  ParsedVtt vtt;
  absl::ConsumePrefix(&text, kBom);
  const std::string valid = ToValidUtf8(text);
  if (valid != text) {
    vtt.problems.push_back(
        absl::StrCat(file_name, ": not valid UTF-8; the bad bytes are shown as U+FFFD"));
  }
  const std::vector<absl::string_view> lines = absl::StrSplit(valid, '\n');
  const absl::string_view header = Trim(lines.front());
  if (!absl::StartsWith(header, "WEBVTT") ||
      (header.size() > 6 && header[6] != ' ' && header[6] != '\t')) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": does not start with \"WEBVTT\" (first line: \"",
                     SanitizeHeaderText(header, 80),
                     "\"), so it is not a WebVTT file; it is attached unparsed"));
  }
  size_t i = 1;
  // Header lines run to the first blank line.
  while (i < lines.size() && !Trim(lines[i]).empty()) ++i;
  while (i < lines.size()) {
    if (Trim(lines[i]).empty()) {
      ++i;
      continue;
    }
    const size_t block_start = i;
    size_t block_end = i;
    while (block_end < lines.size() && !Trim(lines[block_end]).empty()) ++block_end;
    i = block_end;
    const absl::string_view first = Trim(lines[block_start]);
    if (absl::StartsWith(first, "NOTE") || absl::StartsWith(first, "STYLE") ||
        absl::StartsWith(first, "REGION")) {
      continue;
    }
    VttCue cue;
    size_t timing = block_start;
    if (!absl::StrContains(first, "-->")) {
      cue.identifier = std::string(first);
      ++timing;
    }
    if (timing >= block_end || !ParseTiming(Trim(lines[timing]), &cue)) {
      vtt.problems.push_back(absl::StrCat(
          file_name, " line ", timing < block_end ? timing + 1 : block_start + 1,
          ": no readable \"start --> end\" timing; the block is not shown (the file is attached)"));
      continue;
    }
    cue.line = static_cast<int>(timing) + 1;
    for (size_t l = timing + 1; l < block_end; ++l) {
      if (!cue.text.empty()) cue.text.push_back('\n');
      const absl::string_view content = Trim(lines[l]);
      cue.text.append(content.data(), content.size());
    }
    SplitSpeaker(&cue);
    vtt.cues.push_back(std::move(cue));
  }
  return vtt;
}

}  // namespace zarc::converter
