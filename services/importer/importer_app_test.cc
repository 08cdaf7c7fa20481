// The importer stage end to end: deliveries on an embedded Kafka cluster, a real Dovecot started
// by the test, the archive on Azurite (or a local folder), checked with an independent IMAP client.
#include "services/importer/importer_app.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <set>

#include "runtime/blob/azurite_fixture.h"
#include "runtime/kafka/dead_letter.h"
#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "runtime/kafka/topic_reader.h"
#include "runtime/kafka/topics.h"
#include "runtime/testing/subprocess.h"
#include "services/importer/testing/dovecot_fixture.h"
#include "services/importer/testing/test_items.h"
#include "zarc/v1/control.grpc.pb.h"
#include <google/protobuf/util/time_util.h>

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr char kFolder[] = "INBOX/Zoom Meetings";
constexpr int64_t kStart1 = 1709647200;  // 2024-03-05 14:00 UTC
constexpr int64_t kStart2 = 1709740800;  // 2024-03-06 16:00 UTC
constexpr absl::Duration kWait = absl::Seconds(60);

class ImporterAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dovecot = testing::DovecotProcess::Start({.users = {{"alice@example.com", "a"},
                                                             {"bob@example.com", "b"},
                                                             {"carol@example.com", "c"}}});
    ASSERT_TRUE(dovecot.ok()) << dovecot.status();
    dovecot_ = *std::move(dovecot);
    auto cluster = kafka::EmbeddedCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    kafka_ = kafka::testing::FastTestConfig(cluster_->bootstrap_servers());
    auto producer = kafka::Producer::Create(kafka_);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    auto staging = blob::OpenBlobStore({.url = "file://" + dir_.path() + "/staging"});
    ASSERT_TRUE(staging.ok());
    staging_ = *std::move(staging);
  }

  // Loaded through the real schema, as the service does.
  ImporterConfig Config(std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--messages.url=file://" + dir_.path() + "/staging",
        "--archive.url=file://" + dir_.path() + "/archive",
        "--importer.target=imap",
        "--importer.retry_max_backoff=1s",
        "--imap.host=127.0.0.1",
        "--imap.port=" + std::to_string(dovecot_->port()),
        "--imap.tls=none",
        "--imap.auth=master",
        "--imap.master_user=zarc-master",
        "--imap.password=master-secret",
        "--imap.timeout=10s",
        "--kafka.brokers=" + cluster_->bootstrap_servers()};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<ImporterConfig> c = ImporterSchema().Load({.args = args});
    EXPECT_TRUE(c.ok()) << c.status();
    ImporterConfig config = *c;
    config.kafka = kafka_;
    return config;
  }

  testing::TestItem Item(const std::string& uuid, int64_t start,
                         const std::vector<std::string>& people, uint64_t attachment = 0) {
    auto item = testing::RenderTestItem(*staging_, uuid, "Meeting " + uuid,
                                        absl::FromUnixSeconds(start), people, attachment);
    EXPECT_TRUE(item.ok()) << item.status();
    return *item;
  }

  void Produce(const std::vector<zarc::v1::MailboxDelivery>& deliveries) {
    std::vector<kafka::OutgoingRecord> records;
    for (const auto& d : deliveries) {
      records.push_back({.topic = std::string(kafka::kDeliveriesTopic),
                         .key = d.mailbox(),
                         .value = d.SerializeAsString()});
    }
    ASSERT_TRUE(producer_->ProduceAndWait(records, absl::Seconds(30)).ok());
  }

  std::vector<zarc::v1::ImportResult> Results(size_t at_least) {
    auto records = kafka::testing::WaitForRecords(kafka_, kafka::kImportLogTopic, at_least, kWait);
    EXPECT_TRUE(records.ok()) << records.status();
    std::vector<zarc::v1::ImportResult> out;
    if (!records.ok()) return out;
    for (const kafka::Record& r : *records) {
      zarc::v1::ImportResult result;
      EXPECT_TRUE(result.ParseFromString(r.value));
      out.push_back(result);
    }
    return out;
  }

  testing::ProbeResult Probe(const std::string& mailbox) {
    auto p = testing::ProbeMailbox(*dovecot_, mailbox, kFolder);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : testing::ProbeResult{};
  }

  // Every message in the mailbox is byte-identical to one of `items`, \Seen, dated at its meeting
  // start; each item is there exactly once.
  void ExpectMailboxHolds(const std::string& mailbox, const std::vector<const testing::TestItem*>& items) {
    testing::ProbeResult p = Probe(mailbox);
    EXPECT_TRUE(p.folder_exists) << mailbox;
    std::vector<std::string> want_ids, got_ids;
    for (const testing::TestItem* item : items) {
      want_ids.push_back(item->message_id);
      for (const testing::ProbedMessage& m : p.messages) {
        if (m.message_id != item->message_id) continue;
        EXPECT_EQ(m.sha256, item->message.sha256()) << mailbox << " " << m.message_id;
        EXPECT_EQ(m.size, item->message.size());
        EXPECT_THAT(m.flags, HasSubstr("\\Seen"));
        EXPECT_EQ(m.internal_date, item->meeting.meeting().start_time().seconds());
      }
    }
    for (const testing::ProbedMessage& m : p.messages) got_ids.push_back(m.message_id);
    EXPECT_THAT(got_ids, UnorderedElementsAreArray(want_ids)) << mailbox;
  }

  zarc::testing::TempDir dir_;
  std::unique_ptr<testing::DovecotProcess> dovecot_;
  std::unique_ptr<kafka::EmbeddedCluster> cluster_;
  kafka::KafkaConfig kafka_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<blob::BlobStore> staging_;
  prometheus::Registry registry_;
};

TEST_F(ImporterAppTest, ItemsLandInEachMailboxOnceWithArchiveOnAzuriteAndAStatusLogThatAddsUp) {
  absl::StatusOr<std::unique_ptr<blob::AzuriteProcess>> azurite = blob::AzuriteProcess::Start();
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  ImporterConfig config = Config({"--archive.url=", "--archive.azure_account=devstoreaccount1",
                                  "--archive.azure_container=zarc-archive",
                                  "--archive.azure_endpoint=" + (*azurite)->endpoint(),
                                  std::string("--archive.azure_key=") + blob::kAzuriteKey});
  const testing::TestItem one = Item("uuid-one", kStart1, {"alice@example.com", "bob@example.com"});
  const testing::TestItem two = Item("uuid-two", kStart2,
                                     {"alice@example.com", "carol@example.com", "ghost@example.com"},
                                     2 << 20);  // a multi-MB message, streamed
  const std::vector<zarc::v1::MailboxDelivery> deliveries = {
      testing::DeliveryFor(one, "alice@example.com", 2),
      testing::DeliveryFor(one, "bob@example.com", 2),
      testing::DeliveryFor(two, "alice@example.com", 3),
      testing::DeliveryFor(two, "carol@example.com", 3),
      testing::DeliveryFor(two, "ghost@example.com", 3)};
  // What the mapper writes for an item that reached nobody.
  zarc::v1::ImportResult unmapped;
  unmapped.set_item_id("acct-1/uuid-three/1");
  unmapped.set_stage("mapper");
  unmapped.set_outcome(zarc::v1::IMPORT_OUTCOME_FAILED);
  unmapped.set_reason("no participant could be mapped");
  unmapped.set_source_user("guest@partner.example");
  *unmapped.mutable_completed_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      absl::ToUnixSeconds(absl::Now()));
  ASSERT_TRUE(producer_->ProduceAndWait({{.topic = std::string(kafka::kImportLogTopic),
                                          .key = unmapped.item_id(),
                                          .value = unmapped.SerializeAsString()}},
                                        absl::Seconds(30)).ok());

  auto app = ImporterApp::Create(config, &registry_);
  ASSERT_TRUE(app.ok()) << app.status();
  ASSERT_TRUE((*app)->Start().ok());
  Produce(deliveries);
  std::vector<zarc::v1::ImportResult> results = Results(6);
  ASSERT_EQ(results.size(), 6u);
  std::map<std::string, zarc::v1::ImportResult> by_mailbox_item;
  for (const auto& r : results) by_mailbox_item[r.mailbox() + "|" + r.item_id()] = r;
  const auto& ghost = by_mailbox_item["ghost@example.com|" + two.item_id];
  EXPECT_EQ(ghost.outcome(), zarc::v1::IMPORT_OUTCOME_FAILED);
  EXPECT_THAT(ghost.reason(), HasSubstr("does not exist"));
  const auto& alice_two = by_mailbox_item["alice@example.com|" + two.item_id];
  EXPECT_EQ(alice_two.outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);
  EXPECT_EQ(alice_two.target(), "imap");
  EXPECT_EQ(alice_two.fanout(), 3);
  EXPECT_EQ(alice_two.size(), two.message.size());

  ExpectMailboxHolds("alice@example.com", {&one, &two});
  ExpectMailboxHolds("bob@example.com", {&one});
  ExpectMailboxHolds("carol@example.com", {&two});

  // The same deliveries again: nothing new in any mailbox, every delivery answered once more.
  Produce(deliveries);
  results = Results(11);
  ASSERT_EQ(results.size(), 11u);
  // Each replayed delivery repeats what was recorded for its pair (never "skipped").
  int replayed = 0;
  for (size_t i = 6; i < results.size(); ++i) {
    if (results[i].reason().find("already delivered to this mailbox") != std::string::npos) {
      EXPECT_EQ(results[i].outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED) << results[i].reason();
      ++replayed;
    }
  }
  EXPECT_EQ(replayed, 4);
  ExpectMailboxHolds("alice@example.com", {&one, &two});
  ExpectMailboxHolds("bob@example.com", {&one});
  ExpectMailboxHolds("carol@example.com", {&two});

  // The archive listing per mailbox matches what each mailbox holds.
  for (const std::string mailbox : {"alice@example.com", "bob@example.com", "carol@example.com"}) {
    auto records = (*app)->archive().ListMailbox(mailbox);
    ASSERT_TRUE(records.ok()) << records.status();
    std::vector<std::string> archived, held;
    for (const MailboxRecord& r : *records) archived.push_back(r.message_id);
    for (const testing::ProbedMessage& m : Probe(mailbox).messages) held.push_back(m.message_id);
    EXPECT_THAT(archived, UnorderedElementsAreArray(held)) << mailbox;
  }
  auto ghost_records = (*app)->archive().ListMailbox("ghost@example.com");
  ASSERT_TRUE(ghost_records.ok());
  EXPECT_TRUE(ghost_records->empty());

  // zarc log's figures, from the topic.
  absl::StatusOr<StatusReport> report = ReadStatusReport(kafka_, "", "");
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->days.size(), 1u);  // all completed today
  const DayFigures& day = report->days[0];
  EXPECT_EQ(day.available_from_source, 3);
  EXPECT_EQ(day.available_for_import, 6);  // 5 deliveries + 1 item that reached no mailbox
  EXPECT_EQ(day.imported, 4);
  EXPECT_EQ(day.skipped, 0);  // the replays were duplicates of those very imports
  EXPECT_EQ(day.failed, 2);
  EXPECT_EQ(day.available_for_import, day.imported + day.partially_imported + day.skipped + day.failed);
  ASSERT_EQ(report->failed.size(), 2u);
  std::set<std::string> failed_mailboxes;
  for (const FailedItem& f : report->failed) failed_mailboxes.insert(f.mailbox);
  EXPECT_EQ(failed_mailboxes, (std::set<std::string>{"-", "ghost@example.com"}));

  // The same through the importer's own gRPC status (its own results plus what it read at start).
  auto* control = static_cast<zarc::v1::ImporterControl::Service*>((*app)->control_service());
  zarc::v1::GetImportStatusRequest request;
  zarc::v1::GetImportStatusResponse response;
  ASSERT_TRUE(control->GetImportStatus(nullptr, &request, &response).ok());
  ASSERT_EQ(response.days_size(), 1);
  EXPECT_EQ(response.days(0).available_for_import(), 6);
  EXPECT_EQ(response.days(0).imported(), 4);
  EXPECT_EQ(response.failed_size(), 2);
  request.set_from_day("yesterday");
  EXPECT_EQ(control->GetImportStatus(nullptr, &request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  (*app)->Stop();
}

TEST_F(ImporterAppTest, DovecotStoppedMidRunAndRestartedLosesAndDuplicatesNothing) {
  const testing::TestItem one = Item("uuid-a", kStart1, {"alice@example.com"});
  const testing::TestItem two = Item("uuid-b", kStart2, {"alice@example.com", "bob@example.com"});
  auto app = ImporterApp::Create(Config({}), &registry_);
  ASSERT_TRUE(app.ok()) << app.status();
  ASSERT_TRUE((*app)->Start().ok());
  Produce({testing::DeliveryFor(one, "alice@example.com", 1)});
  ASSERT_EQ(Results(1).size(), 1u);

  ASSERT_TRUE(dovecot_->Stop().ok());
  Produce({testing::DeliveryFor(two, "alice@example.com", 2),
           testing::DeliveryFor(two, "bob@example.com", 2)});
  // While the server takes no connections the deliveries wait: nothing fails, and bob, who has
  // no session open, gets no result. Alice's delivery may go through the session kept open
  // from her first one (imap.max_idle_connections), if the server's session outlived its
  // listener, as Dovecot's does here: then the message is really in her mailbox.
  absl::SleepFor(absl::Seconds(4));  // observing an absence: there is no event to wait for
  auto meanwhile = kafka::ReadTopic(kafka_, kafka::kImportLogTopic, absl::Seconds(10));
  ASSERT_TRUE(meanwhile.ok());
  EXPECT_LE(meanwhile->size(), 2u);
  for (const kafka::Record& record : *meanwhile) {
    zarc::v1::ImportResult r;
    ASSERT_TRUE(r.ParseFromString(record.value));
    EXPECT_EQ(r.outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED) << r.mailbox() << " " << r.reason();
    EXPECT_NE(r.mailbox(), "bob@example.com") << "delivered while the server took no connections";
  }

  ASSERT_TRUE(dovecot_->Restart().ok());
  std::vector<zarc::v1::ImportResult> results = Results(3);
  ASSERT_EQ(results.size(), 3u);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED) << r.mailbox() << " " << r.reason();
    EXPECT_TRUE(seen.insert({r.item_id(), r.mailbox()}).second) << "two results for one delivery";
  }
  ExpectMailboxHolds("alice@example.com", {&one, &two});
  ExpectMailboxHolds("bob@example.com", {&two});
  (*app)->Stop();
}

// Issue 13 item 4: when the topic could not be read, GetImportStatus answered from this
// replica's memory as if it were the status log. Now it says it cannot answer.
TEST_F(ImporterAppTest, GetImportStatusIsAnErrorWhenTheLogCannotBeReadNotOneReplicasMemory) {
  auto app = ImporterApp::Create(Config({}), &registry_);
  ASSERT_TRUE(app.ok()) << app.status();
  zarc::v1::ImportResult seen;
  seen.set_item_id("acct/m-1/v1");
  seen.set_mailbox("alice@example.com");
  seen.set_outcome(zarc::v1::IMPORT_OUTCOME_IMPORTED);
  seen.mutable_completed_at()->set_seconds(kStart1);
  (*app)->status_log().Add(seen);  // what this replica saw itself
  cluster_.reset();                // Kafka is gone
  auto* control = static_cast<zarc::v1::ImporterControl::Service*>((*app)->control_service());
  zarc::v1::GetImportStatusRequest request;
  zarc::v1::GetImportStatusResponse response;
  const absl::Time started = absl::Now();
  const grpc::Status s = control->GetImportStatus(nullptr, &request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("cannot read the whole status log"));
  EXPECT_EQ(response.days_size(), 0) << "no figures from one replica's memory";
  EXPECT_LT(absl::Now() - started, absl::Seconds(40));
}

// The status log is read whole (it used to stop at 100,000 records and answer OK), and a dead
// letter is in it as FAILED with its stage and reason.
TEST_F(ImporterAppTest, TheStatusLogIsReadWholeAndShowsDeadLettersAsFailed) {
  constexpr int kResults = 100'050;
  for (int start = 0; start < kResults; start += 25'000) {
    std::vector<kafka::OutgoingRecord> batch;
    for (int i = start; i < std::min(kResults, start + 25'000); ++i) {
      zarc::v1::ImportResult r;
      r.set_item_id(absl::StrCat("acct/m-", i, "/v1"));
      r.set_mailbox("alice@example.com");
      r.set_outcome(zarc::v1::IMPORT_OUTCOME_IMPORTED);
      r.mutable_completed_at()->set_seconds(kStart1);
      batch.push_back({std::string(kafka::kImportLogTopic), r.item_id(), r.SerializeAsString(), {}});
    }
    ASSERT_TRUE(producer_->ProduceAndWait(batch, absl::Seconds(60)).ok());
  }
  const testing::TestItem item = Item("uuid-dead", kStart1, {"bob@example.com"});
  kafka::Record consumed;
  consumed.topic = std::string(kafka::kDeliveriesTopic);
  consumed.partition = 5;
  consumed.offset = 42;
  consumed.key = "bob@example.com";
  consumed.value = testing::DeliveryFor(item, "bob@example.com", 1).SerializeAsString();
  consumed.headers = {{"zarc-event", "zarc.v1.MailboxDelivery"}};
  ASSERT_TRUE(producer_
                  ->ProduceAndWait({kafka::MakeDeadLetter(
                                       kafka::kDeadLetterTopic, consumed,
                                       {"importer", absl::InvalidArgumentError("no Message-ID"), 5},
                                       absl::FromUnixSeconds(kStart1 + 60))},
                                   absl::Seconds(20))
                  .ok());

  auto app = ImporterApp::Create(Config({}), &registry_);
  ASSERT_TRUE(app.ok()) << app.status();
  auto* control = static_cast<zarc::v1::ImporterControl::Service*>((*app)->control_service());
  zarc::v1::GetImportStatusRequest request;
  zarc::v1::GetImportStatusResponse response;
  const grpc::Status s = control->GetImportStatus(nullptr, &request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int64_t imported = 0, failed = 0;
  for (const auto& d : response.days()) imported += d.imported(), failed += d.failed();
  EXPECT_EQ(imported, kResults);
  EXPECT_EQ(failed, 1);
  ASSERT_EQ(response.failed_size(), 1);
  EXPECT_EQ(response.failed(0).mailbox(), "bob@example.com");
  EXPECT_EQ(response.failed(0).stage(), "importer");
  EXPECT_THAT(response.failed(0).reason(), HasSubstr("dead-lettered by the importer stage"));
  EXPECT_THAT(response.failed(0).reason(), HasSubstr("no Message-ID"));
  EXPECT_THAT(response.failed(0).reason(), HasSubstr("zarc.deliveries/5@42"));
}

}  // namespace
}  // namespace zarc::importer
