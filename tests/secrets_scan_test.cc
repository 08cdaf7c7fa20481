// No secret leaves the process: `zarc run` archives a small tenant from the Zoom simulator with
// distinctive secret values configured, and neither its log (stdout and stderr), nor a metrics
// scrape, nor any file it wrote under its data folder contains one of them. Its gRPC control
// plane requires a bearer token: calls without it and with a wrong one are refused, and neither
// token is written anywhere either.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/http/http_client.h"
#include "runtime/json/json.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using testing::ReadFile;
using testing::RunCommand;

constexpr char kAccount[] = "acct-secrets";
// The simulator accepts only its own client secret; the others are distinctive values that
// zarc is given but must never write anywhere.
// The last two are the gRPC bearer token and a wrong one a client sends.
const std::vector<std::string> kSecrets = {"zarc-sim-secret", "whsec-Qx7vLm2Rk9Tz4Wp",
                                           "imap-pw-Hn3Jd8Fs6Gb1Vc", "graph-secret-Yt5Ue0Io2Pa7",
                                           "grpc-token-Mv8Kc3Zq1Lx6", "grpc-wrong-Pz4Ns7Bd2Hw9"};

std::string Scrape(int port) {
  auto response = http::NewHttpClient()->Send(
      {.url = absl::StrCat("http://127.0.0.1:", port, "/metrics")});
  return response.ok() ? response->body : "";
}

TEST(SecretsScanTest, NoSecretInLogsMetricsOrAnyFileWritten) {
  testing::TempDir dir;
  const std::string manifest_path = dir.path() + "/manifest.json";
  std::unique_ptr<testing::Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=7", "--users=3", "--meetings=6", "--days=2", "--from=2024-03-04",
       "--recording-bytes=1024", "--audio-bytes=512", "--archive-bytes=512", "--plan=unlimited",
       std::string("--account-id=") + kAccount, "--manifest-out=" + manifest_path},
      dir.path() + "/zoom-sim.log", &zoom);
  ASSERT_TRUE(zoom_url.ok()) << zoom_url.status();
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const int64_t pairs = testing::Pairs(testing::ExpectedFromManifest(*manifest));
  ASSERT_GT(pairs, 0);

  const std::string data = dir.path() + "/data";
  const std::string token_file = dir.path() + "/grpc-token";
  const std::string wrong_token_file = dir.path() + "/grpc-wrong-token";
  std::ofstream(token_file) << kSecrets[4] << "\n";
  std::ofstream(wrong_token_file) << kSecrets[5] << "\n";
  const std::string log_path = dir.path() + "/zarc-run.log";
  testing::ZarcRunProcess run(
      {"--run.data_dir=" + data, "--importer.target=eml", "--mapper.mode=csv-only",
       "--mapper.tenant_domains=" + json::String(*manifest, "domain"), "--fetcher.poll_interval=0",
       "--zoom.api_url=" + *zoom_url + "/v2", "--zoom.oauth_url=" + *zoom_url + "/oauth/token",
       std::string("--zoom.account_id=") + kAccount, "--zoom.client_id=zarc-sim-client",
       "--zoom.retry_backoff=100ms"},
      {{"ZARC_ZOOM_CLIENT_SECRET", kSecrets[0]},
       {"ZARC_FETCHER_WEBHOOK_SECRET", kSecrets[1]},
       {"ZARC_IMAP_PASSWORD", kSecrets[2]},
       {"ZARC_GRAPH_CLIENT_SECRET", kSecrets[3]},
       {"ZARC_GRPC_AUTH_TOKEN_FILE", token_file}},
      log_path);
  ASSERT_TRUE(run.Start().ok()) << testing::TailOf(log_path);
  const std::vector<std::string> sync = {testing::BinPath("zarc"), "sync", "--from=2024-03-04",
                                         "--to=2024-03-07",
                                         absl::StrCat("--fetcher=127.0.0.1:", run.grpc_port())};
  auto [no_token_code, no_token_out] = RunCommand(sync, absl::Seconds(60));
  EXPECT_EQ(no_token_code, 1) << no_token_out;
  EXPECT_TRUE(absl::StrContains(no_token_out, "requires a bearer token")) << no_token_out;
  std::vector<std::string> wrong = sync;
  wrong.push_back("--auth-token-file=" + wrong_token_file);
  auto [wrong_code, wrong_out] = RunCommand(wrong, absl::Seconds(60));
  EXPECT_EQ(wrong_code, 1) << wrong_out;
  EXPECT_TRUE(absl::StrContains(wrong_out, "is not this zarc service's")) << wrong_out;
  std::vector<std::string> with_token = sync;
  with_token.push_back("--auth-token-file=" + token_file);
  auto [sync_code, sync_out] = RunCommand(with_token, absl::Seconds(120));
  ASSERT_EQ(sync_code, 0) << sync_out;
  const std::string mailboxes = data + "/mailboxes";
  for (absl::Time deadline = absl::Now() + absl::Seconds(120);
       testing::Count(testing::ReadEmlMailboxes(mailboxes)) < pairs && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(testing::Count(testing::ReadEmlMailboxes(mailboxes)), pairs) << testing::TailOf(log_path);
  // A config error path too: zarc prints its configuration masked.
  auto [config_code, config_out] =
      RunCommand({testing::BinPath("zarc"), "run", "--run.data_dir=/nonexistent\x01", "--bogus.key=1"},
                 absl::Seconds(30));
  const std::string metrics = Scrape(run.metrics_port());
  ASSERT_FALSE(metrics.empty());
  run.Stop(SIGTERM);

  std::vector<std::pair<std::string, std::string>> scanned = {
      {"zarc run log", ReadFile(log_path)}, {"metrics scrape", metrics},
      {"sync output", sync_out}, {"config error output", config_out},
      {"sync output without a token", no_token_out}, {"sync output with a wrong token", wrong_out}};
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data)) {
    if (!e.is_regular_file()) continue;
    ++files;
    scanned.emplace_back(e.path().string(), ReadFile(e.path().string()));
  }
  ASSERT_GT(files, pairs);
  for (const auto& [where, text] : scanned) {
    for (const std::string& secret : kSecrets) {
      EXPECT_FALSE(absl::StrContains(text, secret)) << secret << " found in " << where;
    }
  }
  std::printf("scanned %d files, the log, a metrics scrape and command output for %zu secrets\n",
              files, kSecrets.size());
}

}  // namespace
}  // namespace zarc
