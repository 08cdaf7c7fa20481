#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace zarc::cli {

// What a backfill has done so far, as `zarc sync` shows it.
struct SyncSnapshot {
  int64_t found = 0;
  int64_t captured = 0;   // captured or already archived
  int64_t failed = 0;     // failed or still pending at Zoom
  int64_t delivered = -1; // mailbox deliveries since the sync began; -1 if the importer is unknown
  absl::Duration elapsed;
  bool done = false;
};

// One progress line. On a terminal: a bar, counts, rate and ETA, meant to be redrawn after "\r";
// elsewhere: a plain key=value line for logs.
std::string ProgressLine(const SyncSnapshot& s, bool terminal, int width = 30);

// Parses YYYY-MM-DD (midnight UTC) or an RFC 3339 date-time.
bool ParseDate(const std::string& text, absl::Time* out);

}  // namespace zarc::cli
