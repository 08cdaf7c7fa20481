#include "runtime/blob/local_folder_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::blob {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

TEST(LocalFolderStoreTest, LaysBlobsOutAsFilesAndKeepsSidecarsHidden) {
  testing::TempDir dir;
  auto store = LocalFolderStore::OpenFolder(dir.path() + "/root/");
  ASSERT_TRUE(store.ok()) << store.status();
  auto writer = (*store)->Create("m/2024/x.json", {.content_type = "application/json"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("{}").ok());
  EXPECT_FALSE(Exists(dir.path() + "/root/m/2024/x.json")) << "visible before Close()";
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_TRUE(Exists(dir.path() + "/root/m/2024/x.json"));
  EXPECT_TRUE(Exists(dir.path() + "/root/.zarc-meta/m/2024/x.json"));
  EXPECT_EQ((*store)->Uri("m/2024/x.json"), absl::StrCat("file://", dir.path(), "/root/m/2024/x.json"));
  auto listed = (*store)->List("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "m/2024/x.json");
  // Second writer after Close() fails, and Write after Close() too.
  EXPECT_TRUE(absl::IsFailedPrecondition((*writer)->Write("more")));
}

TEST(LocalFolderStoreTest, PathTraversalNamesAreRefused) {
  testing::TempDir dir;
  auto store = LocalFolderStore::OpenFolder(dir.path() + "/root");
  ASSERT_TRUE(store.ok());
  for (const char* name : {"../escape", "a/../../escape", "/etc/passwd", "a//b", "./a", "a\\..\\b",
                           ".zarc-tmp/x", "new\nline"}) {
    EXPECT_TRUE(absl::IsInvalidArgument((*store)->Create(name, {}).status())) << name;
    EXPECT_TRUE(absl::IsInvalidArgument((*store)->Open(name).status())) << name;
    EXPECT_TRUE(absl::IsInvalidArgument((*store)->Delete(name))) << name;
  }
  EXPECT_FALSE(Exists(dir.path() + "/escape"));
}

TEST(LocalFolderStoreTest, MissingSidecarIsRecomputedFromTheFile) {
  testing::TempDir dir;
  auto store = LocalFolderStore::OpenFolder(dir.path());
  ASSERT_TRUE(store.ok());
  // As after a crash between commit and sidecar: the blob file alone.
  ASSERT_EQ(::mkdir((dir.path() + "/a").c_str(), 0755), 0);
  std::ofstream(dir.path() + "/a/b") << "payload";
  auto info = (*store)->Stat("a/b");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->sha256, crypto::Sha256Hex("payload"));
  EXPECT_EQ(info->size, 7u);
  EXPECT_EQ(info->content_type, "application/octet-stream");
  EXPECT_TRUE(Exists(dir.path() + "/.zarc-meta/a/b"));
}

TEST(LocalFolderStoreTest, AbandonedWriterLeavesNoTemporaryFile) {
  testing::TempDir dir;
  auto store = LocalFolderStore::OpenFolder(dir.path());
  ASSERT_TRUE(store.ok());
  {
    auto writer = (*store)->Create("x", {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("partial").ok());
  }
  EXPECT_EQ(::rmdir((dir.path() + "/.zarc-tmp").c_str()), 0) << "temporary folder not empty";
  EXPECT_FALSE(Exists(dir.path() + "/x"));
}

TEST(LocalFolderStoreTest, RelativeRootIsRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(LocalFolderStore::OpenFolder("relative/path").status()));
}

}  // namespace
}  // namespace zarc::blob
