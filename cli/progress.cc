#include "cli/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace zarc::cli {

std::string ProgressLine(const SyncSnapshot& s, bool terminal, int width) {
  const double seconds = std::max(0.001, absl::ToDoubleSeconds(s.elapsed));
  const int64_t handled = s.captured + s.failed;
  const double rate = static_cast<double>(handled) / seconds;
  const std::string eta =
      s.done ? std::string("0s")
      : (rate > 0 && s.found > 0)
          ? absl::FormatDuration(absl::Seconds(static_cast<int64_t>((s.found - handled) / rate)))
          : std::string("?");
  const std::string delivered = s.delivered < 0 ? "?" : absl::StrCat(s.delivered);
  if (!terminal) {
    return absl::StrFormat("sync found=%d captured=%d failed=%d delivered=%s rate=%.1f/s eta=%s%s",
                           s.found, s.captured, s.failed, delivered, rate, eta,
                           s.done ? " done" : "");
  }
  const double fraction =
      s.found == 0 ? (s.done ? 1.0 : 0.0) : std::min(1.0, static_cast<double>(handled) / s.found);
  const int filled = static_cast<int>(fraction * width);
  std::string bar(filled, '#');
  bar.append(width - filled, '.');
  return absl::StrFormat("[%s] %3d%%  %d/%d meetings captured, %d failed, %s delivered  %.1f/s  ETA %s",
                         bar, static_cast<int>(fraction * 100), s.captured, s.found, s.failed,
                         delivered, rate, eta);
}

bool ParseDate(const std::string& text, absl::Time* out) {
  std::string err;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), out, &err)) return true;
  return absl::ParseTime(absl::RFC3339_full, text, out, &err);
}

}  // namespace zarc::cli
