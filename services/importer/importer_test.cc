#include "services/importer/importer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <deque>

#include "absl/synchronization/mutex.h"
#include "runtime/testing/subprocess.h"
#include "services/importer/testing/test_items.h"

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A mailbox in memory; answers from a script first, then by Message-ID.
class FakeTarget final : public MailboxTarget {
 public:
  absl::StatusOr<DeliveryOutcome> Deliver(const DeliveryRequest& request) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!script_.empty()) {
      absl::Status s = script_.front();
      script_.pop_front();
      if (!s.ok()) return s;
    }
    std::string& held = mailboxes_[request.mailbox][request.message_id];
    if (!held.empty()) return DeliveryOutcome::kAlreadyThere;
    absl::StatusOr<std::unique_ptr<io::ByteSource>> src = request.open();
    if (!src.ok()) return src.status();
    absl::StatusOr<std::string> bytes = io::ReadAll(**src, 64 << 20);
    if (!bytes.ok()) return bytes.status();
    EXPECT_EQ(bytes->size(), request.size);
    held = *bytes;
    return DeliveryOutcome::kDelivered;
  }
  std::string name() const override { return "fake"; }

  void Script(absl::Status s) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(s));
  }
  int copies(const std::string& mailbox) {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(mailboxes_[mailbox].size());
  }
  std::string held(const std::string& mailbox, const std::string& id) {
    absl::MutexLock lock(&mu_);
    return mailboxes_[mailbox][id];
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::deque<absl::Status> script_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<std::string, std::string>> mailboxes_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

double Counter(prometheus::Registry& r, const std::string& name,
               const std::map<std::string, std::string>& labels) {
  for (const auto& f : r.Collect()) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : m.label) got[l.name] = l.value;
      if (got != labels) continue;
      if (f.type == prometheus::MetricType::Histogram) return static_cast<double>(m.histogram.sample_count);
      return m.counter.value;
    }
  }
  return 0;
}

class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto staging = blob::OpenBlobStore({.url = "file://" + dir_.path() + "/staging"});
    auto archive = blob::OpenBlobStore({.url = "file://" + dir_.path() + "/archive"});
    ASSERT_TRUE(staging.ok() && archive.ok());
    staging_ = *std::move(staging);
    archive_store_ = *std::move(archive);
    archive_ = std::make_unique<Archive>(*archive_store_, *staging_);
    importer_ = std::make_unique<Importer>(*archive_, target_, &registry_,
                                           [] { return absl::FromUnixSeconds(1709700000); });
    auto item = testing::RenderTestItem(*staging_, "uuid-1", "Quarterly review",
                                        absl::FromUnixSeconds(1709647200),
                                        {"alice@example.com", "bob@example.com"});
    ASSERT_TRUE(item.ok()) << item.status();
    item_ = *std::move(item);
  }

  std::string StagedMessage() {
    auto src = staging_->Open(item_.message.name());
    return *io::ReadAll(**src, 64 << 20);
  }

  zarc::testing::TempDir dir_;
  std::unique_ptr<blob::BlobStore> staging_, archive_store_;
  std::unique_ptr<Archive> archive_;
  FakeTarget target_;
  prometheus::Registry registry_;
  std::unique_ptr<Importer> importer_;
  testing::TestItem item_;
};

TEST_F(ImporterTest, DeliversArchivesOnceAndRecognisesTheReplay) {
  const zarc::v1::MailboxDelivery alice = testing::DeliveryFor(item_, "alice@example.com", 2);
  const zarc::v1::MailboxDelivery bob = testing::DeliveryFor(item_, "bob@example.com", 2);
  absl::StatusOr<zarc::v1::ImportResult> a = importer_->Import(alice);
  absl::StatusOr<zarc::v1::ImportResult> b = importer_->Import(bob);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);
  EXPECT_EQ(a->stage(), "importer");
  EXPECT_EQ(a->target(), "fake");
  EXPECT_EQ(a->size(), item_.message.size());
  EXPECT_EQ(a->fanout(), 2);
  EXPECT_EQ(a->meeting_start().seconds(), 1709647200);
  EXPECT_EQ(a->completed_at().seconds(), 1709700000);
  EXPECT_EQ(target_.held("alice@example.com", item_.message_id), StagedMessage());

  // One message blob for the item, one record per mailbox, listed by meeting date.
  auto items = archive_store_->List("items/");
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].sha256, item_.message.sha256());
  EXPECT_THAT((*items)[0].name, HasSubstr("items/2024/03/05/"));
  auto listed = archive_->ListMailbox("Alice@Example.com");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_THAT((*listed)[0].name, HasSubstr("mailboxes/alice@example.com/2024/03/05/"));
  EXPECT_EQ((*listed)[0].message_id, item_.message_id);
  EXPECT_EQ((*listed)[0].message_blob, (*items)[0].name);
  EXPECT_EQ((*listed)[0].outcome, "imported");

  // A replay says what happened to the pair, as recorded: imported, never "skipped".
  absl::StatusOr<zarc::v1::ImportResult> again = importer_->Import(alice);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);
  EXPECT_THAT(again->reason(), HasSubstr("already delivered to this mailbox at "));
  EXPECT_THAT(again->reason(), HasSubstr((*listed)[0].name));
  EXPECT_EQ(target_.calls(), 2);  // the replay never reached the mailbox
  EXPECT_EQ(target_.copies("alice@example.com"), 1);
  EXPECT_EQ(Counter(registry_, "zarc_importer_deliveries_total", {{"outcome", "imported"}, {"target", "fake"}}), 2);
  EXPECT_EQ(Counter(registry_, "zarc_importer_deliveries_total", {{"outcome", "skipped"}, {"target", "fake"}}), 1);
  EXPECT_EQ(Counter(registry_, "zarc_importer_delivered_bytes_total", {{"target", "fake"}}),
            2.0 * static_cast<double>(item_.message.size()));
  EXPECT_EQ(Counter(registry_, "zarc_importer_delivery_latency_seconds", {{"target", "fake"}}), 2);
}

TEST_F(ImporterTest, MailboxesThatSanitizeAlikeEachGetTheItemAndTheirOwnRecord) {
  // '$' is not kept in a path segment: both would have been "mailboxes/a_b@example.com/".
  for (const std::string mailbox : {"a$b@example.com", "a_b@example.com"}) {
    absl::StatusOr<zarc::v1::ImportResult> r =
        importer_->Import(testing::DeliveryFor(item_, mailbox, 2));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED) << mailbox << ": " << r->reason();
    EXPECT_EQ(target_.copies(mailbox), 1) << mailbox;
  }
  auto records = archive_store_->List("mailboxes/");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_NE((*records)[0].name, (*records)[1].name);
  // The ordinary address keeps its readable folder; the other is told apart by a hash.
  ASSERT_EQ(archive_->ListMailbox("a_b@example.com")->size(), 1u);
  EXPECT_THAT((*archive_->ListMailbox("a_b@example.com"))[0].name,
              HasSubstr("mailboxes/a_b@example.com/2024/03/05/"));
  ASSERT_EQ(archive_->ListMailbox("A$B@example.com")->size(), 1u);
  EXPECT_THAT((*archive_->ListMailbox("a$b@example.com"))[0].name,
              HasSubstr("mailboxes/a_b@example.com~"));
}

TEST_F(ImporterTest, TransientFailureProducesNoResultAndTheRetryDeliversOnce) {
  const zarc::v1::MailboxDelivery d = testing::DeliveryFor(item_, "alice@example.com", 1);
  target_.Script(absl::UnavailableError("IMAP server down"));
  absl::StatusOr<zarc::v1::ImportResult> first = importer_->Import(d);
  EXPECT_TRUE(absl::IsUnavailable(first.status())) << first.status();
  auto records = archive_->ListMailbox("alice@example.com");
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
  absl::StatusOr<zarc::v1::ImportResult> retry = importer_->Import(d);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);
  EXPECT_EQ(target_.copies("alice@example.com"), 1);
}

TEST_F(ImporterTest, MessageAlreadyInMailboxWithoutRecordIsOurEarlierAttempt) {
  const zarc::v1::MailboxDelivery d = testing::DeliveryFor(item_, "alice@example.com", 1);
  ASSERT_TRUE(importer_->Import(d).ok());
  // Simulate a crash between APPEND and the record: remove the record.
  ASSERT_TRUE(archive_store_->Delete(Archive::RecordName(d)).ok());
  absl::StatusOr<zarc::v1::ImportResult> r = importer_->Import(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);
  EXPECT_THAT(r->reason(), HasSubstr("earlier"));
  EXPECT_EQ(target_.copies("alice@example.com"), 1);
  auto has = archive_->HasRecord(d);
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);
}

TEST_F(ImporterTest, PermanentFailureIsFailedWithTheReasonAndNoRecord) {
  const zarc::v1::MailboxDelivery d = testing::DeliveryFor(item_, "ghost@example.com", 1);
  target_.Script(absl::NotFoundError("mailbox ghost@example.com does not exist on the server"));
  absl::StatusOr<zarc::v1::ImportResult> r = importer_->Import(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_FAILED);
  EXPECT_THAT(r->reason(), HasSubstr("does not exist"));
  auto has = archive_->HasRecord(d);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
}

TEST_F(ImporterTest, OutOfLineArtifactsMakeItPartial) {
  const zarc::v1::MailboxDelivery d = testing::DeliveryFor(item_, "alice@example.com", 1, 2);
  absl::StatusOr<zarc::v1::ImportResult> r = importer_->Import(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED);
  EXPECT_EQ(r->artifacts_out_of_line(), 2);
  EXPECT_THAT(r->reason(), HasSubstr("2 artifact(s)"));
}

TEST_F(ImporterTest, AFileTheFetcherCouldNotCaptureMakesItPartialAndIsNamed) {
  zarc::v1::MailboxDelivery d = testing::DeliveryFor(item_, "alice@example.com", 1, 0);
  zarc::v1::MissingFile* m = d.add_missing();
  m->set_file_id("f-vtt");
  m->set_file_type("TRANSCRIPT");
  m->set_reason("not yet available (Zoom is still processing it)");
  absl::StatusOr<zarc::v1::ImportResult> r = importer_->Import(d);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED);
  EXPECT_THAT(r->reason(), HasSubstr("TRANSCRIPT file f-vtt not captured: not yet available "
                                     "(Zoom is still processing it)"));
  EXPECT_THAT(r->reason(), Not(HasSubstr("artifact(s)")));
}

TEST_F(ImporterTest, ArtifactsKeptOutOfLineAreArchivedOnceForAllMailboxes) {
  const std::string video(3 << 20, 'v');
  io::StringSource source(video);
  absl::StatusOr<blob::BlobInfo> staged = blob::PutContentAddressed(*staging_, "staging/sha256", source, {});
  ASSERT_TRUE(staged.ok()) << staged.status();
  auto placement = [&](const std::string& name, const std::string& sha) {
    zarc::v1::ArtifactPlacement a;
    a.set_file_name(name);
    a.set_attached(false);
    a.mutable_blob()->set_name(name == "video.mp4" ? staged->name : "staging/sha256/" + sha);
    a.mutable_blob()->set_sha256(sha);
    a.mutable_blob()->set_size(video.size());
    return a;
  };
  for (const std::string mailbox : {"alice@example.com", "bob@example.com"}) {
    zarc::v1::MailboxDelivery d = testing::DeliveryFor(item_, mailbox, 2, 1);
    *d.add_artifacts() = placement("video.mp4", staged->sha256);
    zarc::v1::ArtifactPlacement chat = placement("chat.txt", std::string(64, 'c'));
    chat.set_attached(true);
    chat.set_kind(zarc::v1::ARTIFACT_KIND_CHAT_TXT);
    chat.mutable_blob()->set_size(42);
    *d.add_artifacts() = chat;
    absl::StatusOr<zarc::v1::ImportResult> r = importer_->Import(d);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED);
    // The result records each artifact as the message carries it (issue 17: the console's
    // drill-down and the status log's artifacts table show them).
    ASSERT_EQ(r->artifacts_size(), 2);
    EXPECT_EQ(r->artifacts(0).name(), "video.mp4");
    EXPECT_EQ(r->artifacts(0).sha256(), staged->sha256);
    EXPECT_EQ(r->artifacts(0).size(), video.size());
    EXPECT_FALSE(r->artifacts(0).attached());
    EXPECT_EQ(r->artifacts(1).name(), "chat.txt");
    EXPECT_EQ(r->artifacts(1).kind(), zarc::v1::ARTIFACT_KIND_CHAT_TXT);
    EXPECT_EQ(r->artifacts(1).size(), 42u);
    EXPECT_TRUE(r->artifacts(1).attached());
  }
  auto listed = archive_store_->List("artifacts/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "artifacts/sha256/" + staged->sha256);
  EXPECT_EQ((*listed)[0].sha256, staged->sha256);

  // One the staging store no longer has is named in the result, not passed over in silence.
  zarc::v1::MailboxDelivery gone = testing::DeliveryFor(item_, "carol@example.com", 3, 1);
  *gone.add_artifacts() = placement("gone.mp4", std::string(64, 'a'));
  absl::StatusOr<zarc::v1::ImportResult> r = importer_->Import(gone);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->reason(), HasSubstr("not in the archive: gone.mp4"));
}

TEST_F(ImporterTest, CorruptOrMissingMessageFailsAndArchivesNothing) {
  zarc::v1::MailboxDelivery corrupt = testing::DeliveryFor(item_, "alice@example.com", 1);
  corrupt.mutable_message()->set_sha256(std::string(64, '0'));
  absl::StatusOr<zarc::v1::ImportResult> r = importer_->Import(corrupt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_FAILED);
  EXPECT_THAT(r->reason(), HasSubstr("SHA-256"));
  auto items = archive_store_->List("items/");
  ASSERT_TRUE(items.ok());
  EXPECT_TRUE(items->empty());

  zarc::v1::MailboxDelivery missing = testing::DeliveryFor(item_, "alice@example.com", 1);
  missing.mutable_message()->set_name("messages/nope.eml");
  r = importer_->Import(missing);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_FAILED);
  EXPECT_THAT(r->reason(), HasSubstr("not in the messages store"));
  EXPECT_EQ(target_.calls(), 0);
}

TEST_F(ImporterTest, NoneTargetArchivesOnly) {
  std::unique_ptr<MailboxTarget> none = NewNoneTarget();
  Importer importer(*archive_, *none, nullptr);
  const zarc::v1::MailboxDelivery d = testing::DeliveryFor(item_, "alice@example.com", 1);
  absl::StatusOr<zarc::v1::ImportResult> r = importer.Import(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);
  EXPECT_EQ(r->target(), "none");
  r = importer.Import(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);
  EXPECT_THAT(r->reason(), HasSubstr("already delivered"));
}

}  // namespace
}  // namespace zarc::importer
