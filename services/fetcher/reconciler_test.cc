#include "services/fetcher/reconciler.h"

#include <prometheus/registry.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::fetcher {
namespace {

using ::testing::UnorderedElementsAre;

zarc::v1::MeetingCaptured Version(const std::string& uuid, int version, absl::Time captured) {
  zarc::v1::MeetingCaptured e;
  e.mutable_meeting()->set_account_id("acct");
  e.mutable_meeting()->set_uuid(uuid);
  e.mutable_meeting()->set_topic("Topic " + uuid);
  e.set_version(version);
  e.mutable_captured_at()->set_seconds(absl::ToUnixSeconds(captured));
  return e;
}

zarc::v1::ImportResult Result(const zarc::v1::MeetingCaptured& e, const std::string& mailbox,
                              int fanout) {
  zarc::v1::ImportResult r;
  r.set_item_id(ledger::ItemId("acct", e.meeting().uuid(), e.version()));
  r.set_mailbox(mailbox);
  r.set_fanout(fanout);
  r.set_stage("importer");
  r.set_outcome(zarc::v1::IMPORT_OUTCOME_IMPORTED);
  return r;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = blob::OpenBlobStore({.url = "file://" + dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    versions_ = std::make_unique<VersionStore>(*store_);
    ledger_ = std::make_unique<ledger::Ledger>(*store_);
  }
  // Called on the reconciler's thread once it was started, while the test reads what it got.
  MeetingPublisher Publisher() {
    return [this](const zarc::v1::MeetingCaptured& e) {
      absl::MutexLock lock(&mu_);
      if (!publish_status_.ok()) return publish_status_;
      published_.push_back(e);
      return absl::OkStatus();
    };
  }
  std::vector<zarc::v1::MeetingCaptured> Published() const {
    absl::MutexLock lock(&mu_);
    return published_;
  }
  std::vector<std::string> PublishedUuids() const {
    std::vector<std::string> out;
    for (const auto& e : Published()) out.push_back(e.meeting().uuid() + "/v" + std::to_string(e.version()));
    return out;
  }
  void ClearPublished() {
    absl::MutexLock lock(&mu_);
    published_.clear();
  }
  void SetPublishStatus(absl::Status status) {
    absl::MutexLock lock(&mu_);
    publish_status_ = std::move(status);
  }

  testing::TempDir dir_;
  std::unique_ptr<blob::BlobStore> store_;
  std::unique_ptr<VersionStore> versions_;
  std::unique_ptr<ledger::Ledger> ledger_;
  mutable absl::Mutex mu_;
  std::vector<zarc::v1::MeetingCaptured> published_ ABSL_GUARDED_BY(mu_);
  absl::Status publish_status_ ABSL_GUARDED_BY(mu_);
};

TEST_F(ReconcilerTest, PublishesAgainExactlyTheVersionsWhoseDeliveriesAreNotAllSettled) {
  const absl::Time old = absl::Now() - absl::Hours(3);
  const auto settled = Version("settled", 1, old);
  const auto half = Version("half", 1, old);
  const auto lost = Version("lost", 1, old);
  const auto lost_v2 = Version("settled", 2, old);  // a later version is an item of its own
  const auto unmapped = Version("unmapped", 1, old);
  for (const auto* e : {&settled, &half, &lost, &lost_v2, &unmapped}) {
    ASSERT_TRUE(versions_->Record(*e).ok());
  }
  ASSERT_TRUE(ledger_->Record(Result(settled, "ann@corp.test", 2)).ok());
  ASSERT_TRUE(ledger_->Record(Result(settled, "bob@corp.test", 2)).ok());
  ASSERT_TRUE(ledger_->Record(Result(half, "ann@corp.test", 2)).ok());
  zarc::v1::ImportResult no_mailbox = Result(unmapped, "", 0);
  no_mailbox.set_stage("mapper");
  no_mailbox.set_outcome(zarc::v1::IMPORT_OUTCOME_FAILED);
  ASSERT_TRUE(ledger_->Record(no_mailbox).ok());

  prometheus::Registry registry;
  Reconciler reconciler(*versions_, *ledger_, Publisher(), {.interval = absl::ZeroDuration()}, &registry);
  absl::StatusOr<ReconcileReport> report = reconciler.RunOnce(absl::Hours(1));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->versions, 5);
  EXPECT_EQ(report->settled, 2);
  EXPECT_EQ(report->republished, 3);
  EXPECT_THAT(PublishedUuids(), UnorderedElementsAre("half/v1", "lost/v1", "settled/v2"));
  // Published again as recorded, byte for byte.
  for (const auto& e : Published()) {
    if (e.meeting().uuid() == "lost") {
      EXPECT_EQ(e.SerializeAsString(), lost.SerializeAsString());
    }
  }

  // Once the missing results are in, the next round publishes nothing.
  ClearPublished();
  ASSERT_TRUE(ledger_->Record(Result(half, "bob@corp.test", 2)).ok());
  ASSERT_TRUE(ledger_->Record(Result(lost, "cy@corp.test", 1)).ok());
  ASSERT_TRUE(ledger_->Record(Result(lost_v2, "ann@corp.test", 1)).ok());
  report = reconciler.RunOnce(absl::Hours(1));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->settled, 5);
  EXPECT_TRUE(Published().empty());
}

TEST_F(ReconcilerTest, LeavesRecentVersionsInFlightAndRetriesAFailedPublishNextRound) {
  const auto recent = Version("recent", 1, absl::Now() - absl::Minutes(5));
  const auto old = Version("old", 1, absl::Now() - absl::Hours(5));
  ASSERT_TRUE(versions_->Record(recent).ok());
  ASSERT_TRUE(versions_->Record(old).ok());
  Reconciler reconciler(*versions_, *ledger_, Publisher(), {.interval = absl::ZeroDuration()}, nullptr);

  SetPublishStatus(absl::UnavailableError("broker down"));
  absl::StatusOr<ReconcileReport> report = reconciler.RunOnce(absl::Hours(1));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->in_flight, 1);
  EXPECT_EQ(report->failed, 1);
  EXPECT_TRUE(Published().empty());

  SetPublishStatus(absl::OkStatus());
  report = reconciler.RunOnce(absl::Hours(1));
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(PublishedUuids(), UnorderedElementsAre("old/v1"));
  // Where the broker is known to have lost everything (min_age 0), the recent one goes too.
  ClearPublished();
  report = reconciler.RunOnce(absl::ZeroDuration());
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(PublishedUuids(), UnorderedElementsAre("old/v1", "recent/v1"));
}

TEST_F(ReconcilerTest, ScheduledRoundsStopPromptly) {
  ASSERT_TRUE(versions_->Record(Version("m", 1, absl::Now() - absl::Hours(2))).ok());
  Reconciler reconciler(*versions_, *ledger_, Publisher(),
                        {.min_age = absl::Hours(1), .interval = absl::Hours(1),
                         .first_round_min_age = absl::ZeroDuration()},
                        nullptr);
  reconciler.Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Published().empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  const absl::Time before_stop = absl::Now();
  reconciler.Stop();
  EXPECT_LT(absl::Now() - before_stop, absl::Seconds(2));
  EXPECT_THAT(PublishedUuids(), UnorderedElementsAre("m/v1"));
}

}  // namespace
}  // namespace zarc::fetcher
