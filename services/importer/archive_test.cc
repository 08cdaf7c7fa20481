#include "services/importer/archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/blob/azurite_fixture.h"
#include "runtime/testing/subprocess.h"
#include "services/importer/testing/test_items.h"

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;

// The same checks on a local folder and on Azurite.
void ExerciseArchive(blob::BlobStore& archive_store, blob::BlobStore& staging) {
  Archive archive(archive_store, staging);
  auto item = testing::RenderTestItem(staging, "uuid-arch", "Archive test",
                                      absl::FromUnixSeconds(1709647200), {"alice@example.com"},
                                      3 << 20);  // a message of several MB, several blocks
  ASSERT_TRUE(item.ok()) << item.status();
  zarc::v1::MailboxDelivery d = testing::DeliveryFor(*item, "alice@example.com", 1);
  absl::StatusOr<blob::BlobInfo> first = archive.StoreMessage(d);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->sha256, item->message.sha256());
  EXPECT_EQ(first->size, item->message.size());
  absl::StatusOr<blob::BlobInfo> again = archive.StoreMessage(d);  // create-once: the same blob
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->name, first->name);
  auto items = archive_store.List("items/");
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 1u);

  MailboxRecord record{.name = Archive::RecordName(d),
                       .item_id = d.item_id(),
                       .message_id = d.message_id(),
                       .mailbox = d.mailbox(),
                       .message_blob = first->name,
                       .size = first->size,
                       .sha256 = first->sha256,
                       .outcome = "imported",
                       .target = "imap",
                       .meeting_start = absl::FromUnixSeconds(1709647200),
                       .delivered_at = absl::FromUnixSeconds(1709700000)};
  auto has = archive.HasRecord(d);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
  ASSERT_TRUE(archive.WriteRecord(record).ok());
  ASSERT_TRUE(archive.WriteRecord(record).ok());  // existing record: left as it is
  auto listed = archive.ListMailbox("alice@example.com");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "mailboxes/alice@example.com/2024/03/05/" +
                                   (*listed)[0].name.substr((*listed)[0].name.rfind('/') + 1));
  EXPECT_EQ((*listed)[0].item_id, d.item_id());
  EXPECT_EQ((*listed)[0].sha256, item->message.sha256());
  EXPECT_EQ((*listed)[0].delivered_at, absl::FromUnixSeconds(1709700000));
}

TEST(ArchiveTest, LocalFolder) {
  zarc::testing::TempDir dir;
  auto staging = blob::OpenBlobStore({.url = "file://" + dir.path() + "/staging"});
  auto archive = blob::OpenBlobStore({.url = "file://" + dir.path() + "/archive"});
  ASSERT_TRUE(staging.ok() && archive.ok());
  ExerciseArchive(**archive, **staging);
}

TEST(ArchiveTest, AzureBlobOnAzurite) {
  absl::StatusOr<std::unique_ptr<blob::AzuriteProcess>> azurite = blob::AzuriteProcess::Start();
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  zarc::testing::TempDir dir;
  auto staging = blob::OpenBlobStore({.url = "file://" + dir.path() + "/staging"});
  blob::BlobStoreConfig config;
  config.azure = {.account = blob::kAzuriteAccount,
                  .container = "zarc-archive",
                  .endpoint = (*azurite)->endpoint(),
                  .shared_key = blob::kAzuriteKey,
                  .block_size = 1 << 20};
  auto archive = blob::OpenBlobStore(config);
  ASSERT_TRUE(staging.ok()) << staging.status();
  ASSERT_TRUE(archive.ok()) << archive.status();
  ExerciseArchive(**archive, **staging);
}

}  // namespace
}  // namespace zarc::importer
