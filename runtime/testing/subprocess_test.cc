#include "runtime/testing/subprocess.h"

#include <signal.h>

#include <vector>

#include "gtest/gtest.h"

namespace zarc::testing {
namespace {

TEST(SubprocessTest, ReadsLinesAndExitCode) {
  auto p = Subprocess::Start({.argv = {"/bin/sh", "-c", "echo one; echo ready port=42; exit 3"}});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::string> line = (*p)->WaitForLine("ready", absl::Seconds(5));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "ready port=42");
  EXPECT_EQ(*(*p)->Wait(absl::Seconds(5)), 3);
}

TEST(SubprocessTest, SignalReportsTheSignal) {
  auto p = Subprocess::Start({.argv = {"/bin/sleep", "30"}});
  ASSERT_TRUE(p.ok());
  (*p)->Signal(SIGTERM);
  EXPECT_EQ(*(*p)->Wait(absl::Seconds(5)), 128 + SIGTERM);
}

TEST(SubprocessTest, PeakRssSeesAnAllocation) {
  const uint64_t before = PeakRssBytes();
  std::vector<char> big(128 << 20, 1);
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = 2;
  EXPECT_GE(PeakRssBytes(), before + (100u << 20));
  EXPECT_EQ(big[4096], 2);
}

}  // namespace
}  // namespace zarc::testing
