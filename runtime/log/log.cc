#include "runtime/log/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace zarc::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};
std::mutex g_write_mutex;

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

// Text values with spaces, quotes or control characters are quoted so a line stays one line.
void AppendTextValue(std::string& out, absl::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=') plain = false;
  }
  if (plain) {
    out.append(v.data(), v.size());
  } else {
    AppendJsonString(out, v);
  }
}

}  // namespace

void Configure(Level min_level, Format format) {
  g_min_level = static_cast<int>(min_level);
  g_format = static_cast<int>(format);
}

absl::Status ParseLevel(absl::string_view text, Level* level) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "debug") *level = Level::kDebug;
  else if (t == "info") *level = Level::kInfo;
  else if (t == "warn" || t == "warning") *level = Level::kWarn;
  else if (t == "error") *level = Level::kError;
  else return absl::InvalidArgumentError(absl::StrCat("log level \"", text, "\" is not one of debug, info, warn, error"));
  return absl::OkStatus();
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

std::string FormatLine(Format format, Level level, absl::string_view component,
                       absl::string_view message, std::initializer_list<Field> fields,
                       absl::string_view timestamp) {
  std::string out;
  if (format == Format::kJson) {
    out += "{\"ts\":";
    AppendJsonString(out, timestamp);
    out += ",\"level\":";
    AppendJsonString(out, LevelName(level));
    out += ",\"component\":";
    AppendJsonString(out, component);
    out += ",\"msg\":";
    AppendJsonString(out, message);
    for (const Field& f : fields) {
      out.push_back(',');
      AppendJsonString(out, f.key);
      out.push_back(':');
      AppendJsonString(out, f.value);
    }
    out += "}";
  } else {
    absl::StrAppend(&out, timestamp, " ", LevelName(level), " [", component, "] ");
    for (unsigned char c : message) out.push_back(c < 0x20 ? ' ' : static_cast<char>(c));
    for (const Field& f : fields) {
      absl::StrAppend(&out, " ", f.key, "=");
      AppendTextValue(out, f.value);
    }
  }
  out.push_back('\n');
  return out;
}

void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const std::string line =
      FormatLine(static_cast<Format>(g_format.load()), level, component, message, fields, ts);
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace zarc::log
