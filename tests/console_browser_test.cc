// The web console as an admin's browser sees it: zarc run archives a small simulated tenant with
// the console on (basic auth, the password from a _FILE secret), headless Chromium renders the
// pages, and the figures it shows are those of `zarc log --format json`; the status page shows
// when the last signed webhook arrived and each stage's consumer-group lag. A screenshot is
// taken, and a request without credentials is refused.
#include <signal.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/json/json.h"
#include "runtime/testing/subprocess.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFile;
using testing::Subprocess;

constexpr char kFrom[] = "2024-03-01";
constexpr char kTo[] = "2024-03-04";
constexpr char kPassword[] = "console-test-password";
constexpr char kWebhookSecret[] = "whsec-console";

// Chromium is part of the test environment (scripts/install-deps.sh): missing is a failure.
std::string ChromiumPath() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

// Headless Chromium with nothing that reaches outside hosts, a fresh profile each time.
std::pair<int, std::string> Chromium(const std::string& profile_root, std::vector<std::string> args) {
  static int n = 0;
  const std::string profile = absl::StrCat(profile_root, "/chromium-profile-", n++);
  std::filesystem::create_directories(profile);
  std::vector<std::string> argv = {ChromiumPath(), "--headless", "--no-sandbox", "--disable-gpu",
                                   "--disable-quic", "--no-first-run", "--disable-background-networking",
                                   "--disable-component-update", "--disable-sync",
                                   "--user-data-dir=" + profile};
  argv.insert(argv.end(), args.begin(), args.end());
  // Chromium's own chatter goes to stderr; only the DOM is wanted.
  std::vector<std::string> shell = {"/bin/sh", "-c", "exec \"$@\" 2>>'" + profile_root + "/chromium.log'",
                                    "sh"};
  shell.insert(shell.end(), argv.begin(), argv.end());
  return testing::RunCommand(shell, absl::Seconds(90));
}

// The port after `key=` on the first log line holding `marker`, once the log has it.
int PortInLog(const std::string& log_path, const std::string& marker, const std::string& key) {
  for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;) {
    const std::string text = ReadFile(log_path);
    const size_t line = text.find(marker);
    const size_t at = line == std::string::npos ? line : text.find(key + "=", line);
    if (at != std::string::npos) return testing::PortFrom(text.substr(at), key);
    absl::SleepFor(absl::Milliseconds(100));
  }
  return 0;
}
int ConsolePort(const std::string& log_path) {
  return PortInLog(log_path, "console_port=", "console_port");
}

// The value of the status page's row `what`.
std::string Row(const std::string& dom, const std::string& what) {
  std::smatch m;
  const std::regex row("<th scope=\"row\">" + what + "</th><td>([^<]*)</td>");
  return std::regex_search(dom, m, row) ? std::string(m[1]) : "(no row " + what + ")";
}

// Each stage's lag in the "Lag per stage" row (-1 where it says unknown).
std::map<std::string, int64_t> Lags(const std::string& row) {
  std::map<std::string, int64_t> out;
  const std::regex part("(converter|mapper|importer|ledger) ([0-9]+|unknown)");
  for (auto p = std::sregex_iterator(row.begin(), row.end(), part); p != std::sregex_iterator(); ++p) {
    out[(*p)[1]] = (*p)[2] == "unknown" ? -1 : std::stoll((*p)[2]);
  }
  return out;
}

// day -> field -> number, from the rows <tr data-day="D"> ... <td ... data-field="F">N</td>.
std::map<std::string, std::map<std::string, int64_t>> DaysFromDom(const std::string& dom) {
  std::map<std::string, std::map<std::string, int64_t>> out;
  const std::regex row("<tr data-day=\"([0-9-]{10})\">(.*?)</tr>");
  const std::regex cell("data-field=\"([a-z_]+)\">([0-9]+)</td>");
  for (auto r = std::sregex_iterator(dom.begin(), dom.end(), row); r != std::sregex_iterator(); ++r) {
    const std::string cells = (*r)[2];
    for (auto c = std::sregex_iterator(cells.begin(), cells.end(), cell); c != std::sregex_iterator(); ++c) {
      out[(*r)[1]][(*c)[1]] = std::stoll((*c)[2]);
    }
  }
  return out;
}

TEST(ConsoleBrowserTest, ChromiumShowsTheFiguresOfZarcLogAndCredentialsAreRequired) {
  ASSERT_FALSE(ChromiumPath().empty())
      << "headless Chromium is needed: scripts/install-deps.sh installs Debian's chromium";
  testing::TempDir dir;
  const std::string manifest_path = dir.path() + "/manifest.json";
  std::unique_ptr<Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=7", "--users=4", "--meetings=6", "--days=3", std::string("--from=") + kFrom,
       "--recording-bytes=512", "--audio-bytes=256", "--archive-bytes=256", "--plan=unlimited",
       std::string("--webhook-secret=") + kWebhookSecret,
       "--account-id=acct-console", "--log-level=warn", "--manifest-out=" + manifest_path},
      dir.path() + "/zoom-sim.log", &zoom);
  ASSERT_TRUE(zoom_url.ok()) << zoom_url.status();
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const int64_t expected_pairs = testing::Pairs(testing::ExpectedFromManifest(*manifest));
  ASSERT_GT(expected_pairs, 0);

  // The password comes from a file, the way Kubernetes mounts a Secret.
  const std::string secret_file = dir.path() + "/console-viewer-secret";
  std::ofstream(secret_file) << kPassword << "\n";
  testing::ZarcRunProcess run(
      {"--run.data_dir=" + dir.path() + "/data", "--importer.target=eml", "--mapper.mode=csv-only",
       "--mapper.tenant_domains=" + json::String(*manifest, "domain"), "--fetcher.poll_interval=0",
       // One source, so the webhook and the sync give one version per meeting (counted below).
       "--fetcher.sources=recordings",
       "--zoom.api_url=" + *zoom_url + "/v2", "--zoom.oauth_url=" + *zoom_url + "/oauth/token",
       "--zoom.account_id=acct-console", "--zoom.client_id=zarc-sim-client",
       "--console.enabled=true", "--console.port=0", "--console.auth=basic",
       "--fetcher.webhook_port=0"},
      {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"},
       {"ZARC_FETCHER_WEBHOOK_SECRET", kWebhookSecret},
       {"ZARC_CONSOLE_VIEWER_SECRET_FILE", secret_file}},
      dir.path() + "/zarc-run.log");
  absl::Status started = run.Start();
  ASSERT_TRUE(started.ok()) << started;
  const int console_port = ConsolePort(run.log_path());
  ASSERT_GT(console_port, 0) << testing::TailOf(run.log_path());
  EXPECT_THAT(ReadFile(run.log_path()), Not(HasSubstr(kPassword)));  // secrets are never logged
  const std::string base = absl::StrCat("http://127.0.0.1:", console_port);
  const std::string authed = absl::StrCat("http://viewer:", kPassword, "@127.0.0.1:", console_port);
  auto status_page = [&]() {
    return testing::RunCommand({"/usr/bin/curl", "-s", "--max-time", "20", "-u",
                                std::string("viewer:") + kPassword, base + "/"},
                               absl::Seconds(30)).second;
  };
  EXPECT_EQ(Row(status_page(), "Last webhook"), "none since the fetcher started");

  // A webhook Zoom signed (the simulator builds it) for one of the tenant's meetings.
  const int webhook_port = PortInLog(run.log_path(), "webhook endpoint listening", "port");
  ASSERT_GT(webhook_port, 0) << testing::TailOf(run.log_path());
  const std::string uuid = json::String(json::Array(*manifest, "meetings")[0], "uuid");
  auto [built_code, built_out] = testing::RunCommand(
      {"/usr/bin/curl", "-s", "--max-time", "20", "-X", "POST", "-H", "Content-Type: application/json",
       "--data-binary", "{\"event\":\"recording.completed\",\"meeting_uuid\":\"" + uuid + "\"}",
       *zoom_url + "/_sim/webhooks/build"},
      absl::Seconds(30));
  ASSERT_EQ(built_code, 0) << built_out;
  absl::StatusOr<json::Value> built = json::Parse(built_out, "built webhook");
  ASSERT_TRUE(built.ok()) << built.status() << ": " << built_out;
  std::vector<std::string> fire = {"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                   "--max-time", "20", "-X", "POST"};
  const json::Value headers = json::Object(*built, "headers");  // outlives the loop
  for (const auto& [k, v] : headers.AsObject()) {
    fire.push_back("-H");
    fire.push_back(k + ": " + v.AsString());
  }
  fire.push_back("--data-binary");
  fire.push_back(json::String(*built, "body"));
  fire.push_back(absl::StrCat("http://127.0.0.1:", webhook_port, "/zoom/webhook"));
  const absl::Time fired = absl::Now();
  auto [fire_code, fire_status] = testing::RunCommand(fire, absl::Seconds(30));
  ASSERT_EQ(fire_code, 0);
  ASSERT_EQ(fire_status, "200") << testing::TailOf(run.log_path());
  const std::string last_webhook = Row(status_page(), "Last webhook");
  absl::Time shown_at;
  std::string parse_error;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%d %H:%M:%S UTC", last_webhook.substr(0, 23), &shown_at,
                              &parse_error))
      << last_webhook << ": " << parse_error;
  EXPECT_LE(absl::AbsDuration(shown_at - fired), absl::Seconds(5)) << last_webhook;

  auto [sync_code, sync_out] = testing::RunCommand(
      {testing::BinPath("zarc"), "sync", std::string("--from=") + kFrom, std::string("--to=") + kTo,
       absl::StrCat("--fetcher=127.0.0.1:", run.grpc_port())},
      absl::Seconds(120));
  ASSERT_EQ(sync_code, 0) << sync_out;
  absl::StatusOr<json::Value> log = absl::UnknownError("not read");
  for (absl::Time deadline = absl::Now() + absl::Seconds(120); absl::Now() < deadline;) {
    log = run.StatusLog();
    if (log.ok() && testing::SumDays(*log, "available_for_import") >= expected_pairs) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(testing::SumDays(*log, "available_for_import"), expected_pairs)
      << testing::TailOf(run.log_path());

  // What helm test's pods run: zarc health against the gRPC port.
  auto [health_code, health_out] = testing::RunCommand(
      {testing::BinPath("zarc"), "health", absl::StrCat("--address=127.0.0.1:", run.grpc_port())},
      absl::Seconds(30));
  EXPECT_EQ(health_code, 0) << health_out;
  EXPECT_THAT(health_out, HasSubstr("SERVING"));

  // Without credentials: refused. The browser gets nothing to show (it would ask for a password);
  // curl sees the 401 and its challenge.
  auto [refused_code, refused] = Chromium(dir.path(), {"--dump-dom", base + "/days"});
  ASSERT_EQ(refused_code, 0) << refused;
  EXPECT_THAT(refused, Not(HasSubstr("data-day=")));
  auto [curl_code, curl_out] =
      testing::RunCommand({"/usr/bin/curl", "-s", "-i", "--max-time", "20", base + "/days"}, absl::Seconds(30));
  ASSERT_EQ(curl_code, 0) << curl_out;
  EXPECT_THAT(curl_out, ::testing::StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(curl_out, HasSubstr("WWW-Authenticate: Basic realm=\"zarc console\""));
  EXPECT_THAT(curl_out, HasSubstr("this console needs credentials"));
  EXPECT_THAT(curl_out, Not(HasSubstr("data-day=")));
  auto [wrong_code, wrong_out] = testing::RunCommand(
      {"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "viewer:wrong", base + "/days"},
      absl::Seconds(30));
  EXPECT_EQ(wrong_out, "401");

  // With them: the figures per day are zarc log's, field by field.
  auto [dom_code, dom] = Chromium(dir.path(), {"--dump-dom", authed + "/days"});
  ASSERT_EQ(dom_code, 0) << dom;
  const auto shown = DaysFromDom(dom);
  const std::vector<json::Value> days = json::Array(*log, "days");
  ASSERT_FALSE(days.empty());
  ASSERT_EQ(shown.size(), days.size()) << dom;
  for (const json::Value& d : days) {
    const std::string day = json::String(d, "day");
    ASSERT_TRUE(shown.count(day)) << day << " is not on the console:\n" << dom;
    for (const char* field : {"available_from_source", "available_for_import", "imported",
                              "partially_imported", "skipped", "failed"}) {
      EXPECT_EQ(shown.at(day).at(field), json::Int(d, field)) << day << " " << field;
    }
  }

  // A day's items: one row per delivery of that day.
  const std::string first_day = json::String(days[0], "day");
  auto [day_code, day_dom] = Chromium(dir.path(), {"--dump-dom", authed + "/day?d=" + first_day});
  ASSERT_EQ(day_code, 0);
  EXPECT_THAT(day_dom, HasSubstr("Items of " + first_day));
  EXPECT_THAT(day_dom, HasSubstr("<td>imported</td>"));

  // An item's drill-down (issue 17): each artifact with the SHA-256 `zarc log --format json`
  // gives for it, and that SHA-256 is the one of the bytes the archive keeps under it.
  const std::vector<json::Value> artifacts = json::Array(*log, "artifacts");
  ASSERT_FALSE(artifacts.empty()) << "zarc log --format json lists no artifacts";
  const json::Value& artifact = artifacts[0];
  const std::string item_id = json::String(artifact, "item_id");
  const std::string sha = json::String(artifact, "sha256");
  ASSERT_TRUE(std::regex_match(sha, std::regex("[0-9a-f]{64}"))) << sha;
  auto [artifact_day_code, artifact_day_dom] =
      Chromium(dir.path(), {"--dump-dom", authed + "/day?d=" + json::String(artifact, "day")});
  ASSERT_EQ(artifact_day_code, 0);
  ASSERT_THAT(artifact_day_dom, HasSubstr(">" + item_id + "</a>")) << "the day page links no item";
  std::string item_query;
  for (unsigned char c : item_id) {
    item_query += std::isalnum(c) || c == '-' || c == '.' || c == '_' ? std::string(1, static_cast<char>(c))
                                                                      : absl::StrFormat("%%%02X", c);
  }
  auto [item_code, item_dom] = Chromium(dir.path(), {"--dump-dom", authed + "/item?id=" + item_query});
  ASSERT_EQ(item_code, 0);
  EXPECT_THAT(item_dom, HasSubstr("Item " + item_id));
  EXPECT_THAT(item_dom, HasSubstr("<td>imported</td>"));
  EXPECT_THAT(item_dom, HasSubstr("<td data-field=\"sha256\"><code>" + sha + "</code></td>"));
  auto [sum_code, sum_out] = testing::RunCommand(
      {"/bin/sh", "-c", "cat \"$(find '" + dir.path() + "/data' -path '*/staging/sha256/" + sha +
                            "' -not -path '*/.zarc-meta/*' -type f | head -n 1)\" | sha256sum"},
      absl::Seconds(30));
  ASSERT_EQ(sum_code, 0) << sum_out;
  EXPECT_EQ(sum_out.substr(0, 64), sha) << "the staging store has no file of that SHA-256";
  int64_t total_artifacts = 0;
  for (const json::Value& a : artifacts) total_artifacts += json::String(a, "item_id") == item_id;
  size_t rows = 0;
  for (size_t at = item_dom.find("<tr data-artifact="); at != std::string::npos;
       at = item_dom.find("<tr data-artifact=", at + 1)) {
    ++rows;
  }
  EXPECT_EQ(static_cast<int64_t>(rows), total_artifacts) << item_dom;

  // The status page says what it knows, and what it does not.
  auto [status_code, status_dom] = Chromium(dir.path(), {"--dump-dom", authed + "/"});
  ASSERT_EQ(status_code, 0);
  EXPECT_THAT(status_dom, HasSubstr("zarc run"));
  EXPECT_THAT(status_dom, HasSubstr("Scheduled poll"));
  EXPECT_THAT(Row(status_dom, "Last webhook"), HasSubstr(last_webhook.substr(0, 23)));
  // Every stage has consumed what it was given: each group's lag goes to 0 once its commits
  // land (they follow the results by up to the commit interval).
  std::map<std::string, int64_t> lags = Lags(Row(status_dom, "Lag per stage"));
  for (absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;) {
    lags = Lags(Row(status_page(), "Lag per stage"));
    if (lags.size() == 4 && lags["converter"] == 0 && lags["mapper"] == 0 &&
        lags["importer"] == 0 && lags["ledger"] == 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_EQ(lags, (std::map<std::string, int64_t>{{"converter", 0}, {"ledger", 0}, {"importer", 0}, {"mapper", 0}}))
      << Row(status_page(), "Lag per stage");

  // A picture of the status log, as an admin would see it.
  const std::string png = dir.path() + "/console-days.png";
  auto [shot_code, shot_out] = Chromium(
      dir.path(), {"--screenshot=" + png, "--window-size=1280,900", authed + "/days"});
  ASSERT_EQ(shot_code, 0) << shot_out;
  const std::string image = ReadFile(png);
  ASSERT_GT(image.size(), 1000u);
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  // zarc log's CSV, one table per file, is what the console offers for download.
  const std::string csv_dir = dir.path() + "/csv";
  auto [csv_code, csv_out] = testing::RunCommand(
      {testing::BinPath("zarc"), "log", absl::StrCat("--importer=127.0.0.1:", run.grpc_port()),
       "--format=csv", "--output-dir=" + csv_dir},
      absl::Seconds(60));
  ASSERT_EQ(csv_code, 0) << csv_out;
  for (const std::string table : {"days", "failed", "not_delivered", "artifacts"}) {
    const std::string file = ReadFile(csv_dir + "/" + table + ".csv");
    EXPECT_THAT(file, ::testing::StartsWith("day,")) << table;
    auto [table_code, table_out] = testing::RunCommand(
        {testing::BinPath("zarc"), "log", absl::StrCat("--importer=127.0.0.1:", run.grpc_port()),
         "--format=csv", "--table=" + table},
        absl::Seconds(60));
    EXPECT_EQ(table_code, 0);
    EXPECT_EQ(table_out, file) << table;
  }
}

}  // namespace
}  // namespace zarc
