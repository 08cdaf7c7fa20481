#include "services/importer/status_log.h"

#include "absl/strings/strip.h"

#include "absl/strings/ascii.h"

#include <tuple>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "runtime/json/json.h"
#include "runtime/kafka/topic_reader.h"
#include "runtime/kafka/topics.h"
#include "runtime/ledger/ledger.h"
#include "runtime/log/log.h"

namespace zarc::importer {
namespace {

using zarc::v1::ImportResult;

int64_t Nanos(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000000 + t.nanos();
}

std::string Day(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

bool Delivered(zarc::v1::ImportOutcome o) {
  return o == zarc::v1::IMPORT_OUTCOME_IMPORTED || o == zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED;
}

// Whether `next` replaces `kept` for the same (item, mailbox); see StatusLog.
bool Replaces(const ImportResult& kept, const ImportResult& next) {
  if (Nanos(next.completed_at()) < Nanos(kept.completed_at())) return false;
  if (next.outcome() == zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE && Delivered(kept.outcome())) {
    return false;
  }
  return true;
}

std::string CsvRow(std::initializer_list<std::string> fields) {
  std::string out;
  for (const std::string& f : fields) {
    if (!out.empty()) out.push_back(',');
    out += SpreadsheetSafeCsvField(f);
  }
  return out + "\r\n";
}

}  // namespace

absl::Status ValidateDay(const std::string& text, absl::string_view what) {
  if (text.empty()) return absl::OkStatus();
  absl::Time t;
  std::string err;
  if (text.size() != 10 || !absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " = \"", text, "\" is not a day; write it as YYYY-MM-DD"));
  }
  return absl::OkStatus();
}

void StatusLog::Add(const ImportResult& result) {
  absl::MutexLock lock(&mutex_);
  auto key = std::make_pair(result.item_id(), result.mailbox());
  auto it = results_.find(key);
  if (it == results_.end()) {
    results_.emplace(std::move(key), result);
  } else if (Replaces(it->second, result)) {
    it->second = result;
  }
}

void StatusLog::AddDeadLetter(const kafka::DeadLetter& letter) {
  if (!letter.parked()) return;
  for (const ImportResult& r : DeadLetterResults(letter)) Add(r);
}

std::vector<ImportResult> DeadLetterResults(const kafka::DeadLetter& d) {
  ImportResult r;
  r.set_outcome(zarc::v1::IMPORT_OUTCOME_FAILED);
  r.set_stage(d.stage);
  r.set_target(std::string(kDeadLetterTarget));
  const int64_t at = absl::ToUnixSeconds(d.dead_lettered_at == absl::InfinitePast()
                                             ? absl::UnixEpoch()
                                             : d.dead_lettered_at);
  r.mutable_completed_at()->set_seconds(at);
  r.set_reason(absl::StrCat(
      "dead-lettered by the ", d.stage.empty() ? "(unknown)" : d.stage, " stage after ",
      d.attempts, d.attempts == 1 ? " attempt" : " attempts", " (failing since ",
      absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", d.first_failure, absl::UTCTimeZone()), ", from ",
      d.source_topic, "/", d.source_partition, "@", d.source_offset, "): ", d.error,
      "; once the cause is fixed: zarc dlq replay --id ", d.id));
  const std::string event = [&] {
    for (const auto& [k, v] : d.original.headers) {
      if (k == "zarc-event") return v;
    }
    return std::string();
  }();
  auto meeting = [&r](const zarc::v1::Meeting& m) {
    r.set_source_user(m.host_email());
    *r.mutable_meeting_start() = m.start_time();
    *r.mutable_meeting_end() = m.end_time();
  };
  const auto is = [&](absl::string_view type, absl::string_view topic) {
    return event == type || (event.empty() && d.source_topic == topic);
  };
  if (is("zarc.v1.ImportResult", kafka::kImportLogTopic)) return {};
  if (zarc::v1::MailboxDelivery m; is("zarc.v1.MailboxDelivery", kafka::kDeliveriesTopic) &&
                                   m.ParseFromString(d.original.value) && !m.item_id().empty()) {
    r.set_item_id(m.item_id());
    r.set_mailbox(m.mailbox());
    r.set_message_id(m.message_id());
    meeting(m.meeting());
    if (!m.source_user().empty()) r.set_source_user(m.source_user());
    r.set_fanout(m.fanout());
    for (const auto& u : m.unmapped()) *r.add_unmapped() = u;
    return {r};
  }
  if (zarc::v1::MessageRendered m; is("zarc.v1.MessageRendered", kafka::kMessagesTopic) &&
                                   m.ParseFromString(d.original.value) && !m.item_id().empty()) {
    r.set_item_id(m.item_id());
    r.set_message_id(m.message_id());
    meeting(m.meeting());
    return {r};
  }
  if (zarc::v1::MeetingCaptured m; is("zarc.v1.MeetingCaptured", kafka::kMeetingsTopic) &&
                                   m.ParseFromString(d.original.value) &&
                                   !m.meeting().uuid().empty()) {
    r.set_item_id(ledger::ItemId(m.meeting().account_id(), m.meeting().uuid(), m.version()));
    meeting(m.meeting());
    return {r};
  }
  // A record that does not parse as what its topic carries: the record is what failed.
  r.set_item_id(absl::StrCat("dead-letter/", d.id));
  return {r};
}

StatusReport StatusLog::Report(const std::string& from_day, const std::string& to_day) const {
  std::map<std::string, DayFigures> days;
  std::map<std::string, std::set<std::string>> items;
  StatusReport report;
  absl::MutexLock lock(&mutex_);
  // Meetings with a result past the fetcher (on any day): their fetcher failures are superseded.
  std::set<absl::string_view> captured;
  for (const auto& [key, r] : results_) {
    if (r.stage() != ledger::kFetcherStage) captured.insert(ledger::MeetingOf(r.item_id()));
  }
  // Items with a result other than a dead letter's, and its newest time: a dead letter for the
  // whole item gives way to a later result (the item was driven again and got further).
  std::map<absl::string_view, int64_t> newest_result;
  for (const auto& [key, r] : results_) {
    if (r.target() == kDeadLetterTarget) continue;
    int64_t& newest = newest_result[r.item_id()];
    newest = std::max(newest, Nanos(r.completed_at()));
  }
  auto superseded = [&](const ImportResult& r) {
    if (r.target() == kDeadLetterTarget && r.mailbox().empty()) {
      auto it = newest_result.find(r.item_id());
      return it != newest_result.end() && it->second >= Nanos(r.completed_at());
    }
    return r.stage() == ledger::kFetcherStage && captured.count(ledger::MeetingOf(r.item_id())) > 0;
  };
  for (const auto& [key, r] : results_) {
    if (superseded(r)) continue;
    const std::string day = Day(r.completed_at());
    if ((!from_day.empty() && day < from_day) || (!to_day.empty() && day > to_day)) continue;
    DayFigures& f = days[day];
    f.day = day;
    items[day].insert(r.item_id());
    ++f.available_for_import;
    switch (r.outcome()) {
      case zarc::v1::IMPORT_OUTCOME_IMPORTED: ++f.imported; break;
      case zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED:
        ++f.partially_imported;
        report.partial.push_back(FailedItem{
            .day = day,
            .item_id = r.item_id(),
            .source_user = r.source_user().empty() ? "-" : r.source_user(),
            .mailbox = r.mailbox().empty() ? "-" : r.mailbox(),
            .reason = r.reason().empty() ? "(no reason given)" : r.reason(),
            .result = r});
        break;
      case zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE: ++f.skipped; break;
      default: {
        // FAILED, and anything unknown: an item the log cannot vouch for is not imported.
        ++f.failed;
        report.failed.push_back(FailedItem{
            .day = day,
            .item_id = r.item_id(),
            .source_user = r.source_user().empty() ? "-" : r.source_user(),
            .mailbox = r.mailbox().empty() ? "-" : r.mailbox(),
            .reason = r.reason().empty() ? "(no reason given)" : r.reason(),
            .result = r});
      }
    }
  }
  // Every result of an item carries the item's unmapped addresses and its artifacts: list each
  // address once per day, each artifact once, on the item's earliest day in range.
  std::map<std::tuple<std::string, std::string, std::string>, NotDelivered> not_delivered;
  std::map<std::tuple<std::string, std::string, std::string>, ArtifactRow> artifacts;
  for (const auto& [key, r] : results_) {
    if (superseded(r)) continue;
    const std::string day = Day(r.completed_at());
    if ((!from_day.empty() && day < from_day) || (!to_day.empty() && day > to_day)) continue;
    for (const zarc::v1::AddressResolution& u : r.unmapped()) {
      const std::string full = absl::AsciiStrToLower(zarc::v1::MappingRule_Name(u.rule()));
      absl::string_view rule = full;
      absl::ConsumePrefix(&rule, "mapping_rule_");
      not_delivered.emplace(std::make_tuple(day, r.item_id(), u.address()),
                            NotDelivered{day, r.item_id(), u.address(), std::string(rule), u.reason()});
    }
    for (const zarc::v1::ItemArtifact& a : r.artifacts()) {
      auto [it, added] = artifacts.emplace(std::make_tuple(r.item_id(), a.name(), a.sha256()),
                                           ArtifactRow{day, r.item_id(), a});
      if (!added && day < it->second.day) it->second.day = day;
    }
  }
  for (auto& [key, n] : not_delivered) report.not_delivered.push_back(std::move(n));
  for (auto& [key, a] : artifacts) report.artifacts.push_back(std::move(a));
  for (auto& [day, f] : days) {
    f.available_from_source = static_cast<int64_t>(items[day].size());
    report.days.push_back(f);
  }
  auto by_day_item_mailbox = [](const FailedItem& a, const FailedItem& b) {
    return std::tie(a.day, a.item_id, a.mailbox) < std::tie(b.day, b.item_id, b.mailbox);
  };
  std::sort(report.failed.begin(), report.failed.end(), by_day_item_mailbox);
  std::sort(report.partial.begin(), report.partial.end(), by_day_item_mailbox);
  return report;
}

std::vector<ImportResult> StatusLog::Results(const std::string& from_day,
                                             const std::string& to_day) const {
  std::vector<ImportResult> out;
  absl::MutexLock lock(&mutex_);
  for (const auto& [key, r] : results_) {
    const std::string day = Day(r.completed_at());
    if ((!from_day.empty() && day < from_day) || (!to_day.empty() && day > to_day)) continue;
    out.push_back(r);
  }
  return out;
}

std::vector<ImportResult> StatusLog::ResultsOfItem(const std::string& item_id) const {
  std::vector<ImportResult> out;
  absl::MutexLock lock(&mutex_);
  // results_ is ordered by (item id, mailbox): the item's results are one run of it.
  for (auto it = results_.lower_bound({item_id, ""}); it != results_.end() && it->first.first == item_id;
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

StatusReport BuildStatusReport(const std::vector<ImportResult>& results,
                               const std::string& from_day, const std::string& to_day) {
  StatusLog log;
  for (const ImportResult& r : results) log.Add(r);
  return log.Report(from_day, to_day);
}

absl::Status ReadImportLog(const kafka::KafkaConfig& config, absl::Duration timeout, StatusLog* log) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status read =
      kafka::ForEachRecord(config, kafka::kImportLogTopic, timeout, [log](kafka::Record record) {
        ImportResult r;
        if (!r.ParseFromString(record.value)) {
          log::Warn("status-log", "skipping a record that is not an ImportResult",
                    {{"partition", record.partition}, {"offset", record.offset}});
        } else {
          log->Add(r);
        }
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  absl::StatusOr<std::vector<kafka::DeadLetter>> letters =
      kafka::ReadDeadLetters(config, std::max(deadline - absl::Now(), absl::Seconds(5)));
  if (absl::IsNotFound(letters.status())) return absl::OkStatus();  // no stage dead-lettered yet
  if (!letters.ok()) return letters.status();
  for (const kafka::DeadLetter& d : *letters) log->AddDeadLetter(d);
  return absl::OkStatus();
}

absl::StatusOr<StatusReport> ReadStatusReport(const kafka::KafkaConfig& config,
                                              const std::string& from_day,
                                              const std::string& to_day, absl::Duration timeout) {
  if (absl::Status s = ValidateDay(from_day, "from"); !s.ok()) return s;
  if (absl::Status s = ValidateDay(to_day, "to"); !s.ok()) return s;
  StatusLog log;
  if (absl::Status s = ReadImportLog(config, timeout, &log); !s.ok()) return s;
  return log.Report(from_day, to_day);
}

std::string RenderTable(const StatusReport& report) {
  std::string out = absl::StrFormat("%-10s  %9s  %9s  %8s  %9s  %7s  %6s\n", "day", "available",
                                    "for-import", "imported", "partially", "skipped", "failed");
  for (const DayFigures& f : report.days) {
    absl::StrAppendFormat(&out, "%-10s  %9d  %9d  %8d  %9d  %7d  %6d\n", f.day,
                          f.available_from_source, f.available_for_import, f.imported,
                          f.partially_imported, f.skipped, f.failed);
  }
  if (report.days.empty()) out += "(no import results in this range)\n";
  if (!report.failed.empty()) {
    out += "\nfailed items:\n";
    size_t w_item = 7, w_src = 11, w_mbx = 14;
    for (const FailedItem& f : report.failed) {
      w_item = std::max(w_item, f.item_id.size());
      w_src = std::max(w_src, f.source_user.size());
      w_mbx = std::max(w_mbx, f.mailbox.size());
    }
    absl::StrAppendFormat(&out, "%-10s  %-*s  %-*s  %-*s  %s\n", "day", w_item, "item id", w_src,
                          "source user", w_mbx, "Microsoft 365 user", "reason");
    for (const FailedItem& f : report.failed) {
      absl::StrAppendFormat(&out, "%-10s  %-*s  %-*s  %-*s  %s\n", f.day, w_item, f.item_id, w_src,
                            f.source_user, w_mbx, f.mailbox, f.reason);
    }
  }
  if (!report.partial.empty()) {
    out += "\npartially imported items:\n";
    size_t w_item = 7, w_src = 11, w_mbx = 14;
    for (const FailedItem& f : report.partial) {
      w_item = std::max(w_item, f.item_id.size());
      w_src = std::max(w_src, f.source_user.size());
      w_mbx = std::max(w_mbx, f.mailbox.size());
    }
    absl::StrAppendFormat(&out, "%-10s  %-*s  %-*s  %-*s  %s\n", "day", w_item, "item id", w_src,
                          "source user", w_mbx, "Microsoft 365 user", "reason");
    for (const FailedItem& f : report.partial) {
      absl::StrAppendFormat(&out, "%-10s  %-*s  %-*s  %-*s  %s\n", f.day, w_item, f.item_id, w_src,
                            f.source_user, w_mbx, f.mailbox, f.reason);
    }
  }
  if (!report.not_delivered.empty()) {
    out += "\nparticipants not delivered to (the item is archived for the others):\n";
    size_t w_addr = 7, w_rule = 4;
    for (const NotDelivered& n : report.not_delivered) {
      w_addr = std::max(w_addr, n.address.size());
      w_rule = std::max(w_rule, n.rule.size());
    }
    absl::StrAppendFormat(&out, "%-10s  %-*s  %-*s  %s  (%s)\n", "day", w_addr, "address", w_rule,
                          "rule", "reason", "item id");
    for (const NotDelivered& n : report.not_delivered) {
      absl::StrAppendFormat(&out, "%-10s  %-*s  %-*s  %s  (%s)\n", n.day, w_addr, n.address, w_rule,
                            n.rule, n.reason, n.item_id);
    }
  }
  return out;
}

std::string SpreadsheetSafeCsvField(absl::string_view value) {
  std::string s;
  if (!value.empty() && absl::string_view("=+-@\t\r").find(value.front()) != absl::string_view::npos) {
    s.push_back('\'');
  }
  s.append(value.data(), value.size());
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

absl::StatusOr<CsvTable> ParseCsvTable(absl::string_view name) {
  for (CsvTable t : kCsvTables) {
    if (name == CsvTableName(t)) return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("table \"", name,
                   "\" is not one of days, failed, not_delivered, partially_imported, artifacts"));
}

absl::string_view CsvTableName(CsvTable table) {
  switch (table) {
    case CsvTable::kDays:
      return "days";
    case CsvTable::kFailed:
      return "failed";
    case CsvTable::kNotDelivered:
      return "not_delivered";
    case CsvTable::kPartiallyImported:
      return "partially_imported";
    case CsvTable::kArtifacts:
      return "artifacts";
  }
  return "days";
}

std::string RenderCsv(const StatusReport& report, CsvTable table) {
  std::string out;
  switch (table) {
    case CsvTable::kDays:
      out = CsvRow({"day", "available_from_source", "available_for_import", "imported",
                    "partially_imported", "skipped", "failed"});
      for (const DayFigures& f : report.days) {
        out += CsvRow({f.day, absl::StrCat(f.available_from_source),
                       absl::StrCat(f.available_for_import), absl::StrCat(f.imported),
                       absl::StrCat(f.partially_imported), absl::StrCat(f.skipped),
                       absl::StrCat(f.failed)});
      }
      break;
    case CsvTable::kFailed:
      out = CsvRow({"day", "item_id", "source_user", "microsoft_365_user", "reason"});
      for (const FailedItem& f : report.failed) {
        out += CsvRow({f.day, f.item_id, f.source_user, f.mailbox, f.reason});
      }
      break;
    case CsvTable::kNotDelivered:
      out = CsvRow({"day", "item_id", "address", "rule", "reason"});
      for (const NotDelivered& n : report.not_delivered) {
        out += CsvRow({n.day, n.item_id, n.address, n.rule, n.reason});
      }
      break;
    case CsvTable::kPartiallyImported:
      out = CsvRow({"day", "item_id", "source_user", "microsoft_365_user", "reason"});
      for (const FailedItem& f : report.partial) {
        out += CsvRow({f.day, f.item_id, f.source_user, f.mailbox, f.reason});
      }
      break;
    case CsvTable::kArtifacts:
      out = CsvRow({"day", "item_id", "name", "kind", "size", "sha256", "attached"});
      for (const ArtifactRow& a : report.artifacts) {
        out += CsvRow({a.day, a.item_id, a.artifact.name(), ArtifactKindName(a.artifact.kind()),
                       absl::StrCat(a.artifact.size()), a.artifact.sha256(),
                       a.artifact.attached() ? "attached" : "referenced"});
      }
      break;
  }
  return out;
}

std::string RenderJson(const StatusReport& report) {
  json::Value days = json::Value::Array();
  size_t i = 0;
  for (const DayFigures& f : report.days) {
    json::Value d = json::Value::Object();
    d["day"] = json::Str(f.day);
    d["available_from_source"] = json::Value::Number(f.available_from_source);
    d["available_for_import"] = json::Value::Number(f.available_for_import);
    d["imported"] = json::Value::Number(f.imported);
    d["partially_imported"] = json::Value::Number(f.partially_imported);
    d["skipped"] = json::Value::Number(f.skipped);
    d["failed"] = json::Value::Number(f.failed);
    days[i++] = d;
  }
  json::Value failed = json::Value::Array();
  i = 0;
  for (const FailedItem& f : report.failed) {
    json::Value v = json::Value::Object();
    v["day"] = json::Str(f.day);
    v["item_id"] = json::Str(f.item_id);
    v["source_user"] = json::Str(f.source_user);
    v["microsoft_365_user"] = json::Str(f.mailbox);
    v["reason"] = json::Str(f.reason);
    failed[i++] = v;
  }
  json::Value root = json::Value::Object();
  root["days"] = days;
  root["failed"] = failed;
  json::Value unmapped = json::Value::Array();
  size_t u = 0;
  for (const NotDelivered& n : report.not_delivered) {
    json::Value v = json::Value::Object();
    v["day"] = json::Str(n.day);
    v["item_id"] = json::Str(n.item_id);
    v["address"] = json::Str(n.address);
    v["rule"] = json::Str(n.rule);
    v["reason"] = json::Str(n.reason);
    unmapped[u++] = v;
  }
  root["not_delivered"] = unmapped;
  json::Value partial = json::Value::Array();
  i = 0;
  for (const FailedItem& f : report.partial) {
    json::Value v = json::Value::Object();
    v["day"] = json::Str(f.day);
    v["item_id"] = json::Str(f.item_id);
    v["source_user"] = json::Str(f.source_user);
    v["microsoft_365_user"] = json::Str(f.mailbox);
    v["reason"] = json::Str(f.reason);
    partial[i++] = v;
  }
  root["partially_imported_items"] = partial;
  json::Value artifacts = json::Value::Array();
  i = 0;
  for (const ArtifactRow& a : report.artifacts) {
    json::Value v = json::Value::Object();
    v["day"] = json::Str(a.day);
    v["item_id"] = json::Str(a.item_id);
    v["name"] = json::Str(a.artifact.name());
    v["kind"] = json::Str(ArtifactKindName(a.artifact.kind()));
    v["size"] = json::Value::Number(static_cast<uint64_t>(a.artifact.size()));
    v["sha256"] = json::Str(a.artifact.sha256());
    v["attached"] = json::Value::Boolean(a.artifact.attached());
    artifacts[i++] = v;
  }
  root["artifacts"] = artifacts;
  return json::Serialize(root);
}

std::string ArtifactKindName(zarc::v1::ArtifactKind kind) {
  std::string name = absl::AsciiStrToLower(zarc::v1::ArtifactKind_Name(kind));
  absl::string_view rest = name;
  if (!absl::ConsumePrefix(&rest, "artifact_kind_") || rest.empty()) return "unspecified";
  return std::string(rest);
}

void ToProto(const StatusReport& report, zarc::v1::GetImportStatusResponse* out,
             bool with_artifacts) {
  for (const DayFigures& f : report.days) {
    zarc::v1::DaySummary* d = out->add_days();
    d->set_day(f.day);
    d->set_available_from_source(f.available_from_source);
    d->set_available_for_import(f.available_for_import);
    d->set_imported(f.imported);
    d->set_partially_imported(f.partially_imported);
    d->set_skipped(f.skipped);
    d->set_failed(f.failed);
  }
  for (const FailedItem& f : report.failed) *out->add_failed() = f.result;
  for (const FailedItem& f : report.partial) *out->add_partially_imported() = f.result;
  if (with_artifacts) {
    for (const ArtifactRow& a : report.artifacts) {
      zarc::v1::ItemArtifactEntry* e = out->add_artifacts();
      e->set_day(a.day);
      e->set_item_id(a.item_id);
      *e->mutable_artifact() = a.artifact;
    }
  } else {
    for (zarc::v1::ImportResult& r : *out->mutable_failed()) r.clear_artifacts();
    for (zarc::v1::ImportResult& r : *out->mutable_partially_imported()) r.clear_artifacts();
  }
  for (const NotDelivered& n : report.not_delivered) {
    zarc::v1::NotDeliveredAddress* a = out->add_not_delivered();
    a->set_day(n.day);
    a->set_item_id(n.item_id);
    a->set_address(n.address);
    a->set_rule(n.rule);
    a->set_reason(n.reason);
  }
}

StatusReport FromProto(const zarc::v1::GetImportStatusResponse& resp) {
  StatusReport report;
  for (const auto& d : resp.days()) {
    report.days.push_back({d.day(), d.available_from_source(), d.available_for_import(),
                           d.imported(), d.partially_imported(), d.skipped(), d.failed()});
  }
  auto item = [](const ImportResult& r) {
    return FailedItem{.day = Day(r.completed_at()),
                      .item_id = r.item_id(),
                      .source_user = r.source_user().empty() ? "-" : r.source_user(),
                      .mailbox = r.mailbox().empty() ? "-" : r.mailbox(),
                      .reason = r.reason(),
                      .result = r};
  };
  for (const auto& r : resp.failed()) report.failed.push_back(item(r));
  for (const auto& r : resp.partially_imported()) report.partial.push_back(item(r));
  for (const auto& n : resp.not_delivered()) {
    report.not_delivered.push_back({n.day(), n.item_id(), n.address(), n.rule(), n.reason()});
  }
  for (const auto& a : resp.artifacts()) {
    report.artifacts.push_back({a.day(), a.item_id(), a.artifact()});
  }
  return report;
}

}  // namespace zarc::importer
