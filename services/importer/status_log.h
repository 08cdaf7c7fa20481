#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/kafka/dead_letter.h"
#include "runtime/kafka/kafka_config.h"
#include "zarc/v1/control.pb.h"
#include "zarc/v1/events.pb.h"

namespace zarc::importer {

// The Microsoft connector's daily figures for one UTC day (of completed_at). By construction
// available_for_import = imported + partially_imported + skipped + failed.
struct DayFigures {
  std::string day;  // YYYY-MM-DD
  int64_t available_from_source = 0;  // distinct items
  int64_t available_for_import = 0;   // deliveries, plus items that reached no mailbox
  int64_t imported = 0;
  int64_t partially_imported = 0;
  int64_t skipped = 0;  // duplicates
  int64_t failed = 0;
};

struct FailedItem {
  std::string day;
  std::string item_id;
  std::string source_user;
  std::string mailbox;  // the Microsoft 365 user, "-" when the item reached none
  std::string reason;
  zarc::v1::ImportResult result;
};

// A participant address of an item that reached no mailbox (external, not found, disabled, out
// of scope): the connector's "cannot be mapped", accounted for instead of silently skipped.
struct NotDelivered {
  std::string day;
  std::string item_id;
  std::string address;
  std::string rule;    // external, not_found, disabled, out_of_scope, ...
  std::string reason;
};

// One artifact of one item (an item's artifacts are the same for each of its mailboxes).
struct ArtifactRow {
  std::string day;  // of the item's first counted result in range
  std::string item_id;
  zarc::v1::ItemArtifact artifact;
};

struct StatusReport {
  std::vector<NotDelivered> not_delivered;  // by day, item id, address
  std::vector<DayFigures> days;  // ascending
  std::vector<FailedItem> failed;  // by day, then item id
  // Partially imported deliveries with what they lack (files too large to attach, files the
  // fetcher could not capture), in the same shape and order as `failed`.
  std::vector<FailedItem> partial;
  // Every artifact of every item counted, with its SHA-256: by item id, then name, then SHA-256.
  std::vector<ArtifactRow> artifacts;
};

// Accumulates ImportResults (from the importer and the mapper) and reports them per day. One
// result counts per (item_id, mailbox): the newest by completed_at, except that a
// SKIPPED_DUPLICATE never replaces an earlier IMPORTED or PARTIALLY_IMPORTED of the same pair
// (the duplicate was of that very import: a replay must not turn an import into a skip).
// A fetcher's result (stage "fetcher": a meeting found at Zoom but not captured, item id
// ledger::ItemId(account, uuid, ledger::kNotCapturedVersion)) counts as available from source and
// failed until any other stage reports a result for the same meeting, on any day: from then on
// the meeting was captured after all and only its captured versions count.
// Thread-safe.
// A parked dead letter (DeadLetterResults) counts as FAILED for its (item, mailbox) like any
// result; one for the whole item (its mailboxes were not known yet) gives way to any later result
// of the same item, so a re-driven item that then arrives is not also reported failed.
class StatusLog {
 public:
  void Add(const zarc::v1::ImportResult& result);
  // The results of a parked dead letter; nothing for one already replayed.
  void AddDeadLetter(const kafka::DeadLetter& letter);
  // Days in [from_day, to_day] (YYYY-MM-DD, inclusive; empty: unbounded).
  StatusReport Report(const std::string& from_day = "", const std::string& to_day = "") const;
  // The results the report counts, one per (item_id, mailbox), for days in [from_day, to_day],
  // ordered by item id then mailbox.
  std::vector<zarc::v1::ImportResult> Results(const std::string& from_day = "",
                                              const std::string& to_day = "") const;
  // Every result kept for `item_id`, one per mailbox, ordered by mailbox (the console's item page).
  std::vector<zarc::v1::ImportResult> ResultsOfItem(const std::string& item_id) const;

 private:
  mutable absl::Mutex mutex_;
  std::map<std::pair<std::string, std::string>, zarc::v1::ImportResult> results_
      ABSL_GUARDED_BY(mutex_);
};

// The FAILED results a dead letter stands for, with its stage, error, first failure and source
// in the reason: one for the mailbox of a MailboxDelivery; one for the item (mailbox "") of a
// MeetingCaptured or MessageRendered, whose mailboxes were not resolved yet; one for the record
// (item id "dead-letter/<id>") when it does not parse. None for a dead ImportResult (the ledger's:
// the result itself is in the status log). Marked target "dead-letter".
std::vector<zarc::v1::ImportResult> DeadLetterResults(const kafka::DeadLetter& letter);
inline constexpr absl::string_view kDeadLetterTarget = "dead-letter";

StatusReport BuildStatusReport(const std::vector<zarc::v1::ImportResult>& results,
                               const std::string& from_day = "", const std::string& to_day = "");

// Reads zarc.import-log from the beginning (kafka::ForEachRecord) into `log`, then every parked
// dead letter of zarc.dead-letter (AddDeadLetter). Records that do not parse as ImportResult are
// skipped with a warning. An error (a topic not read to its end within `timeout`) means `log` is
// incomplete: never answer from it as if it were the status log.
absl::Status ReadImportLog(const kafka::KafkaConfig& config, absl::Duration timeout, StatusLog* log);

// ReadImportLog, then the report.
absl::StatusOr<StatusReport> ReadStatusReport(const kafka::KafkaConfig& config,
                                              const std::string& from_day,
                                              const std::string& to_day,
                                              absl::Duration timeout = absl::Seconds(30));

// A fixed-width text table: the daily figures, then the failed and partially imported items.
std::string RenderTable(const StatusReport& report);
// The tables of the status log, each written as its own CSV file.
enum class CsvTable { kDays, kFailed, kNotDelivered, kPartiallyImported, kArtifacts };
// "days", "failed", "not_delivered", "partially_imported", "artifacts" and back; an unknown name
// is InvalidArgument listing the names.
absl::StatusOr<CsvTable> ParseCsvTable(absl::string_view name);
absl::string_view CsvTableName(CsvTable table);
inline constexpr CsvTable kCsvTables[] = {CsvTable::kDays, CsvTable::kFailed,
                                          CsvTable::kNotDelivered, CsvTable::kPartiallyImported,
                                          CsvTable::kArtifacts};

// One table as RFC 4180 CSV: a header row, CRLF line ends, fields with , " CR LF quoted. Every
// cell is safe to open in a spreadsheet (see SpreadsheetSafeCsvField).
std::string RenderCsv(const StatusReport& report, CsvTable table);
// One RFC 4180 field. A value starting with = + - @ TAB or CR is prefixed with ' so that a
// spreadsheet shows it as text instead of evaluating it (OWASP "CSV injection"): a reason or a
// participant name comes from outside.
std::string SpreadsheetSafeCsvField(absl::string_view value);
// {"days":[{...}], "failed":[{...}], "not_delivered":[{...}], "partially_imported_items":[{...}],
//  "artifacts":[{"day", "item_id", "name", "kind", "size", "sha256", "attached"}]}
std::string RenderJson(const StatusReport& report);

// "chat_txt", "video", ...: ArtifactKind without its prefix, lowercase.
std::string ArtifactKindName(zarc::v1::ArtifactKind kind);

// The report as GetImportStatus answers it. Without `with_artifacts` the artifacts are left out
// (GetImportStatusResponse.artifacts and ImportResult.artifacts), so a poll stays small.
void ToProto(const StatusReport& report, zarc::v1::GetImportStatusResponse* out,
             bool with_artifacts = false);
// GetImportStatusResponse back into a report (a running importer's answer, for `zarc log`).
StatusReport FromProto(const zarc::v1::GetImportStatusResponse& response);

// "YYYY-MM-DD" or InvalidArgument saying what was wrong with `text`.
absl::Status ValidateDay(const std::string& text, absl::string_view what);

}  // namespace zarc::importer
