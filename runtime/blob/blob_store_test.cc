// One conformance suite run against every BlobStore: the local folder, and Azure (a real Azurite)
// with SharedKey and with a service SAS generated at test time.
#include "runtime/blob/blob_store.h"

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/blob/azure_auth.h"
#include "runtime/blob/azure_blob_store.h"
#include "runtime/blob/azurite_fixture.h"
#include "runtime/blob/local_folder_store.h"
#include "runtime/blob/random_id.h"
#include "runtime/crypto/digest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::blob {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

enum class Kind { kLocal, kAzureSharedKey, kAzureSas };

std::string KindName(const ::testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::kLocal:
      return "LocalFolder";
    case Kind::kAzureSharedKey:
      return "AzuriteSharedKey";
    case Kind::kAzureSas:
      return "AzuriteSas";
  }
  return "unknown";
}

class BlobStoreConformanceTest : public ::testing::TestWithParam<Kind> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<AzuriteProcess>> azurite = AzuriteProcess::Start();
    ASSERT_TRUE(azurite.ok()) << azurite.status();
    azurite_ = azurite->release();
  }
  static void TearDownTestSuite() {
    delete azurite_;
    azurite_ = nullptr;
  }

  void SetUp() override {
    if (GetParam() == Kind::kLocal) {
      auto store = LocalFolderStore::OpenFolder(dir_.path() + "/blobs");
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(*store);
      return;
    }
    ASSERT_NE(azurite_, nullptr) << "Azurite did not start";
    // A fresh container per test keeps tests independent.
    AzureBlobOptions options{.account = kAzuriteAccount,
                             .container = absl::StrCat("t", RandomHex(8)),
                             .endpoint = azurite_->endpoint(),
                             .shared_key = kAzuriteKey,
                             .block_size = 64 * 1024};
    auto admin = AzureBlobStore::Connect(options);
    ASSERT_TRUE(admin.ok()) << admin.status();
    ASSERT_TRUE((*admin)->EnsureContainer().ok());
    ASSERT_TRUE((*admin)->EnsureContainer().ok()) << "an existing container is fine";
    if (GetParam() == Kind::kAzureSas) {
      auto token = ContainerSasToken(kAzuriteAccount, options.container, kAzuriteKey,
                                     {.expiry = absl::Now() + absl::Hours(1)});
      ASSERT_TRUE(token.ok()) << token.status();
      options.shared_key.clear();
      options.sas_token = *token;
      admin = AzureBlobStore::Connect(options);
      ASSERT_TRUE(admin.ok()) << admin.status();
    }
    store_ = std::move(*admin);
  }

  absl::Status Put(absl::string_view name, absl::string_view bytes, std::string type = "text/plain") {
    auto writer = store_->Create(name, {.content_type = type});
    if (!writer.ok()) return writer.status();
    if (auto s = (*writer)->Write(bytes); !s.ok()) return s;
    return (*writer)->Close();
  }

  absl::StatusOr<std::string> Get(absl::string_view name) {
    auto source = store_->Open(name);
    if (!source.ok()) return source.status();
    return io::ReadAll(**source, 64 << 20);
  }

  static AzuriteProcess* azurite_;
  testing::TempDir dir_;
  std::unique_ptr<BlobStore> store_;
};

AzuriteProcess* BlobStoreConformanceTest::azurite_ = nullptr;

TEST_P(BlobStoreConformanceTest, WriteReadStatListDelete) {
  const std::string small = "hello, archive";
  // Several blocks for Azure (64 KiB blocks here) plus a partial one.
  std::string large(300 * 1024 + 5, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 131 % 251);

  ASSERT_TRUE(Put("meetings/2024/a.txt", small).ok());
  auto writer = store_->Create("meetings/2024/b.mp4", {.content_type = "video/mp4"});
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (size_t at = 0; at < large.size(); at += 10000) {
    ASSERT_TRUE((*writer)->Write(absl::string_view(large).substr(at, 10000)).ok());
  }
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ((*writer)->info().sha256, crypto::Sha256Hex(large));
  EXPECT_EQ((*writer)->info().size, large.size());
  ASSERT_TRUE(Put("other/c", "").ok());

  EXPECT_EQ(Get("meetings/2024/a.txt").value_or("?"), small);
  EXPECT_EQ(Get("meetings/2024/b.mp4").value_or("?"), large);
  EXPECT_EQ(Get("other/c").value_or("?"), "");

  auto stat = store_->Stat("meetings/2024/b.mp4");
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->name, "meetings/2024/b.mp4");
  EXPECT_EQ(stat->size, large.size());
  EXPECT_EQ(stat->sha256, crypto::Sha256Hex(large));
  EXPECT_EQ(stat->content_type, "video/mp4");

  auto listed = store_->List("meetings/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "meetings/2024/a.txt");
  EXPECT_EQ((*listed)[0].sha256, crypto::Sha256Hex(small));
  EXPECT_EQ((*listed)[0].size, small.size());
  EXPECT_EQ((*listed)[0].content_type, "text/plain");
  EXPECT_EQ((*listed)[1].name, "meetings/2024/b.mp4");
  EXPECT_EQ((*listed)[1].sha256, crypto::Sha256Hex(large));

  auto all = store_->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> names;
  for (const BlobInfo& info : *all) names.push_back(info.name);
  EXPECT_THAT(names, ElementsAre("meetings/2024/a.txt", "meetings/2024/b.mp4", "other/c"));
  auto partial = store_->List("meetings/2024/a");
  ASSERT_TRUE(partial.ok()) << partial.status();
  ASSERT_EQ(partial->size(), 1u);

  ASSERT_TRUE(store_->Delete("meetings/2024/a.txt").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Stat("meetings/2024/a.txt").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Open("meetings/2024/a.txt").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Delete("meetings/2024/a.txt")));
  auto after = store_->List("meetings/");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 1u);
}

TEST_P(BlobStoreConformanceTest, CreateOnceConflictIsAlreadyExists) {
  ASSERT_TRUE(Put("item/1", "first").ok());
  absl::Status second = Put("item/1", "second");
  EXPECT_TRUE(absl::IsAlreadyExists(second)) << second;
  EXPECT_EQ(second.message(), "blob item/1 exists");
  EXPECT_EQ(Get("item/1").value_or("?"), "first");

  // Two writers racing for one name: exactly one wins, nothing is visible before Close().
  auto a = store_->Create("race", {});
  auto b = store_->Create("race", {});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Write(std::string(200 * 1024, 'a')).ok());
  ASSERT_TRUE((*b)->Write(std::string(200 * 1024, 'b')).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Stat("race").status()));
  absl::Status first_close = (*b)->Close();
  absl::Status second_close = (*a)->Close();
  EXPECT_TRUE(first_close.ok()) << first_close;
  EXPECT_TRUE(absl::IsAlreadyExists(second_close)) << second_close;
  EXPECT_EQ(Get("race").value_or("?"), std::string(200 * 1024, 'b'));

  // An abandoned writer leaves nothing behind.
  {
    auto abandoned = store_->Create("abandoned", {});
    ASSERT_TRUE(abandoned.ok());
    ASSERT_TRUE((*abandoned)->Write("half").ok());
  }
  EXPECT_TRUE(absl::IsNotFound(store_->Stat("abandoned").status()));
}

TEST_P(BlobStoreConformanceTest, PutContentAddressedStoresSameBytesOnce) {
  const std::string bytes(100 * 1024, 'r');
  io::StringSource first(bytes);
  auto a = PutContentAddressed(*store_, "staging", first, {.content_type = "audio/m4a"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->name, absl::StrCat("staging/", crypto::Sha256Hex(bytes)));
  EXPECT_EQ(a->sha256, crypto::Sha256Hex(bytes));
  EXPECT_EQ(a->size, bytes.size());

  io::StringSource second(bytes);
  auto b = PutContentAddressed(*store_, "staging", second, {.content_type = "audio/m4a"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->name, a->name);
  EXPECT_EQ(b->sha256, a->sha256);
  EXPECT_EQ(b->content_type, "audio/m4a");

  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u) << "temporaries must be gone and the bytes stored once";
  EXPECT_EQ((*listed)[0].name, a->name);
  EXPECT_EQ(Get(a->name).value_or("?"), bytes);
}

TEST_P(BlobStoreConformanceTest, MoveIsCreateOnce) {
  ASSERT_TRUE(Put("a", "A", "text/a").ok());
  ASSERT_TRUE(Put("b", "B").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(store_->Move("a", "b")));
  EXPECT_EQ(Get("a").value_or("?"), "A");
  EXPECT_TRUE(absl::IsNotFound(store_->Move("missing", "c")));
  ASSERT_TRUE(store_->Move("a", "deep/c").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Stat("a").status()));
  auto moved = store_->Stat("deep/c");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->sha256, crypto::Sha256Hex("A"));
  EXPECT_EQ(moved->content_type, "text/a");
}

TEST_P(BlobStoreConformanceTest, InvalidNamesAreRefused) {
  for (const char* name : {"", "/abs", "a//b", "../up", "a/../b", "a/./b", "trail/", ".zarc-meta/x"}) {
    auto writer = store_->Create(name, {});
    EXPECT_TRUE(absl::IsInvalidArgument(writer.status())) << "name '" << name << "'";
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Stat(name).status())) << "name '" << name << "'";
  }
  EXPECT_THAT(std::string(store_->Uri("x/y.mp4")), HasSubstr("x/y.mp4"));
}

INSTANTIATE_TEST_SUITE_P(AllStores, BlobStoreConformanceTest,
                         ::testing::Values(Kind::kLocal, Kind::kAzureSharedKey, Kind::kAzureSas),
                         KindName);

TEST(OpenBlobStoreTest, FileUrlAndBadConfig) {
  testing::TempDir dir;
  auto local = OpenBlobStore({.url = absl::StrCat("file://", dir.path(), "/store")});
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*local)->Uri("a/b"), absl::StrCat("file://", dir.path(), "/store/a/b"));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenBlobStore({.url = "file://relative"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenBlobStore({.url = "s3://bucket?key=SECRET"}).status()));
  EXPECT_THAT(std::string(OpenBlobStore({.url = "s3://bucket?key=SECRET"}).status().message()),
              ::testing::Not(HasSubstr("SECRET")));
  // Neither key nor SAS is Entra ID (here the managed identity), over HTTPS only.
  auto entra = OpenBlobStore({.azure = {.account = "acct", .container = "c", .identity = "managed-identity"},
                              .create_container = false});
  EXPECT_TRUE(entra.ok()) << entra.status();
  auto entra_over_http = OpenBlobStore(
      {.azure = {.account = "acct", .container = "c", .endpoint = "http://127.0.0.1:1/acct",
                 .identity = "managed-identity"},
       .create_container = false});
  EXPECT_TRUE(absl::IsInvalidArgument(entra_over_http.status())) << entra_over_http.status();
  auto both = OpenBlobStore({.azure = {.account = "acct", .container = "c", .shared_key = "a2V5",
                                       .sas_token = "sv=1&sig=x"}});
  EXPECT_TRUE(absl::IsInvalidArgument(both.status())) << both.status();
}

}  // namespace
}  // namespace zarc::blob
