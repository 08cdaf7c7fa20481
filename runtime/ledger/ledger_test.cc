#include "runtime/ledger/ledger.h"

#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::ledger {
namespace {

zarc::v1::ImportResult Result(const std::string& item, const std::string& mailbox,
                              zarc::v1::ImportOutcome outcome, int fanout,
                              const std::string& stage = "importer") {
  zarc::v1::ImportResult r;
  r.set_item_id(item);
  r.set_mailbox(mailbox);
  r.set_outcome(outcome);
  r.set_fanout(fanout);
  r.set_stage(stage);
  r.set_reason(zarc::v1::ImportOutcome_Name(outcome));
  return r;
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = blob::OpenBlobStore({.url = "file://" + dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  testing::TempDir dir_;
  std::unique_ptr<blob::BlobStore> store_;
};

TEST(ItemIdTest, NamesAccountMeetingAndVersion) {
  EXPECT_EQ(ItemId("acct", "abc==", 3), "acct/abc==/v3");
}

TEST_F(LedgerTest, AnItemIsSettledOnlyWhenEveryMailboxOfItsFanOutHasAResult) {
  Ledger ledger(*store_);
  const std::string item = ItemId("acct", "m1", 1);
  ASSERT_TRUE(ledger.Record(Result(item, "Ann@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED, 3)).ok());
  ASSERT_TRUE(ledger.Record(Result(item, "bob@corp.test", zarc::v1::IMPORT_OUTCOME_FAILED, 3)).ok());
  auto results = ledger.ForItem(item);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(results->size(), 2u);
  EXPECT_FALSE(Settles(*results));
  // The same mailbox in another case is the same pair, not a third mailbox.
  ASSERT_TRUE(ledger.Record(Result(item, "ann@CORP.test", zarc::v1::IMPORT_OUTCOME_IMPORTED, 3)).ok());
  results = ledger.ForItem(item);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(results->size(), 2u);
  EXPECT_FALSE(Settles(*results));
  ASSERT_TRUE(ledger.Record(Result(item, "cy@corp.test", zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED, 3)).ok());
  results = ledger.ForItem(item);
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(Settles(*results));
  // Another item is untouched.
  auto other = ledger.ForItem(ItemId("acct", "m2", 1));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
  EXPECT_FALSE(Settles(*other));
}

TEST_F(LedgerTest, AMapperResultSettlesAnItemThatReachedNoMailbox) {
  Ledger ledger(*store_);
  const std::string item = ItemId("acct", "m1", 1);
  ASSERT_TRUE(ledger.Record(Result(item, "", zarc::v1::IMPORT_OUTCOME_FAILED, 0, "mapper")).ok());
  auto results = ledger.ForItem(item);
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(Settles(*results));
}

TEST_F(LedgerTest, AFetcherFailureIsKeptButSettlesNothing) {
  Ledger ledger(*store_);
  const std::string never = ItemId("acct", "m1", kNotCapturedVersion);
  ASSERT_TRUE(ledger.Record(Result(never, "", zarc::v1::IMPORT_OUTCOME_FAILED, 0, "fetcher")).ok());
  auto results = ledger.ForItem(never);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_FALSE(Settles(*results));
  // The captured version is another item: the failure tells the reconciler nothing about it.
  auto captured = ledger.ForItem(ItemId("acct", "m1", 1));
  ASSERT_TRUE(captured.ok());
  EXPECT_TRUE(captured->empty());
  EXPECT_EQ(MeetingOf(never), "acct/m1");
  EXPECT_EQ(MeetingOf(ItemId("acct", "/a//v1==", 12)), "acct//a//v1==");
}

TEST_F(LedgerTest, TheFirstResultStandsButADeliveryReplacesAFailure) {
  Ledger ledger(*store_);
  const std::string item = ItemId("acct", "m1", 1);
  ASSERT_TRUE(ledger.Record(Result(item, "ann@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED, 1)).ok());
  ASSERT_TRUE(ledger.Record(Result(item, "ann@corp.test", zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE, 1)).ok());
  auto results = ledger.ForItem(item);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);

  const std::string failed = ItemId("acct", "m2", 1);
  ASSERT_TRUE(ledger.Record(Result(failed, "bob@corp.test", zarc::v1::IMPORT_OUTCOME_FAILED, 1)).ok());
  ASSERT_TRUE(ledger.Record(Result(failed, "bob@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED, 1)).ok());
  results = ledger.ForItem(failed);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().outcome(), zarc::v1::IMPORT_OUTCOME_IMPORTED);

  auto all = ledger.All();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(LedgerTest, AResultWithoutItemIsRefusedByName) {
  Ledger ledger(*store_);
  absl::Status s = ledger.Record(Result("", "ann@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED, 1));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("item_id"), absl::string_view::npos);
}

}  // namespace
}  // namespace zarc::ledger
