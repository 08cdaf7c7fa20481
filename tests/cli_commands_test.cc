// The commands a newcomer and an operator type: `zarc demo` archives a tenant and says where to
// look; `zarc doctor` finds a wrong credential and says how to fix it; usage errors exit 2.
#include <arpa/inet.h>
#include <signal.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/testing/subprocess.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Subprocess;

std::pair<int, std::string> Zarc(std::vector<std::string> args, const std::string& cwd = "") {
  std::vector<std::string> argv = {testing::BinPath("zarc")};
  argv.insert(argv.end(), args.begin(), args.end());
  if (!cwd.empty()) {
    argv = {"/bin/sh", "-c", "cd '" + cwd + "' && exec \"$0\" \"$@\"", argv[0]};
    argv.insert(argv.end(), args.begin(), args.end());
  }
  auto p = Subprocess::Start({.argv = argv, .merge_stderr = true});
  if (!p.ok()) return {-1, std::string(p.status().message())};
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(240));
  return {code.ok() ? *code : -1, (*p)->ReadRemaining(absl::Seconds(5))};
}

TEST(ZarcCommandsTest, DemoArchivesATenantAndSaysWhereToLook) {
  testing::TempDir dir;
  auto [code, out] = Zarc({"demo", "--meetings=6", "--users=4", "--days=3"}, dir.path());
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("Captured 6 of 6 meetings"));
  EXPECT_THAT(out, HasSubstr("available  for-import  imported"));
  EXPECT_THAT(out, HasSubstr("Where to look:"));
  int eml = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path() + "/zarc-data/mailboxes")) {
    eml += f.path().extension() == ".eml" && f.path().string().find("/Inbox/Zoom Meetings/") != std::string::npos;
  }
  EXPECT_GT(eml, 6);  // several participants per meeting

  // Run again: nothing is delivered twice.
  auto [again, again_out] = Zarc({"demo", "--meetings=6", "--users=4", "--days=3"}, dir.path());
  ASSERT_EQ(again, 0) << again_out;
  EXPECT_THAT(again_out, HasSubstr("6 already archived by an earlier run"));
  int eml_again = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path() + "/zarc-data/mailboxes")) {
    eml_again += f.path().extension() == ".eml" && f.path().string().find("/Inbox/Zoom Meetings/") != std::string::npos;
  }
  EXPECT_EQ(eml_again, eml);
}

TEST(ZarcCommandsTest, DoctorFindsAWrongSecretAndSaysHowToFixIt) {
  testing::TempDir dir;
  auto sim = Subprocess::Start({.argv = {testing::BinPath("zarc-zoom-sim"), "--port=0", "--users=2",
                                         "--meetings=2", "--account-id=acct-doctor"},
                                .merge_stderr = true});
  ASSERT_TRUE(sim.ok()) << sim.status();
  absl::StatusOr<std::string> line = (*sim)->WaitForLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  const std::string url = line->substr(line->find("http://"));
  const std::vector<std::string> base = {
      "doctor", "--zoom.api_url=" + url + "/v2", "--zoom.oauth_url=" + url + "/oauth/token",
      "--zoom.account_id=acct-doctor", "--zoom.client_id=zarc-sim-client",
      "--run.data_dir=" + dir.path(), "--mapper.mode=csv-only"};

  std::vector<std::string> good = base;
  good.push_back("--zoom.client_secret=zarc-sim-secret");
  auto [ok_code, ok_out] = Zarc(good);
  EXPECT_EQ(ok_code, 0) << ok_out;
  EXPECT_THAT(ok_out, HasSubstr("ok Zoom token and API access"));
  EXPECT_THAT(ok_out, HasSubstr("ok staging blob store writable"));
  EXPECT_THAT(ok_out, HasSubstr("not checked (fetcher.webhook_secret not set"));

  std::vector<std::string> bad = base;
  bad.push_back("--zoom.client_secret=wrong-secret");
  auto [bad_code, bad_out] = Zarc(bad);
  EXPECT_EQ(bad_code, 3) << bad_out;
  EXPECT_THAT(bad_out, HasSubstr("!! Zoom Server-to-Server OAuth token"));
  EXPECT_THAT(bad_out, HasSubstr("fix: check zoom.account_id, zoom.client_id and zoom.client_secret"));
  EXPECT_THAT(bad_out, ::testing::Not(HasSubstr("wrong-secret")));  // never echo a secret
}

// zarc doctor says whether the account has the Archiving API, and calls it a problem only when
// fetcher.sources asks for archive files the account cannot give.
TEST(ZarcCommandsTest, DoctorSaysWhetherTheAccountHasTheArchivingApi) {
  testing::TempDir dir;
  for (const bool archiving : {true, false}) {
    auto sim = Subprocess::Start(
        {.argv = {testing::BinPath("zarc-zoom-sim"), "--port=0", "--users=2", "--meetings=2",
                  "--account-id=acct-doctor",
                  std::string("--archiving=") + (archiving ? "true" : "false")},
         .merge_stderr = true});
    ASSERT_TRUE(sim.ok()) << sim.status();
    absl::StatusOr<std::string> line = (*sim)->WaitForLine("listening on", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    const std::string url = line->substr(line->find("http://"));
    auto doctor = [&](const std::string& sources) {
      return Zarc({"doctor", "--zoom.api_url=" + url + "/v2",
                   "--zoom.oauth_url=" + url + "/oauth/token", "--zoom.account_id=acct-doctor",
                   "--zoom.client_id=zarc-sim-client", "--zoom.client_secret=zarc-sim-secret",
                   "--run.data_dir=" + dir.path(), "--mapper.mode=csv-only",
                   "--fetcher.sources=" + sources});
    };
    auto [auto_code, auto_out] = doctor("auto");
    EXPECT_EQ(auto_code, 0) << auto_out;
    auto [both_code, both_out] = doctor("both");
    auto [rec_code, rec_out] = doctor("recordings");
    EXPECT_EQ(rec_code, 0) << rec_out;
    if (archiving) {
      EXPECT_THAT(auto_out, HasSubstr("ok Zoom Archiving API: on; fetcher.sources=auto captures "
                                      "cloud recordings and archive files"));
      EXPECT_EQ(both_code, 0) << both_out;
      EXPECT_THAT(rec_out, HasSubstr("ok Zoom Archiving API: on, but fetcher.sources=recordings"));
    } else {
      EXPECT_THAT(auto_out, HasSubstr("ok Zoom Archiving API: off (Zoom: "));
      EXPECT_THAT(auto_out, HasSubstr("zarc captures cloud recordings only"));
      EXPECT_EQ(both_code, 3) << both_out;
      EXPECT_THAT(both_out, HasSubstr("!! Zoom Archiving API: fetcher.sources=both but the "
                                      "account has no Archiving API"));
      EXPECT_THAT(both_out, HasSubstr("fix: set fetcher.sources=auto or recordings"));
    }
  }
}

// The addresses sockets listen on for `port`, as the kernel reports them (/proc/net/tcp and
// tcp6: local address in hex, state 0A is LISTEN). IPv4 in dotted form (a v4-mapped IPv6 address
// too), "*" for every address (0.0.0.0 or ::), other IPv6 in hex.
std::set<std::string> ListeningAddresses(int port) {
  std::set<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 4 || f[3] != "0A") continue;
      std::vector<std::string> local = absl::StrSplit(f[1], ':');
      uint32_t p = 0;
      if (local.size() != 2 || !absl::SimpleHexAtoi(local[1], &p) || static_cast<int>(p) != port) continue;
      std::string hex = local[0];
      if (hex.size() == 32) {
        if (hex == std::string(32, '0')) {
          out.insert("*");
          continue;
        }
        if (hex.substr(0, 24) != "0000000000000000FFFF0000") {
          out.insert(hex);
          continue;
        }
        hex = hex.substr(24);
      }
      uint32_t addr = 0;
      if (!absl::SimpleHexAtoi(hex, &addr)) continue;
      in_addr a{.s_addr = addr};  // /proc prints the raw bytes as one host-order word
      const std::string dotted = inet_ntoa(a);
      out.insert(dotted == "0.0.0.0" ? "*" : dotted);
    }
  }
  return out;
}

// The machine's IPv4 addresses other than loopback.
std::vector<std::string> NonLoopbackAddresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const in_addr a = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr;
    if ((ntohl(a.s_addr) >> 24) == 127) continue;
    out.push_back(inet_ntoa(a));
  }
  freeifaddrs(list);
  return out;
}

// 0 when a TCP connection to address:port is accepted, else the errno.
int Connect(const std::string& address, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  const int rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  const int err = rc == 0 ? 0 : errno;
  close(fd);
  return err;
}

// Issue 17: one machine is not a server farm. A default `zarc run` serves gRPC (plaintext) and
// metrics on loopback only; the container (Dockerfile CMD) says --listen.address=0.0.0.0.
TEST(ZarcCommandsTest, RunListensOnLoopbackUnlessToldOtherwise) {
  testing::TempDir dir;
  auto start = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {testing::BinPath("zarc"), "run", "--grpc.port=0",
                                     "--metrics.port=0", "--run.data_dir=" + dir.path() + "/data",
                                     "--fetcher.poll_interval=0", "--fetcher.webhook_port=0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Subprocess::Start({.argv = argv, .merge_stderr = true});
  };
  auto run = start({});
  ASSERT_TRUE(run.ok()) << run.status();
  absl::StatusOr<std::string> line = (*run)->WaitForLine("listening grpc_port", absl::Seconds(60));
  ASSERT_TRUE(line.ok()) << line.status() << "\n" << (*run)->output();
  const int grpc_port = testing::PortFrom(*line, "grpc_port");
  const int metrics_port = testing::PortFrom(*line, "metrics_port");
  ASSERT_GT(grpc_port, 0) << *line;
  ASSERT_GT(metrics_port, 0) << *line;
  EXPECT_EQ(ListeningAddresses(grpc_port), std::set<std::string>{"127.0.0.1"});
  EXPECT_EQ(ListeningAddresses(metrics_port), std::set<std::string>{"127.0.0.1"});
  EXPECT_EQ(Connect("127.0.0.1", grpc_port), 0);
  for (const std::string& address : NonLoopbackAddresses()) {
    EXPECT_EQ(Connect(address, grpc_port), ECONNREFUSED) << address;
    EXPECT_EQ(Connect(address, metrics_port), ECONNREFUSED) << address;
  }
  (*run)->Signal(SIGTERM);
  const std::string said = (*run)->output() + (*run)->ReadRemaining(absl::Seconds(60));
  ASSERT_TRUE((*run)->Wait(absl::Seconds(10)).ok());
  EXPECT_THAT(said, Not(HasSubstr("beyond loopback")));  // nothing to warn about

  // The address the container gives: every address, with the warning that says so.
  auto wide = start({"--listen.address=0.0.0.0"});
  ASSERT_TRUE(wide.ok()) << wide.status();
  line = (*wide)->WaitForLine("listening grpc_port", absl::Seconds(60));
  ASSERT_TRUE(line.ok()) << line.status() << "\n" << (*wide)->output();
  EXPECT_EQ(ListeningAddresses(testing::PortFrom(*line, "grpc_port")), std::set<std::string>{"*"});
  (*wide)->Signal(SIGTERM);
  const std::string wide_said = (*wide)->output() + (*wide)->ReadRemaining(absl::Seconds(60));
  ASSERT_TRUE((*wide)->Wait(absl::Seconds(10)).ok());
  EXPECT_THAT(wide_said, HasSubstr("plaintext and unauthenticated beyond loopback"));
}

TEST(ZarcCommandsTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Zarc({"frobnicate"}).first, 2);
  EXPECT_EQ(Zarc({"sync", "--from=2024-03-05", "--to=2024-03-01"}).first, 2);
  EXPECT_EQ(Zarc({"log", "--format=xml", "--brokers=127.0.0.1:1"}).first, 2);
  auto [code, out] = Zarc({"--help"});
  EXPECT_EQ(code, 0);
  EXPECT_THAT(out, HasSubstr("doctor"));
}

TEST(ZarcCommandsTest, VersionNamesTheCommitAndTheBuildDate) {
  for (const std::string form : {"--version", "version"}) {
    auto [code, out] = Zarc({form});
    EXPECT_EQ(code, 0) << out;
    EXPECT_THAT(out, ::testing::ContainsRegex("^zarc [0-9]+\\.[0-9]+\\.[0-9]+\n"));
    EXPECT_THAT(out, ::testing::ContainsRegex("git commit: [0-9a-f]{40}"));
    EXPECT_THAT(out, ::testing::ContainsRegex("build date: [0-9]{4}-[0-9]{2}-[0-9]{2}"));
  }
  EXPECT_EQ(Zarc({"version", "--extra"}).first, 2);
}

TEST(ZarcCommandsTest, HealthFailsWhenNothingAnswers) {
  auto [code, out] = Zarc({"health", "--address=127.0.0.1:1", "--timeout=2"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("127.0.0.1:1 did not answer"));
  EXPECT_EQ(Zarc({"health"}).first, 2);
}

// Every command answers -h and --help with its usage on standard output and exit code 0.
TEST(ZarcCommandsTest, EveryCommandTakesDashHAndDashDashHelp) {
  for (const std::string command : {"demo", "run", "fetcher", "converter", "mapper", "importer",
                                    "sync", "log", "verify", "doctor", "health", "dlq"}) {
    for (const std::string flag : {"-h", "--help"}) {
      auto [code, out] = Zarc({command, flag});
      EXPECT_EQ(code, 0) << "zarc " << command << " " << flag << ":\n" << out;
      EXPECT_THAT(out, HasSubstr("usage")) << "zarc " << command << " " << flag;
    }
  }
}

TEST(ZarcCommandsTest, LogCsvWritesOneTablePerFileOrPerTableFlag) {
  auto [neither, neither_out] = Zarc({"log", "--format=csv", "--importer=127.0.0.1:1"});
  EXPECT_EQ(neither, 2);
  EXPECT_THAT(neither_out, HasSubstr("--table days|failed|not_delivered|partially_imported"));
  EXPECT_EQ(Zarc({"log", "--format=csv", "--table=days", "--output-dir=/tmp/x",
                  "--importer=127.0.0.1:1"}).first, 2);
  auto [bad, bad_out] = Zarc({"log", "--format=csv", "--table=all", "--importer=127.0.0.1:1"});
  EXPECT_EQ(bad, 2);
  EXPECT_THAT(bad_out, HasSubstr("\"all\" is not one of days, failed, not_delivered"));
  EXPECT_EQ(Zarc({"log", "--format=json", "--table=days", "--importer=127.0.0.1:1"}).first, 2);
}

}  // namespace
}  // namespace zarc
