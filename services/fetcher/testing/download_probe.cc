// Test helper: captures every meeting of a Zoom (simulator) account into a staging folder and
// reports this process's peak RSS growth, so a test can bound the memory a multi-GB download
// costs without counting its own allocations.
//   download_probe ZOOM_BASE_URL ACCOUNT_ID STAGING_DIR FROM_UNIX TO_UNIX
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "runtime/testing/subprocess.h"
#include "services/fetcher/fetcher.h"
#include "services/fetcher/fetcher_app.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s ZOOM_BASE_URL ACCOUNT_ID STAGING_DIR FROM_UNIX TO_UNIX\n", argv[0]);
    return 2;
  }
  const std::string base = argv[1];
  auto config = zarc::fetcher::FetcherSchema().Load(zarc::config::Sources{});
  if (!config.ok()) return 2;
  config->zoom_api_url = base + "/v2";
  config->zoom_oauth_url = base + "/oauth/token";
  config->zoom_account_id = argv[2];
  config->zoom_client_id = "zarc-sim-client";
  config->zoom_client_secret = "zarc-sim-secret";
  config->staging.url = std::string("file://") + argv[3];
  config->poll_interval = absl::ZeroDuration();
  std::mutex mutex;
  std::vector<zarc::v1::MeetingCaptured> events;
  auto app = zarc::fetcher::FetcherApp::Create(*config, nullptr,
                                               [&](const zarc::v1::MeetingCaptured& e) {
                                                 std::lock_guard<std::mutex> lock(mutex);
                                                 events.push_back(e);
                                                 return absl::OkStatus();
                                               });
  if (!app.ok()) {
    std::fprintf(stderr, "%s\n", std::string(app.status().message()).c_str());
    return 1;
  }
  const uint64_t before = zarc::testing::PeakRssBytes();
  zarc::fetcher::SyncProgress progress;
  absl::Status s = (*app)->fetcher().SyncRange(absl::FromUnixSeconds(std::atoll(argv[4])),
                                                 absl::FromUnixSeconds(std::atoll(argv[5])), false,
                                                 progress, zarc::v1::CAPTURE_SOURCE_SYNC);
  const uint64_t after = zarc::testing::PeakRssBytes();
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  for (const auto& e : events) {
    for (const auto& a : e.artifacts()) {
      std::printf("artifact %s %llu\n", a.blob().sha256().c_str(),
                  static_cast<unsigned long long>(a.blob().size()));
    }
  }
  std::printf("peak_rss_growth=%llu\n", static_cast<unsigned long long>(after - before));
  return 0;
}
