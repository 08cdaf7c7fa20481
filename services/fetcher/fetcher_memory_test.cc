// A 1 GiB recording goes from the Zoom simulator (its own process) to the staging store through
// the fetcher (another process) with peak RSS growth under 64 MB.
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/json/json.h"
#include "runtime/testing/subprocess.h"

namespace zarc::fetcher {
namespace {

using testing::Subprocess;

TEST(FetcherMemoryTest, OneGibRecordingStreamsIntoStagingInBoundedMemory) {
  testing::TempDir dir;
  const std::string manifest = dir.path() + "/manifest.json";
  auto sim = Subprocess::Start({.argv = {testing::BinPath("zarc-zoom-sim"), "--port=0", "--seed=3",
                                         "--users=1", "--meetings=1", "--days=1",
                                         "--from=2024-03-04", "--recording-bytes=1073741824",
                                         "--manifest-out=" + manifest},
                                .merge_stderr = true});
  ASSERT_TRUE(sim.ok()) << sim.status();
  absl::StatusOr<std::string> line = (*sim)->WaitForLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  const std::string base = line->substr(line->find("http://"));

  std::stringstream text;
  text << std::ifstream(manifest).rdbuf();
  absl::StatusOr<json::Value> m = json::Parse(text.str(), "manifest");
  ASSERT_TRUE(m.ok()) << m.status();
  std::string video_sha;
  for (const json::Value& meeting : json::Array(*m, "meetings")) {
    for (const json::Value& f : json::Array(meeting, "files")) {
      if (json::String(f, "file_type") == "MP4" && !json::Bool(f, "archive")) {
        EXPECT_EQ(json::Int(f, "size"), 1073741824);
        video_sha = json::String(f, "sha256");
      }
    }
  }
  ASSERT_FALSE(video_sha.empty());

  const int64_t from = 1709510400;  // 2024-03-04
  auto probe = Subprocess::Start(
      {.argv = {testing::TestBinPath("fetcher_download_probe"), base, json::String(*m, "account_id"),
                dir.path() + "/staging", std::to_string(from), std::to_string(from + 3 * 86400)}});
  ASSERT_TRUE(probe.ok()) << probe.status();
  absl::StatusOr<int> code = (*probe)->Wait(absl::Seconds(240));
  const std::string out = (*probe)->ReadRemaining(absl::Seconds(5));
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("artifact " + video_sha + " 1073741824"));
  const size_t at = out.find("peak_rss_growth=");
  ASSERT_NE(at, std::string::npos) << out;
  uint64_t growth = 0;
  ASSERT_TRUE(absl::SimpleAtoi(out.substr(at + 16, out.find('\n', at) - at - 16), &growth));
  EXPECT_LT(growth, 64u << 20) << "peak RSS grew by " << growth << " bytes";
  std::printf("1 GiB recording: fetcher peak RSS growth %llu bytes\n",
              static_cast<unsigned long long>(growth));
}

}  // namespace
}  // namespace zarc::fetcher
