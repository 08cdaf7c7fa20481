// The commands a newcomer and an operator type: `zarc demo` archives a tenant and says where to
// look; `zarc doctor` finds a wrong credential and says how to fix it; usage errors exit 2.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
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
