#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace zarc::converter {

// One message of a Zoom text chat file.
struct ChatMessage {
  absl::Duration offset;  // since the recording (cloud) or meeting (local) started
  std::string sender;
  std::string recipient;  // empty: everyone
  std::string text;       // lines joined with '\n'
  bool is_private = false;
  int line = 0;  // 1-based line of the message's timestamp in the file
};

struct ParsedChat {
  std::vector<ChatMessage> messages;
  // What could not be read cleanly, each "<file> line N: what; what was done".
  std::vector<std::string> problems;
};

// Parses both Zoom text chat formats (see /work/shared/zoom-api/README.md, "File formats"):
//   cloud:  `HH:MM:SS\t<Name>:\t<text>`, continuation lines without a timestamp;
//   local:  `HH:MM:SS From <Name> to <Target>:` with the text on the following tab-indented
//           line(s) or on the same line; `(Direct Message)` / `(Privately)` marks private.
// Forgiving where Zoom is sloppy: a BOM, CRLF, trailing spaces, names with colons, spaces for
// tabs, invalid UTF-8 (replaced, and reported). Returns InvalidArgument only when the file has
// content and not one line in either format; anything else it could not read is kept as text
// and listed in `problems`. `file_name` only labels the problems.
absl::StatusOr<ParsedChat> ParseChatTxt(absl::string_view text, absl::string_view file_name);

}  // namespace zarc::converter
