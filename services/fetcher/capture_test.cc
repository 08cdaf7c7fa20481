// The fetcher's own records in the blob store: versions and follow-ups.
#include "services/fetcher/capture.h"

#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::fetcher {
namespace {

zarc::v1::MeetingCaptured Version(const std::string& uuid, int version, const std::string& topic) {
  zarc::v1::MeetingCaptured e;
  e.mutable_meeting()->set_uuid(uuid);
  e.mutable_meeting()->set_topic(topic);
  e.set_version(version);
  return e;
}

class RecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = blob::OpenBlobStore({.url = "file://" + dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  testing::TempDir dir_;
  std::unique_ptr<blob::BlobStore> store_;
};

TEST_F(RecordsTest, AVersionIsRecordedOnceAndWhatWasRecordedFirstIsWhatIsPublished) {
  VersionStore versions(*store_);
  absl::StatusOr<zarc::v1::MeetingCaptured> first =
      versions.RecordOrRead(Version("/a//b==", 1, "first"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->meeting().topic(), "first");
  // A retry that rebuilt version 1 differently gets the recorded one back.
  absl::StatusOr<zarc::v1::MeetingCaptured> again =
      versions.RecordOrRead(Version("/a//b==", 1, "rebuilt"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), first->SerializeAsString());

  EXPECT_FALSE(*versions.Published("/a//b==", 1));
  ASSERT_TRUE(versions.MarkPublished("/a//b==", 1).ok());
  ASSERT_TRUE(versions.MarkPublished("/a//b==", 1).ok());  // twice is fine
  EXPECT_TRUE(*versions.Published("/a//b==", 1));

  ASSERT_TRUE(versions.RecordOrRead(Version("/a//b==", 2, "second")).ok());
  ASSERT_TRUE(versions.RecordOrRead(Version("other", 1, "x")).ok());
  absl::StatusOr<std::optional<zarc::v1::MeetingCaptured>> latest = versions.Latest("/a//b==");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->version(), 2) << "the published marker of v1 must not hide v2";
  EXPECT_EQ(versions.Read("/a//b==", 1)->meeting().topic(), "first");
  EXPECT_EQ(versions.Read("/a//b==", 7).status().code(), absl::StatusCode::kNotFound);

  // Every record is listed once, and no published marker passes for a record.
  absl::StatusOr<std::vector<std::string>> all = versions.ListRecords();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  for (const std::string& name : *all) {
    absl::StatusOr<zarc::v1::MeetingCaptured> r = versions.ReadRecord(name);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status();
    EXPECT_FALSE(r->meeting().uuid().empty()) << name;
  }
  absl::StatusOr<std::vector<zarc::v1::MeetingCaptured>> both = versions.AllVersions("/a//b==");
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].meeting().topic(), "first");
  EXPECT_EQ((*both)[1].version(), 2);
}

TEST_F(RecordsTest, AFollowUpKeepsItsFirstDeadlineUntilRemoved) {
  FollowUpStore followups(*store_);
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  FollowUpStore::FollowUp wanted{.meeting_uuid = "m1",
                                 .archive = true,
                                 .host_email = "h@x",
                                 .start_time = t0,
                                 .since = t0,
                                 .deadline = t0 + absl::Hours(1)};
  ASSERT_TRUE(followups.Ensure(wanted).ok());
  FollowUpStore::FollowUp later = wanted;
  later.since = t0 + absl::Minutes(30);
  later.deadline = t0 + absl::Minutes(90);
  absl::StatusOr<FollowUpStore::FollowUp> kept = followups.Ensure(later);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->deadline, t0 + absl::Hours(1));
  EXPECT_TRUE(kept->archive);
  EXPECT_EQ(kept->start_time, t0);
  ASSERT_EQ(followups.List()->size(), 1u);
  ASSERT_TRUE(followups.Remove("m1").ok());
  ASSERT_TRUE(followups.Remove("m1").ok());  // nothing to remove is fine
  EXPECT_TRUE(followups.List()->empty());
}

}  // namespace
}  // namespace zarc::fetcher
