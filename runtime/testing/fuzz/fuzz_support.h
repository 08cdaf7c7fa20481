#pragma once

// Shared by the libFuzzer targets (<library>/fuzz/*_fuzz.cc): invariant checks that abort, so
// libFuzzer reports the input that broke them, and the splitting of one input into several
// documents. No gtest here: the targets link into libFuzzer binaries as well as replay tests.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "runtime/log/log.h"

namespace zarc::fuzz {

// Aborts, naming the broken invariant, when `condition` is false.
inline void Require(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", invariant);
  std::abort();
}

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
inline bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= text.size()) return false;
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// One input as several documents: the parts between lines that hold only "%%".
inline std::vector<absl::string_view> SplitParts(absl::string_view input) {
  return absl::StrSplit(input, "\n%%\n");
}

// Removes and returns the first line of `input` (without its line break).
inline absl::string_view TakeLine(absl::string_view& input) {
  const size_t eol = input.find('\n');
  const absl::string_view line = input.substr(0, eol);
  input = eol == absl::string_view::npos ? absl::string_view() : input.substr(eol + 1);
  return line;
}

// Errors only: a target runs thousands of times a second.
inline void QuietLogs() {
  static const bool once = [] {
    zarc::log::Configure(zarc::log::Level::kError, zarc::log::Format::kText);
    return true;
  }();
  (void)once;
}

}  // namespace zarc::fuzz
