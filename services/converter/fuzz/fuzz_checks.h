#pragma once

// Invariants the fuzz targets assert; a violation aborts so libFuzzer reports it with the input.

#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "services/converter/mime_header.h"

namespace zarc::converter::fuzz {

inline void Require(bool condition) {
  if (!condition) std::abort();
}

inline void RequireUtf8(absl::string_view text) { Require(ToValidUtf8(text) == text); }

// One header field: CRLF-terminated physical lines, continuations start with a space, 7-bit,
// none over 998 octets.
inline void RequireOneHeaderField(absl::string_view header) {
  Require(header.size() >= 2 && header.substr(header.size() - 2) == "\r\n");
  size_t start = 0;
  bool first = true;
  while (start < header.size()) {
    const size_t end = header.find("\r\n", start);
    Require(end != absl::string_view::npos);
    const absl::string_view line = header.substr(start, end - start);
    Require(line.size() <= kMaxLineLength);
    Require(first || (!line.empty() && line[0] == ' '));
    for (char c : line) {
      Require(c != '\r' && c != '\n' && static_cast<unsigned char>(c) < 0x80);
    }
    first = false;
    start = end + 2;
  }
}

}  // namespace zarc::converter::fuzz
