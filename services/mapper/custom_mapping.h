#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace zarc::mapper {

// The custom mapping file, documented in services/mapper/README.md:
//
//   # comments and blank lines are ignored
//   zoom_email,m365_address
//   jane.doe@zoom-alias.example,jane.doe@corp.example
//
// CSV as RFC 4180 has it (fields in double quotes may hold the separator, line breaks and doubled
// quotes; CRLF or LF line ends), with ',' or ';' as the separator (whichever the header uses) and
// an optional UTF-8 BOM, as spreadsheet exports write. The header is required. Keys compare
// case-insensitively. A malformed row (wrong field count, not an address, a key given twice, a bad
// quote) is reported with its line number and the offending value, and skipped; it never makes the
// whole file fail.
inline constexpr absl::string_view kCustomMappingHeader = "zoom_email,m365_address";

struct MappingProblem {
  int line = 0;
  std::string message;
};

struct MappingTable {
  std::map<std::string, std::string> entries;  // lower-cased Zoom address -> Microsoft 365 address
  std::vector<MappingProblem> problems;
  // The text looks cut off mid-row: a quoted field never closed, or a last line with no line
  // break that does not parse. A reload keeps the previous table then.
  bool incomplete = false;
};

// Parses the file's text. An error only for a file without the header.
absl::StatusOr<MappingTable> ParseCustomMapping(absl::string_view text);

// The mapping file, re-read when its modification time or size changes (checked at most every
// `check_interval`), so edits apply without a restart. A reload never acts on a half-written
// file: a file whose size or modification time changed while it was read, that looks cut off
// (MappingTable::incomplete), cannot be read or has no header keeps the previous table (and is
// logged), and is read again at the next check. Thread-safe.
class CustomMapping {
 public:
  struct Options {
    std::string path;
    absl::Duration check_interval = absl::Seconds(30);
    std::function<absl::Time()> now;  // default absl::Now
    // For tests: called after the file's bytes were read and before they are checked.
    std::function<void()> during_read_for_testing;
  };

  // Fails if the file cannot be read or parsed at start-up: a mapping the operator asked for and
  // zarc cannot apply must stop the service rather than be silently ignored.
  static absl::StatusOr<std::unique_ptr<CustomMapping>> Open(Options options);

  // The Microsoft 365 address `zoom_address` maps to, if a row says so.
  std::optional<std::string> Lookup(absl::string_view zoom_address) ABSL_LOCKS_EXCLUDED(mutex_);

  // Re-reads the file if it changed (ignores check_interval). Returns the read error, if any;
  // the previous table stays in force then.
  absl::Status ReloadIfChanged() ABSL_LOCKS_EXCLUDED(mutex_);

  std::vector<MappingProblem> problems() const ABSL_LOCKS_EXCLUDED(mutex_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mutex_);
  int64_t loads() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  explicit CustomMapping(Options options) : options_(std::move(options)) {}
  struct FileText {
    std::string text;
    int64_t mtime_ns = 0;
    int64_t size = 0;
  };
  absl::Status ReloadLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The whole file, or UNAVAILABLE if its size or modification time changed during the read.
  absl::StatusOr<FileText> ReadStable() const;
  absl::Time Now() const { return options_.now ? options_.now() : absl::Now(); }

  const Options options_;
  mutable absl::Mutex mutex_;
  MappingTable table_ ABSL_GUARDED_BY(mutex_);
  int64_t mtime_ns_ ABSL_GUARDED_BY(mutex_) = -1;
  int64_t file_size_ ABSL_GUARDED_BY(mutex_) = -1;
  absl::Time last_check_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  int64_t loads_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace zarc::mapper
