#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include "absl/strings/string_view.h"
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace zarc::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

// One key=value of a structured log line. Never put a secret in a field: log what was done and with
// which non-secret identifiers.
struct Field {
  Field(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  Field(absl::string_view k, const char* v) : key(k), value(v) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  Field(absl::string_view k, const absl::Status& s) : key(k), value(s.ToString()) {}
  Field(absl::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Field(absl::string_view k, T v) : key(k), value(absl::StrCat(v)) {}

  absl::string_view key;
  std::string value;
};

// Process-wide settings; call once at start-up, before threads log. Defaults: info, text, stderr.
void Configure(Level min_level, Format format);
absl::Status ParseLevel(absl::string_view text, Level* level);
bool Enabled(Level level);

// Writes one line atomically (threads never interleave within a line).
void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view c, absl::string_view m, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, c, m, f);
}
inline void Info(absl::string_view c, absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, c, m, f);
}
inline void Warn(absl::string_view c, absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, c, m, f);
}
inline void Error(absl::string_view c, absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, c, m, f);
}

// Formats a line without writing it (what Write prints); for tests.
std::string FormatLine(Format format, Level level, absl::string_view component,
                       absl::string_view message, std::initializer_list<Field> fields,
                       absl::string_view timestamp);

}  // namespace zarc::log
