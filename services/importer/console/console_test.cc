// The console without a network: HandleConsoleRequest with sources in memory, as the browser
// would see each page; one test through the real server on 127.0.0.1.

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/http_client.h"
#include "runtime/json/json.h"
#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "services/importer/console/console_figures.h"
#include "services/importer/console/console_server.h"

namespace zarc::importer::console {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kDay1 = 1709647200;  // 2024-03-05 14:00 UTC

zarc::v1::ImportResult Result(const std::string& item, const std::string& mailbox,
                              zarc::v1::ImportOutcome outcome, const std::string& reason = "") {
  zarc::v1::ImportResult r;
  r.set_item_id(item);
  r.set_mailbox(mailbox);
  r.set_source_user("host@corp.example");
  r.set_outcome(outcome);
  r.set_reason(reason);
  r.set_target("eml");
  r.set_size(1234);
  r.set_artifacts_out_of_line(1);
  r.mutable_completed_at()->set_seconds(kDay1);
  return r;
}

struct Fixture {
  std::vector<zarc::v1::ImportResult> results = {
      Result("acct/m1/1", "alice@corp.example", zarc::v1::IMPORT_OUTCOME_IMPORTED),
      Result("acct/m1/1", "bob@corp.example", zarc::v1::IMPORT_OUTCOME_FAILED,
             "=HYPERLINK(\"http://evil\") <script>alert(1)</script>"),
  };
  std::vector<zarc::v1::SyncRequest> syncs;
  ConsoleSources sources;
  ConsoleConfig config;

  Fixture() {
    config.enabled = true;
    sources.load_log = [this](StatusLog* log) {
      for (const auto& r : results) log->Add(r);
      return absl::OkStatus();
    };
    sources.completeness = []() -> absl::StatusOr<zarc::v1::VerifyReport> {
      return absl::NotFoundError("no report");
    };
    sources.status = [] {
      ConnectorStatus s;
      s.process = "zarc run";
      s.version = "zarc 0.1.0";
      s.rows = {{"Scheduled poll", "unknown (test)"}};
      s.errors = {"the mapper stage stopped"};
      return s;
    };
  }
  http::ServerResponse Get(const std::string& path, const std::string& query = "",
                           http::Headers headers = {}, const std::string& remote = "127.0.0.1:5000") {
    http::ServerRequest r{.method = "GET", .path = path, .query = query, .headers = std::move(headers),
                          .remote_address = remote};
    return HandleConsoleRequest(r, config, sources);
  }
};

std::string Header(const http::ServerResponse& r, const std::string& name) {
  return http::FindHeader(r.headers, name).value_or("");
}

TEST(ConsoleTest, PagesAreSelfContainedAccessibleHtml) {
  Fixture f;
  for (const std::string path : {"/", "/days", "/completeness", "/downloads"}) {
    http::ServerResponse r = f.Get(path);
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr("<html lang=\"en\">")) << path;
    EXPECT_THAT(r.body, HasSubstr("<style>")) << path;
    EXPECT_THAT(r.body, Not(HasSubstr("<script"))) << path;
    EXPECT_THAT(r.body, Not(HasSubstr("src=\"http"))) << path;
    EXPECT_THAT(r.body, Not(HasSubstr("href=\"http"))) << path;
    EXPECT_THAT(Header(r, "Content-Security-Policy"), HasSubstr("default-src 'none'"));
    EXPECT_THAT(Header(r, "Content-Type"), HasSubstr("text/html"));
  }
  const std::string status = f.Get("/").body;
  EXPECT_THAT(status, HasSubstr("<th scope=\"row\">Scheduled poll</th><td>unknown (test)</td>"));
  EXPECT_THAT(status, HasSubstr("the mapper stage stopped"));
  EXPECT_THAT(f.Get("/completeness").body, HasSubstr("No completeness check has run yet"));
}

TEST(ConsoleTest, DaysShowTheStatusLogFiguresAndDrillDownToEachItem) {
  Fixture f;
  const std::string days = f.Get("/days").body;
  EXPECT_THAT(days, HasSubstr("<tr data-day=\"2024-03-05\"><th scope=\"row\"><a href=\"/day?d=2024-03-05\">"));
  EXPECT_THAT(days, HasSubstr("<td class=\"n\" data-field=\"available_for_import\">2</td>"));
  EXPECT_THAT(days, HasSubstr("<td class=\"n\" data-field=\"imported\">1</td>"));
  EXPECT_THAT(days, HasSubstr("<td class=\"n\" data-field=\"failed\">1</td>"));
  // What came from outside is escaped, never markup.
  EXPECT_THAT(days, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(days, Not(HasSubstr("<script>alert")));

  const std::string day = f.Get("/day", "d=2024-03-05").body;
  EXPECT_THAT(day, HasSubstr("<td>alice@corp.example</td><td>imported</td>"));
  EXPECT_THAT(day, HasSubstr("<td>bob@corp.example</td><td>failed</td>"));
  EXPECT_THAT(day, HasSubstr("data-field=\"artifacts_out_of_line\">1</td>"));
  EXPECT_EQ(f.Get("/day", "d=yesterday").status, 400);
  EXPECT_EQ(f.Get("/nothing").status, 404);
}

// Issue 17: the item's page lists each mailbox's outcome and each artifact with the SHA-256
// the status log's JSON gives for it.
TEST(ConsoleTest, AnItemsPageListsItsMailboxesAndEachArtifactWithItsSha256) {
  Fixture f;
  const std::string sha = crypto::Sha256Hex("the recording");
  for (auto& r : f.results) {
    zarc::v1::ItemArtifact* a = r.add_artifacts();
    a->set_name("shared_screen <1>.mp4");
    a->set_kind(zarc::v1::ARTIFACT_KIND_VIDEO);
    a->set_size(52428800);
    a->set_sha256(sha);
    a->set_attached(false);
  }
  const std::string day = f.Get("/day", "d=2024-03-05").body;
  EXPECT_THAT(day, HasSubstr("<td><a href=\"/item?id=acct%2Fm1%2F1\">acct/m1/1</a></td>"));

  http::ServerResponse item = f.Get("/item", "id=acct%2Fm1%2F1");
  ASSERT_EQ(item.status, 200) << item.body;
  EXPECT_THAT(item.body, HasSubstr("<td>alice@corp.example</td><td>imported</td>"));
  EXPECT_THAT(item.body, HasSubstr("<td>bob@corp.example</td><td>failed</td><td>=HYPERLINK"));
  EXPECT_THAT(item.body, HasSubstr("<tr data-artifact=\"shared_screen &lt;1&gt;.mp4\"><td>shared_screen "
                                   "&lt;1&gt;.mp4</td><td>video</td><td class=\"n\" "
                                   "data-field=\"size\">52428800</td><td data-field=\"sha256\"><code>" +
                                   sha + "</code></td><td>referenced"));
  // Listed once, though both mailboxes carry it.
  size_t count = 0;
  for (size_t at = item.body.find(sha); at != std::string::npos; at = item.body.find(sha, at + 1)) ++count;
  EXPECT_EQ(count, 1u);
  EXPECT_THAT(item.body, Not(HasSubstr("<script>")));

  absl::StatusOr<json::Value> log = json::Parse(f.Get("/download/status.json").body, "status.json");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(json::String(json::Array(*log, "artifacts").at(0), "sha256"), sha);
  http::ServerResponse csv = f.Get("/download/artifacts.csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_THAT(csv.body, HasSubstr("acct/m1/1,shared_screen <1>.mp4,video,52428800," + sha + ",referenced"));
  EXPECT_THAT(f.Get("/downloads").body, HasSubstr("href=\"/download/artifacts.csv\""));

  EXPECT_EQ(f.Get("/item", "id=acct%2Fnone%2F1").status, 404);
  EXPECT_EQ(f.Get("/item").status, 400);
}

TEST(ConsoleTest, DownloadsAreOneFormulaSafeCsvPerTableAndJson) {
  Fixture f;
  http::ServerResponse failed = f.Get("/download/failed.csv");
  ASSERT_EQ(failed.status, 200);
  EXPECT_THAT(Header(failed, "Content-Type"), HasSubstr("text/csv"));
  EXPECT_THAT(Header(failed, "Content-Disposition"), HasSubstr("filename=\"failed.csv\""));
  EXPECT_THAT(failed.body, HasSubstr("\"'=HYPERLINK(\"\"http://evil\"\") <script>"));
  EXPECT_EQ(f.Get("/download/days.csv").body,
            "day,available_from_source,available_for_import,imported,partially_imported,skipped,"
            "failed\r\n2024-03-05,1,2,1,0,0,1\r\n");
  EXPECT_THAT(f.Get("/download/not_delivered.csv").body, HasSubstr("day,item_id,address,rule,reason"));
  EXPECT_EQ(f.Get("/download/status.json").body, RenderJson(BuildStatusReport(f.results)));
  EXPECT_EQ(f.Get("/download/everything.csv").status, 404);
}

TEST(ConsoleTest, MappingAndBackfillAreOfferedOnlyWhereReachable) {
  Fixture f;
  EXPECT_EQ(f.Get("/mapping").status, 404);
  EXPECT_EQ(f.Get("/backfill").status, 404);
  EXPECT_THAT(f.Get("/").body, Not(HasSubstr("/mapping")));

  f.sources.resolve = [](const zarc::v1::ResolveRequest& req) -> absl::StatusOr<zarc::v1::ResolveResponse> {
    zarc::v1::ResolveResponse resp;
    auto* r = resp.add_results();
    r->set_address(req.addresses(0));
    r->set_rule(zarc::v1::MAPPING_RULE_EXTERNAL);
    r->set_reason("outside the tenant's domains");
    return resp;
  };
  f.sources.sync = [&f](const zarc::v1::SyncRequest& req) -> absl::StatusOr<zarc::v1::SyncResponse> {
    f.syncs.push_back(req);
    zarc::v1::SyncResponse resp;
    resp.set_sync_id("abc123");
    return resp;
  };
  EXPECT_THAT(f.Get("/mapping").body, HasSubstr("<label for=\"address\">"));
  const std::string answer = f.Get("/mapping", "address=guest%40partner.example").body;
  EXPECT_THAT(answer, HasSubstr("<td>guest@partner.example</td><td>external (not delivered)</td>"));

  http::ServerRequest post{.method = "POST", .path = "/backfill",
                           .headers = {{"Sec-Fetch-Site", "same-origin"}},
                           .body = "from=2024-03-01&to=2024-03-05", .remote_address = "127.0.0.1:1"};
  http::ServerResponse started = HandleConsoleRequest(post, f.config, f.sources);
  EXPECT_EQ(started.status, 200) << started.body;
  EXPECT_THAT(started.body, HasSubstr("Backfill abc123 started"));
  ASSERT_EQ(f.syncs.size(), 1u);
  EXPECT_EQ(f.syncs[0].from().seconds(), 1709251200);  // 2024-03-01 00:00 UTC

  post.headers = {{"Sec-Fetch-Site", "cross-site"}};
  EXPECT_EQ(HandleConsoleRequest(post, f.config, f.sources).status, 403);
  post.headers = {};
  post.body = "from=2024-03-05&to=2024-03-01";
  EXPECT_EQ(HandleConsoleRequest(post, f.config, f.sources).status, 400);
  EXPECT_EQ(f.syncs.size(), 1u);
  http::ServerRequest put{.method = "PUT", .path = "/days"};
  EXPECT_EQ(HandleConsoleRequest(put, f.config, f.sources).status, 405);
}

TEST(ConsoleTest, TokenAuthRefusesRequestsWithoutCredentialsAndKeepsBackfillForAdmins) {
  Fixture f;
  f.sources.sync = [](const zarc::v1::SyncRequest&) -> absl::StatusOr<zarc::v1::SyncResponse> {
    return zarc::v1::SyncResponse();
  };
  f.config.auth = "token";
  f.config.viewer_secret = "viewer-s3cret";
  f.config.admin_secret = "admin-s3cret";
  http::ServerResponse none = f.Get("/days");
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(Header(none, "WWW-Authenticate"), HasSubstr("Bearer"));
  EXPECT_EQ(f.Get("/download/days.csv").status, 401);
  EXPECT_EQ(f.Get("/days", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  http::ServerResponse viewer = f.Get("/days", "", {{"Authorization", "Bearer viewer-s3cret"}});
  EXPECT_EQ(viewer.status, 200);
  EXPECT_THAT(viewer.body, Not(HasSubstr("s3cret")));
  EXPECT_THAT(viewer.body, Not(HasSubstr("/backfill")));
  EXPECT_EQ(f.Get("/backfill", "", {{"Authorization", "Bearer viewer-s3cret"}}).status, 403);
  EXPECT_EQ(f.Get("/backfill", "", {{"Authorization", "Bearer admin-s3cret"}}).status, 200);
}

TEST(ConsoleTest, BasicAuthNamesTheRole) {
  Fixture f;
  f.config.auth = "basic";
  f.config.viewer_secret = "pw-viewer";
  auto basic = [](const std::string& userpass) {
    return http::Headers{{"Authorization", "Basic " + crypto::Base64Encode(userpass)}};
  };
  EXPECT_THAT(Header(f.Get("/"), "WWW-Authenticate"), HasSubstr("Basic realm"));
  EXPECT_EQ(f.Get("/", "", basic("viewer:pw-viewer")).status, 200);
  EXPECT_EQ(f.Get("/", "", basic("admin:pw-viewer")).status, 401);
  EXPECT_EQ(f.Get("/", "", basic("viewer:nope")).status, 401);
  EXPECT_EQ(f.Get("/", "", {{"Authorization", "Basic !!!"}}).status, 401);
}

TEST(ConsoleTest, ProxyHeaderIsBelievedOnlyFromTheProxy) {
  Fixture f;
  f.sources.sync = [](const zarc::v1::SyncRequest&) -> absl::StatusOr<zarc::v1::SyncResponse> {
    return zarc::v1::SyncResponse();
  };
  f.config.auth = "proxy";
  f.config.proxy_addresses = {"10.0.0.7"};
  const http::Headers admin = {{"X-Forwarded-User", "carol@corp.example"},
                               {"X-Forwarded-Groups", "staff, zarc-admins"}};
  EXPECT_EQ(f.Get("/", "", admin, "10.0.0.8:4000").status, 403);
  EXPECT_EQ(f.Get("/", "", {}, "10.0.0.7:4000").status, 401);
  http::ServerResponse ok = f.Get("/backfill", "", admin, "[::ffff:10.0.0.7]:4000");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_THAT(ok.body, HasSubstr("Signed in as carol@corp.example (admin)"));
  EXPECT_EQ(f.Get("/backfill", "", {{"X-Forwarded-User", "dave"}}, "10.0.0.7:1").status, 403);
}

TEST(ConsoleTest, ConfigurationRefusesAnOpenConsoleBeyondLocalhost) {
  auto load = [](std::vector<std::string> args) {
    return ConsoleSchema().Load(config::Sources{.args = std::move(args)});
  };
  EXPECT_TRUE(load({"--console.enabled=true"}).ok());
  absl::StatusOr<ConsoleConfig> open = load({"--console.enabled=true", "--console.listen_address=0.0.0.0"});
  EXPECT_FALSE(open.ok());
  EXPECT_THAT(open.status().message(), HasSubstr("set console.auth"));
  EXPECT_FALSE(load({"--console.enabled=true", "--console.auth=token"}).ok());
  EXPECT_FALSE(load({"--console.enabled=true", "--console.auth=proxy"}).ok());
  EXPECT_TRUE(load({"--console.enabled=true", "--console.listen_address=0.0.0.0", "--console.auth=token",
                    "--console.admin_secret=x"}).ok());
}

TEST(ConsoleTest, ServesOnItsOwnPort) {
  Fixture f;
  f.config.port = 0;
  f.config.auth = "token";
  f.config.viewer_secret = "t0ken";
  absl::StatusOr<std::unique_ptr<ConsoleServer>> server = ConsoleServer::Start(f.config, f.sources);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  auto client = http::NewHttpClient();
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/days";
  absl::StatusOr<http::ClientResponse> refused = client->Send({.method = "GET", .url = url});
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 401);
  absl::StatusOr<http::ClientResponse> ok =
      client->Send({.method = "GET", .url = url, .headers = {{"Authorization", "Bearer t0ken"}}});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_THAT(ok->body, HasSubstr("data-field=\"imported\">1</td>"));
}

// The status page's lag row against a real (mock) Kafka cluster with zarc's topics: records no
// group has committed are each stage's lag, stage by stage.
TEST(ConsoleFiguresTest, LagPerStageIsEachGroupsUncommittedRecords) {
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster = kafka::EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const kafka::KafkaConfig config = kafka::testing::FastTestConfig((*cluster)->bootstrap_servers());
  std::vector<std::string> errors;
  EXPECT_EQ(LagPerStage(config, absl::Seconds(5), &errors),
            "converter 0 · mapper 0 · importer 0 · ledger 0 records not processed yet");
  EXPECT_TRUE(errors.empty());

  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE((*producer)
                  ->ProduceAndWait({{.topic = "zarc.messages", .key = "a", .value = "1"},
                                    {.topic = "zarc.messages", .key = "b", .value = "2"},
                                    {.topic = "zarc.import-log", .key = "c", .value = "3"}},
                                   absl::Seconds(10))
                  .ok());
  EXPECT_EQ(LagPerStage(config, absl::Seconds(5), &errors),
            "converter 0 · mapper 2 · importer 0 · ledger 1 records not processed yet");
  EXPECT_TRUE(errors.empty());
  cluster->reset();  // a broker that is gone: unknown, and why
  EXPECT_THAT(LagPerStage(config, absl::Seconds(1), &errors), HasSubstr("converter unknown"));
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_THAT(errors[0], HasSubstr("lag of converter (group zarc-converter on zarc.meetings)"));
}

TEST(ConsoleFiguresTest, LastWebhookSaysWhenAndHowLongAgo) {
  zarc::v1::SyncStatus status;
  const absl::Time now = absl::FromUnixSeconds(1764658800);  // 2025-12-02 07:00:00 UTC
  EXPECT_EQ(LastWebhook(status, now), "none since the fetcher started");
  status.mutable_last_webhook_at()->set_seconds(1764658800 - 95);
  EXPECT_EQ(LastWebhook(status, now), "2025-12-02 06:58:25 UTC (1m35s ago)");
}

}  // namespace
}  // namespace zarc::importer::console
