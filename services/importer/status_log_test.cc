#include "services/importer/status_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "runtime/json/json.h"
#include "runtime/kafka/dead_letter.h"
#include "runtime/kafka/topics.h"

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;
using zarc::v1::ImportResult;

constexpr int64_t kDay1 = 1709647200;  // 2024-03-05 14:00 UTC
constexpr int64_t kDay2 = kDay1 + 86400;

ImportResult Result(const std::string& item, const std::string& mailbox, zarc::v1::ImportOutcome o,
                    int64_t completed, const std::string& reason = "") {
  ImportResult r;
  r.set_item_id(item);
  r.set_mailbox(mailbox);
  r.set_outcome(o);
  r.set_reason(reason);
  r.set_source_user("host@example.com");
  r.set_stage(mailbox.empty() ? "mapper" : "importer");
  r.mutable_completed_at()->set_seconds(completed);
  return r;
}

void ExpectAddsUp(const StatusReport& report) {
  for (const DayFigures& f : report.days) {
    EXPECT_EQ(f.available_for_import, f.imported + f.partially_imported + f.skipped + f.failed)
        << f.day;
    EXPECT_LE(f.available_from_source, f.available_for_import) << f.day;
  }
}

TEST(StatusLogTest, AMeetingTheFetcherCouldNotCaptureIsFailedUntilItIsCaptured) {
  ImportResult never = Result("a/m1/v0", "", zarc::v1::IMPORT_OUTCOME_FAILED, kDay1,
                              "capture failed: Zoom call failed after 6 attempts");
  never.set_stage("fetcher");
  StatusReport report = BuildStatusReport({never});
  ASSERT_EQ(report.days.size(), 1u);
  EXPECT_EQ(report.days[0].available_from_source, 1);
  EXPECT_EQ(report.days[0].failed, 1);
  ASSERT_EQ(report.failed.size(), 1u);
  EXPECT_EQ(report.failed[0].item_id, "a/m1/v0");
  EXPECT_EQ(report.failed[0].source_user, "host@example.com");
  EXPECT_EQ(report.failed[0].mailbox, "-");
  EXPECT_THAT(report.failed[0].reason, HasSubstr("capture failed"));

  // Captured the next day: the failure of the day before no longer counts, on either day.
  report = BuildStatusReport(
      {never, Result("a/m1/v1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay2)});
  ASSERT_EQ(report.days.size(), 1u);
  EXPECT_EQ(report.days[0].day, "2024-03-06");
  EXPECT_EQ(report.days[0].imported, 1);
  EXPECT_EQ(report.days[0].failed, 0);
  EXPECT_TRUE(report.failed.empty());
  EXPECT_TRUE(BuildStatusReport({never, Result("a/m1/v1", "alice@x.com",
                                               zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay2)},
                                "2024-03-05", "2024-03-05")
                  .days.empty());
  // Another meeting's capture supersedes nothing.
  report = BuildStatusReport(
      {never, Result("a/m2/v1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay1)});
  EXPECT_EQ(report.failed.size(), 1u);
}

TEST(StatusLogTest, PartiallyImportedItemsAreListedWithWhatTheyLack) {
  const std::string reason =
      "TRANSCRIPT file f1 not captured: not yet available (Zoom is still processing it)";
  StatusReport report = BuildStatusReport(
      {Result("a/1/v1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED, kDay1, reason),
       Result("a/1/v2", "alice@x.com", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay1 + 60)});
  ASSERT_EQ(report.partial.size(), 1u);
  EXPECT_EQ(report.partial[0].item_id, "a/1/v1");
  EXPECT_EQ(report.partial[0].reason, reason);
  EXPECT_THAT(RenderTable(report), HasSubstr("partially imported items:"));
  EXPECT_THAT(RenderTable(report), HasSubstr(reason));
  EXPECT_THAT(RenderCsv(report, CsvTable::kPartiallyImported), HasSubstr(reason));
  absl::StatusOr<json::Value> v = json::Parse(RenderJson(report), "report");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(json::Array(*v, "partially_imported_items").size(), 1u);
  zarc::v1::GetImportStatusResponse proto;
  ToProto(report, &proto);
  ASSERT_EQ(proto.partially_imported_size(), 1);
  EXPECT_EQ(proto.partially_imported(0).reason(), reason);
}

TEST(StatusLogTest, DailyFiguresAddUpAndFailedItemsCarryReasons) {
  std::vector<ImportResult> results = {
      Result("a/1/1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay1),
      Result("a/1/1", "bob@x.com", zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED, kDay1 + 5),
      Result("a/1/1", "ghost@x.com", zarc::v1::IMPORT_OUTCOME_FAILED, kDay1 + 6,
             "the mailbox does not exist on the server"),
      Result("a/2/1", "", zarc::v1::IMPORT_OUTCOME_FAILED, kDay1 + 7, "no participant could be mapped"),
      Result("a/3/1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay2),
      // A replay of a/3/1 to alice: a duplicate of that very import, it stays imported.
      Result("a/3/1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE, kDay2 + 60),
      // A later success replaces an earlier failure of the same pair.
      Result("a/4/1", "carol@x.com", zarc::v1::IMPORT_OUTCOME_FAILED, kDay2, "server down"),
      Result("a/4/1", "carol@x.com", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay2 + 100),
      // A skip with nothing imported before it counts as skipped.
      Result("a/5/1", "dave@x.com", zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE, kDay2),
  };
  StatusReport report = BuildStatusReport(results);
  ASSERT_EQ(report.days.size(), 2u);
  const DayFigures& d1 = report.days[0];
  EXPECT_EQ(d1.day, "2024-03-05");
  EXPECT_EQ(d1.available_from_source, 2);
  EXPECT_EQ(d1.available_for_import, 4);
  EXPECT_EQ(d1.imported, 1);
  EXPECT_EQ(d1.partially_imported, 1);
  EXPECT_EQ(d1.failed, 2);
  const DayFigures& d2 = report.days[1];
  EXPECT_EQ(d2.day, "2024-03-06");
  EXPECT_EQ(d2.available_from_source, 3);
  EXPECT_EQ(d2.available_for_import, 3);
  EXPECT_EQ(d2.imported, 2);
  EXPECT_EQ(d2.skipped, 1);
  EXPECT_EQ(d2.failed, 0);
  ExpectAddsUp(report);

  ASSERT_EQ(report.failed.size(), 2u);
  EXPECT_EQ(report.failed[0].item_id, "a/1/1");
  EXPECT_EQ(report.failed[0].mailbox, "ghost@x.com");
  EXPECT_EQ(report.failed[0].reason, "the mailbox does not exist on the server");
  EXPECT_EQ(report.failed[1].item_id, "a/2/1");
  EXPECT_EQ(report.failed[1].mailbox, "-");
  EXPECT_EQ(report.failed[1].source_user, "host@example.com");

  StatusReport only2 = BuildStatusReport(results, "2024-03-06", "2024-03-06");
  ASSERT_EQ(only2.days.size(), 1u);
  EXPECT_TRUE(only2.failed.empty());
}

TEST(StatusLogTest, RenderersShowTheSameFigures) {
  std::vector<ImportResult> results = {
      Result("a/1/1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay1),
      Result("a/2/1", "bob@x.com", zarc::v1::IMPORT_OUTCOME_FAILED, kDay1,
             "refused: \"too big\", try smaller\r\nsecond line"),
  };
  StatusReport report = BuildStatusReport(results);

  const std::string table = RenderTable(report);
  EXPECT_THAT(table, HasSubstr("2024-03-05"));
  EXPECT_THAT(table, HasSubstr("Microsoft 365 user"));
  EXPECT_THAT(table, HasSubstr("bob@x.com"));

  EXPECT_EQ(RenderCsv(report, CsvTable::kDays),
            "day,available_from_source,available_for_import,imported,"
            "partially_imported,skipped,failed\r\n2024-03-05,2,2,1,0,0,1\r\n");
  EXPECT_EQ(RenderCsv(report, CsvTable::kFailed),
            "day,item_id,source_user,microsoft_365_user,reason\r\n"
            "2024-03-05,a/2/1,host@example.com,bob@x.com,"
            "\"refused: \"\"too big\"\", try smaller\r\nsecond line\"\r\n");

  absl::StatusOr<json::Value> v = json::Parse(RenderJson(report), "report");
  ASSERT_TRUE(v.ok()) << v.status();
  std::vector<json::Value> days = json::Array(*v, "days");
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(json::Int(days[0], "available_for_import"), 2);
  EXPECT_EQ(json::Int(days[0], "failed"), 1);
  std::vector<json::Value> failed = json::Array(*v, "failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(json::String(failed[0], "microsoft_365_user"), "bob@x.com");

  zarc::v1::GetImportStatusResponse proto;
  ToProto(report, &proto);
  ASSERT_EQ(proto.days_size(), 1);
  EXPECT_EQ(proto.days(0).imported(), 1);
  ASSERT_EQ(proto.failed_size(), 1);
  EXPECT_EQ(proto.failed(0).item_id(), "a/2/1");
}

TEST(StatusLogTest, ParticipantsThatReachedNoMailboxAreListedOnce) {
  std::vector<ImportResult> results;
  for (const std::string mailbox : {"a@corp.example", "b@corp.example"}) {
    ImportResult r = Result("item-1", mailbox, zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay1);
    auto* ext = r.add_unmapped();
    ext->set_address("guest@partner.example");
    ext->set_rule(zarc::v1::MAPPING_RULE_EXTERNAL);
    ext->set_reason("outside the tenant's domains");
    results.push_back(r);
  }
  const StatusReport report = BuildStatusReport(results);
  ASSERT_EQ(report.not_delivered.size(), 1u);
  EXPECT_EQ(report.not_delivered[0].address, "guest@partner.example");
  EXPECT_EQ(report.not_delivered[0].rule, "external");
  EXPECT_THAT(RenderTable(report), HasSubstr("guest@partner.example  external  outside the tenant's domains"));
  EXPECT_EQ(RenderCsv(report, CsvTable::kNotDelivered),
            "day,item_id,address,rule,reason\r\n"
            "2024-03-05,item-1,guest@partner.example,external,outside the tenant's domains\r\n");
  absl::StatusOr<json::Value> v = json::Parse(RenderJson(report), "report");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(json::Array(*v, "not_delivered").size(), 1u);
  EXPECT_EQ(json::String(json::Array(*v, "not_delivered")[0], "rule"), "external");
}

TEST(StatusLogTest, DaysAreValidated) {
  EXPECT_TRUE(ValidateDay("2024-03-05", "from").ok());
  EXPECT_TRUE(ValidateDay("", "from").ok());
  absl::Status s = ValidateDay("5.3.2024", "from");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(s.message(), HasSubstr("YYYY-MM-DD"));
}

// A cell a spreadsheet would evaluate (=HYPERLINK(...), +cmd, -1+1, @SUM) is shown as text.
TEST(StatusLogTest, CsvCellsAreSafeAgainstFormulaInjection) {
  EXPECT_EQ(SpreadsheetSafeCsvField("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(SpreadsheetSafeCsvField("+1"), "'+1");
  EXPECT_EQ(SpreadsheetSafeCsvField("-2+3"), "'-2+3");
  EXPECT_EQ(SpreadsheetSafeCsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(SpreadsheetSafeCsvField("\tx"), "'\tx");
  EXPECT_EQ(SpreadsheetSafeCsvField("\rx"), "\"'\rx\"");
  EXPECT_EQ(SpreadsheetSafeCsvField("a=b"), "a=b");
  EXPECT_EQ(SpreadsheetSafeCsvField(""), "");

  ImportResult r = Result("=cmd|'/c calc'!A0", "bob@x.com", zarc::v1::IMPORT_OUTCOME_FAILED, kDay1,
                          "@evil");
  const std::string csv = RenderCsv(BuildStatusReport({r}), CsvTable::kFailed);
  EXPECT_THAT(csv, HasSubstr(",'=cmd|'/c calc'!A0,"));
  EXPECT_THAT(csv, HasSubstr(",'@evil\r\n"));
}

TEST(StatusLogTest, CsvTablesHaveNames) {
  for (CsvTable t : kCsvTables) {
    absl::StatusOr<CsvTable> back = ParseCsvTable(CsvTableName(t));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, t);
  }
  absl::StatusOr<CsvTable> bad = ParseCsvTable("everything");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("\"everything\" is not one of days, failed, not_delivered"));
}

zarc::v1::ItemArtifact Artifact(const std::string& name, zarc::v1::ArtifactKind kind, uint64_t size,
                                const std::string& sha256, bool attached) {
  zarc::v1::ItemArtifact a;
  a.set_name(name);
  a.set_kind(kind);
  a.set_size(size);
  a.set_sha256(sha256);
  a.set_attached(attached);
  return a;
}

// Issue 17: every artifact of an item with its SHA-256, once per item (each of the item's
// mailboxes carries the same list), in the JSON, the CSV table and GetImportStatus on request.
TEST(StatusLogTest, ArtifactsAreListedOncePerItemWithTheirSha256) {
  const std::string video(64, 'a'), chat(64, 'c');
  ImportResult alice = Result("a/m1/v1", "alice@x.com", zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED,
                              kDay2, "1 artifact(s) too large to attach are referenced from the archive");
  *alice.add_artifacts() = Artifact("video.mp4", zarc::v1::ARTIFACT_KIND_VIDEO, 90000000, video, false);
  *alice.add_artifacts() = Artifact("=chat.txt", zarc::v1::ARTIFACT_KIND_CHAT_TXT, 120, chat, true);
  ImportResult bob = alice;
  bob.set_mailbox("bob@x.com");
  bob.mutable_completed_at()->set_seconds(kDay1);
  const StatusReport report = BuildStatusReport({alice, bob});
  ASSERT_EQ(report.artifacts.size(), 2u);
  EXPECT_EQ(report.artifacts[0].item_id, "a/m1/v1");
  EXPECT_EQ(report.artifacts[0].day, "2024-03-05");  // the item's first day
  EXPECT_EQ(report.artifacts[0].artifact.name(), "=chat.txt");
  EXPECT_EQ(report.artifacts[1].artifact.sha256(), video);

  absl::StatusOr<json::Value> j = json::Parse(RenderJson(report), "status json");
  ASSERT_TRUE(j.ok()) << j.status();
  const std::vector<json::Value> listed = json::Array(*j, "artifacts");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(json::String(listed[1], "name"), "video.mp4");
  EXPECT_EQ(json::String(listed[1], "kind"), "video");
  EXPECT_EQ(json::String(listed[1], "sha256"), video);
  EXPECT_EQ(json::Int(listed[1], "size"), 90000000);
  EXPECT_FALSE(listed[1].at("attached").AsBool());
  EXPECT_TRUE(listed[0].at("attached").AsBool());

  // The same guard as every table: a file name is the outside world's text.
  EXPECT_EQ(RenderCsv(report, CsvTable::kArtifacts),
            "day,item_id,name,kind,size,sha256,attached\r\n"
            "2024-03-05,a/m1/v1,'=chat.txt,chat_txt,120," + chat + ",attached\r\n"
            "2024-03-05,a/m1/v1,video.mp4,video,90000000," + video + ",referenced\r\n");
  EXPECT_EQ(*ParseCsvTable("artifacts"), CsvTable::kArtifacts);

  // GetImportStatus carries them only when asked, and zarc log's reading gives them back.
  zarc::v1::GetImportStatusResponse lean, full;
  ToProto(report, &lean);
  EXPECT_EQ(lean.artifacts_size(), 0);
  ASSERT_EQ(lean.partially_imported_size(), 2);
  EXPECT_EQ(lean.partially_imported(0).artifacts_size(), 0);
  ToProto(report, &full, /*with_artifacts=*/true);
  ASSERT_EQ(full.artifacts_size(), 2);
  EXPECT_EQ(full.partially_imported(0).artifacts_size(), 2);
  EXPECT_EQ(RenderJson(FromProto(full)), RenderJson(report));
  EXPECT_EQ(RenderCsv(FromProto(full), CsvTable::kArtifacts), RenderCsv(report, CsvTable::kArtifacts));
}

// A record as the dead-letter topic holds it: what `stage` gave up on at `when`.
kafka::DeadLetter Letter(const std::string& source_topic, const std::string& event,
                         const std::string& value, const std::string& stage, int64_t when,
                         int64_t offset) {
  kafka::Record consumed;
  consumed.topic = source_topic;
  consumed.partition = 4;
  consumed.offset = 77;
  consumed.key = "k";
  consumed.value = value;
  if (!event.empty()) consumed.headers = {{"zarc-event", event}};
  const kafka::OutgoingRecord out = kafka::MakeDeadLetter(
      kafka::kDeadLetterTopic, consumed,
      {stage, absl::DataLossError("message blob SHA-256 differs from its BlobRef"), 5,
       absl::FromUnixSeconds(when - 60)},
      absl::FromUnixSeconds(when));
  kafka::Record stored{.topic = out.topic, .partition = 1, .offset = offset, .key = out.key,
                       .value = out.value, .headers = out.headers};
  absl::StatusOr<kafka::DeadLetter> d = kafka::ParseDeadLetter(stored);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

// Dead-lettered records never appeared in the status log: an item the stages gave up on was
// neither imported nor failed there, as if it had never existed.
TEST(StatusLogTest, ADeadLetterIsFailedForEachMailboxItWasMeantForWithStageAndReason) {
  zarc::v1::MailboxDelivery delivery;
  delivery.set_item_id("acct/m-1/1");
  delivery.set_mailbox("ann@corp.test");
  delivery.set_source_user("host@corp.test");
  zarc::v1::MeetingCaptured captured;
  captured.mutable_meeting()->set_account_id("acct");
  captured.mutable_meeting()->set_uuid("m-2");
  captured.mutable_meeting()->set_host_email("host@corp.test");
  captured.set_version(3);

  StatusLog log;
  log.Add(Result("acct/m-1/1", "bob@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay1));
  log.AddDeadLetter(Letter("zarc.deliveries", "zarc.v1.MailboxDelivery",
                           delivery.SerializeAsString(), "importer", kDay1 + 10, 0));
  log.AddDeadLetter(Letter("zarc.meetings", "zarc.v1.MeetingCaptured",
                           captured.SerializeAsString(), "converter", kDay1 + 20, 1));
  log.AddDeadLetter(Letter("zarc.messages", "", "\xff\xfe not a message", "mapper", kDay1 + 30, 2));
  kafka::DeadLetter replayed = Letter("zarc.meetings", "zarc.v1.MeetingCaptured",
                                      captured.SerializeAsString(), "converter", kDay1, 3);
  replayed.replayed_at = absl::FromUnixSeconds(kDay1 + 100);
  log.AddDeadLetter(replayed);  // re-submitted: no longer parked, not counted

  const StatusReport report = log.Report();
  ExpectAddsUp(report);
  ASSERT_EQ(report.days.size(), 1u);
  EXPECT_EQ(report.days[0].available_for_import, 4);
  EXPECT_EQ(report.days[0].imported, 1);
  EXPECT_EQ(report.days[0].failed, 3);
  ASSERT_EQ(report.failed.size(), 3u);
  std::map<std::string, FailedItem> by_item;
  for (const FailedItem& f : report.failed) by_item[f.item_id + " " + f.mailbox] = f;
  ASSERT_EQ(by_item.count("acct/m-1/1 ann@corp.test"), 1u);
  const FailedItem& mailbox = by_item["acct/m-1/1 ann@corp.test"];
  EXPECT_EQ(mailbox.source_user, "host@corp.test");
  EXPECT_THAT(mailbox.reason, HasSubstr("dead-lettered by the importer stage after 5 attempts"));
  EXPECT_THAT(mailbox.reason, HasSubstr("message blob SHA-256 differs"));
  EXPECT_THAT(mailbox.reason, HasSubstr("zarc.deliveries/4@77"));
  EXPECT_THAT(mailbox.reason, HasSubstr("zarc dlq replay --id 1-0"));
  EXPECT_EQ(mailbox.result.stage(), "importer");
  EXPECT_EQ(by_item.count("acct/m-2/v3 -"), 1u)
      << "the item of a MeetingCaptured, for no mailbox yet";
  EXPECT_EQ(by_item.count("dead-letter/1-2 -"), 1u) << "a record that does not parse";

  // CSV and JSON tables show the same rows.
  EXPECT_THAT(RenderCsv(report, CsvTable::kFailed), HasSubstr("dead-lettered by the converter"));
}

TEST(StatusLogTest, AnItemsDeadLetterGivesWayToALaterResultOfTheItem) {
  zarc::v1::MessageRendered rendered;
  rendered.set_item_id("acct/m-9/1");
  StatusLog log;
  log.AddDeadLetter(Letter("zarc.messages", "zarc.v1.MessageRendered",
                           rendered.SerializeAsString(), "mapper", kDay1, 0));
  EXPECT_EQ(log.Report().days[0].failed, 1);
  // The item was driven again (the reconciler, or a replay) and delivered.
  log.Add(Result("acct/m-9/1", "ann@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED, kDay1 + 600));
  const StatusReport report = log.Report();
  ASSERT_EQ(report.days.size(), 1u);
  EXPECT_EQ(report.days[0].failed, 0);
  EXPECT_EQ(report.days[0].imported, 1);
  EXPECT_TRUE(report.failed.empty());
}

}  // namespace
}  // namespace zarc::importer
