#include "services/converter/chat_txt.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/converter/mime_header.h"

namespace zarc::converter {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

absl::string_view TrimRight(absl::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

absl::string_view TrimLeft(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

absl::string_view Trim(absl::string_view s) { return TrimLeft(TrimRight(s)); }

bool Digit(char c) { return c >= '0' && c <= '9'; }

// `H:MM:SS` or `HH:MM:SS` at the start of the line, followed by whitespace or the end. Sets
// `rest` to what follows the whitespace.
std::optional<absl::Duration> LeadingTimestamp(absl::string_view line, absl::string_view* rest) {
  size_t hour_digits = 0;
  while (hour_digits < line.size() && hour_digits < 3 && Digit(line[hour_digits])) ++hour_digits;
  if (hour_digits == 0 || hour_digits > 2) return std::nullopt;
  const size_t p = hour_digits;
  if (line.size() < p + 6 || line[p] != ':' || !Digit(line[p + 1]) || !Digit(line[p + 2]) ||
      line[p + 3] != ':' || !Digit(line[p + 4]) || !Digit(line[p + 5])) {
    return std::nullopt;
  }
  if (line.size() > p + 6 && line[p + 6] != ' ' && line[p + 6] != '\t') return std::nullopt;
  int hours = 0;
  for (size_t i = 0; i < hour_digits; ++i) hours = hours * 10 + (line[i] - '0');
  const int minutes = (line[p + 1] - '0') * 10 + (line[p + 2] - '0');
  const int seconds = (line[p + 4] - '0') * 10 + (line[p + 5] - '0');
  if (minutes > 59 || seconds > 59) return std::nullopt;
  *rest = TrimLeft(line.substr(p + 6));
  return absl::Hours(hours) + absl::Minutes(minutes) + absl::Seconds(seconds);
}

// Strips a private-message marker from the end of a recipient.
bool StripPrivateMarker(std::string* recipient) {
  for (absl::string_view marker : {"(Direct Message)", "(Privately)"}) {
    if (recipient->size() >= marker.size() &&
        absl::EqualsIgnoreCase(
            absl::string_view(*recipient).substr(recipient->size() - marker.size()), marker)) {
      recipient->resize(recipient->size() - marker.size());
      *recipient = std::string(Trim(*recipient));
      return true;
    }
  }
  return false;
}

// The local format's header after the timestamp: `From <Name> to <Target>:[ text]`.
bool ParseLocalHeader(absl::string_view rest, ChatMessage* message, std::string* same_line) {
  if (!absl::ConsumePrefix(&rest, "From ")) return false;
  rest = TrimLeft(rest);
  // A sender may contain " to "; prefer the split whose target is "Everyone", else the first one
  // whose remainder has the terminating colon.
  std::optional<size_t> split;
  for (size_t p = rest.find(" to "); p != absl::string_view::npos; p = rest.find(" to ", p + 1)) {
    const absl::string_view after = TrimLeft(rest.substr(p + 4));
    if (absl::StartsWith(after, "Everyone")) {
      split = p;
      break;
    }
    if (!split.has_value() && absl::StrContains(after, ':')) split = p;
  }
  if (!split.has_value()) return false;
  const absl::string_view after = TrimLeft(rest.substr(*split + 4));
  size_t colon = absl::string_view::npos;
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i] == ':' && (i + 1 == after.size() || after[i + 1] == ' ' || after[i + 1] == '\t')) {
      colon = i;
      break;
    }
  }
  if (colon == absl::string_view::npos) return false;
  message->sender = std::string(Trim(rest.substr(0, *split)));
  message->recipient = std::string(Trim(after.substr(0, colon)));
  message->is_private = StripPrivateMarker(&message->recipient);
  if (message->recipient == "Everyone") message->recipient.clear();
  *same_line = std::string(Trim(after.substr(colon + 1)));
  return true;
}

void FinishText(ChatMessage* message) {
  while (!message->text.empty() && message->text.back() == '\n') message->text.pop_back();
}

}  // namespace

absl::StatusOr<ParsedChat> ParseChatTxt(absl::string_view text, absl::string_view file_name) {
  ParsedChat chat;
  absl::ConsumePrefix(&text, kBom);
  const std::string valid = ToValidUtf8(text);
  if (valid != text) {
    chat.problems.push_back(
        absl::StrCat(file_name, ": not valid UTF-8; the bad bytes are shown as U+FFFD"));
  }
  const std::vector<absl::string_view> lines = absl::StrSplit(valid, '\n');
  std::optional<ChatMessage> current;
  auto finish = [&] {
    if (current.has_value()) {
      FinishText(&*current);
      chat.messages.push_back(std::move(*current));
      current.reset();
    }
  };
  bool any_timestamp = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const int line_number = static_cast<int>(i) + 1;
    const absl::string_view line = TrimRight(lines[i]);
    absl::string_view rest;
    std::optional<absl::Duration> offset = LeadingTimestamp(line, &rest);
    if (!offset.has_value()) {
      if (current.has_value()) {
        absl::string_view continuation = line;
        absl::ConsumePrefix(&continuation, "\t");
        if (!current->text.empty()) current->text.push_back('\n');
        current->text.append(continuation.data(), continuation.size());
      } else if (!Trim(line).empty()) {
        chat.problems.push_back(absl::StrCat(file_name, " line ", line_number,
                                             ": text before the first timestamp; kept as a "
                                             "message without a sender"));
        current = ChatMessage{.offset = absl::ZeroDuration(), .line = line_number};
        current->text = std::string(Trim(line));
      }
      continue;
    }
    any_timestamp = true;
    finish();
    current = ChatMessage{.offset = *offset, .line = line_number};
    std::string same_line;
    if (ParseLocalHeader(rest, &*current, &same_line)) {
      current->text = same_line;
      continue;
    }
    size_t separator = rest.find(":\t");
    if (separator == absl::string_view::npos) separator = rest.find(": ");
    if (separator == absl::string_view::npos) {
      chat.problems.push_back(absl::StrCat(file_name, " line ", line_number,
                                           ": no \"Name:\" after the timestamp; kept as a "
                                           "message without a sender"));
      current->text = std::string(rest);
      continue;
    }
    current->sender = std::string(Trim(rest.substr(0, separator)));
    current->text = std::string(Trim(rest.substr(separator + 2)));
  }
  finish();
  if (!any_timestamp && !absl::StripAsciiWhitespace(valid).empty()) {
    const absl::string_view first = Trim(lines.front());
    return absl::InvalidArgumentError(
        absl::StrCat(file_name,
                     ": no line starts with an HH:MM:SS timestamp, so this is not a Zoom chat "
                     "file (first line: \"",
                     SanitizeHeaderText(first, 80), "\"); it is attached unparsed"));
  }
  return chat;
}

}  // namespace zarc::converter
