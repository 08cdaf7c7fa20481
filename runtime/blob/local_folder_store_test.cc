#include "runtime/blob/local_folder_store.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
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
  // The metadata is on the file where the file system keeps user extended attributes, else in
  // a hidden sidecar; never both.
  char value[256];
  const ssize_t n = ::getxattr((dir.path() + "/root/m/2024/x.json").c_str(), "user.zarc", value,
                               sizeof value);
  if (n > 0) {
    EXPECT_EQ(std::string(value, n), crypto::Sha256Hex("{}") + "\napplication/json");
    EXPECT_FALSE(Exists(dir.path() + "/root/.zarc-meta/m/2024/x.json"));
  } else {
    EXPECT_TRUE(Exists(dir.path() + "/root/.zarc-meta/m/2024/x.json"));
  }
  auto info = (*store)->Stat("m/2024/x.json");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->content_type, "application/json");
  EXPECT_EQ(info->sha256, crypto::Sha256Hex("{}"));
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
  // The repair is kept (on the file, or in a sidecar): the file is not hashed again.
  char value[256];
  EXPECT_TRUE(::getxattr((dir.path() + "/a/b").c_str(), "user.zarc", value, sizeof value) > 0 ||
              Exists(dir.path() + "/.zarc-meta/a/b"));
}

// Folders written before the metadata moved onto the files keep their sidecars, which are read.
TEST(LocalFolderStoreTest, ASidecarOfAnOlderStoreIsRead) {
  testing::TempDir dir;
  auto store = LocalFolderStore::OpenFolder(dir.path());
  ASSERT_TRUE(store.ok());
  ASSERT_EQ(::mkdir((dir.path() + "/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir.path() + "/.zarc-meta/a").c_str(), 0755), 0);
  std::ofstream(dir.path() + "/a/b") << "payload";
  std::ofstream(dir.path() + "/.zarc-meta/a/b") << crypto::Sha256Hex("payload") << "\nvideo/mp4\n";
  auto info = (*store)->Stat("a/b");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->content_type, "video/mp4");
  ASSERT_TRUE((*store)->Move("a/b", "c/d").ok());
  info = (*store)->Stat("c/d");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->content_type, "video/mp4");
  EXPECT_EQ(info->sha256, crypto::Sha256Hex("payload"));
  EXPECT_FALSE(Exists(dir.path() + "/.zarc-meta/a/b"));
}

// Writers landing blobs in one folder while Moves out of it prune the folder when it empties
// (the fetcher's downloads into .incoming/ at fetcher.concurrency 16): every write and every
// move succeeds.
TEST(LocalFolderStoreTest, ConcurrentWritesAndMovesThroughOneFolderAllSucceed) {
  testing::TempDir dir;
  auto store = LocalFolderStore::OpenFolder(dir.path());
  ASSERT_TRUE(store.ok());
  constexpr int kThreads = 16, kEach = 150;
  std::atomic<int> failures{0};
  std::string first_error;
  absl::Mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string name = absl::StrCat("in/.incoming/", t, "-", i);
        absl::Status s;
        auto writer = (*store)->Create(name, {});
        s = writer.ok() ? (*writer)->Write("x") : writer.status();
        if (s.ok()) s = (*writer)->Close();
        if (s.ok()) s = (*store)->Move(name, absl::StrCat("out/", t, "-", i));
        if (!s.ok()) {
          ++failures;
          absl::MutexLock lock(&mu);
          if (first_error.empty()) first_error = s.ToString();
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << first_error;
  auto moved = (*store)->List("out/");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->size(), static_cast<size_t>(kThreads * kEach));
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
