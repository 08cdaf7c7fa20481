#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace zarc::converter {

struct VttCue {
  absl::Duration start;
  absl::Duration end;
  std::string identifier;  // the cue's number or name; empty when it has none
  std::string speaker;     // from `Name: words` or `<v Name>`; empty when the cue names no one
  std::string text;        // lines joined with '\n', speaker prefix removed
  int line = 0;            // 1-based line of the timing line
};

struct ParsedVtt {
  std::vector<VttCue> cues;
  std::vector<std::string> problems;
};

// Parses a WebVTT transcript or caption file as Zoom writes it (W3C WebVTT; Zoom: numbered cues
// `00:00:04.859 --> 00:00:07.410`, text `Speaker Name: words`). Strict where the format is
// clear: the file must start with `WEBVTT` (after an optional BOM), else InvalidArgument.
// Forgiving elsewhere: CRLF, missing numbers, `MM:SS.mmm` times, cue settings, NOTE/STYLE blocks,
// comma decimal separators; a block whose timing line cannot be read is skipped and listed in
// `problems` with its line number.
absl::StatusOr<ParsedVtt> ParseVtt(absl::string_view text, absl::string_view file_name);

}  // namespace zarc::converter
