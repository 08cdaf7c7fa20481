// The whole pipeline across processes, checked from the outside the way an auditor would: a
// devbroker, Azurite, Dovecot, the Zoom and Graph simulators and the four stages as separate
// processes archive a generated tenant; then every mapped participant's INBOX/Zoom Meetings must
// hold exactly the expected items, each message must parse and carry every artifact, the status
// log must account for everyone and add up, a webhook must bring a new meeting in without a poll,
// the metrics the dashboards and alerts use must exist, and `zarc run` must give the same items.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/blob/azurite_fixture.h"
#include "runtime/http/http_client.h"
#include "runtime/json/json.h"
#include "runtime/testing/subprocess.h"
#include "services/converter/renderer.h"
#include "services/importer/testing/dovecot_fixture.h"
#include "simulators/graph/directory.h"
#include "simulators/zoom/tenant.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using testing::PortFrom;
using testing::ReadFile;
using testing::RunCommand;
using testing::Service;
using testing::StartService;
using testing::Subprocess;

constexpr char kAzuriteKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
constexpr char kWebhookSecret[] = "whsec-e2e";
constexpr char kDomain[] = "example-corp.com";

// The expected outcome, worked out independently of zarc from the simulators' own data: which
// mailbox each address lands in (Graph: mail or any smtp proxy address, enabled, with a mailbox;
// only the tenant's domain), and so which items each mailbox must hold.
class Expectation {
 public:
  Expectation(const graph_sim::Directory& directory) {
    for (const graph_sim::GraphUser& u : directory.users) {
      if (!u.account_enabled || u.mail.empty()) continue;
      const std::string mailbox = absl::AsciiStrToLower(u.mail);
      mailboxes_.insert(mailbox);
      route_[mailbox] = mailbox;
      for (std::string p : u.proxy_addresses) {
        p = absl::AsciiStrToLower(p);
        if (absl::StartsWith(p, "smtp:")) route_[p.substr(5)] = mailbox;
      }
    }
  }
  // Mailboxes a meeting's addresses reach.
  std::set<std::string> MailboxesFor(const std::set<std::string>& addresses) const {
    std::set<std::string> out;
    for (const std::string& a : addresses) {
      if (!absl::EndsWith(a, std::string("@") + kDomain)) continue;
      auto it = route_.find(a);
      if (it != route_.end()) out.insert(it->second);
    }
    return out;
  }
  const std::set<std::string>& mailboxes() const { return mailboxes_; }

 private:
  std::map<std::string, std::string> route_;
  std::set<std::string> mailboxes_;
};

struct MeetingFacts {
  std::string uuid;
  std::set<std::string> addresses;  // host and participants, lowercased
  std::set<std::string> artifacts;  // SHA-256 of every recording file
};

std::vector<MeetingFacts> FactsFromManifest(const json::Value& manifest) {
  std::map<std::string, std::string> user_email;
  for (const json::Value& u : json::Array(manifest, "users")) {
    user_email[json::String(u, "id")] = absl::AsciiStrToLower(json::String(u, "email"));
  }
  std::vector<MeetingFacts> out;
  for (const json::Value& m : json::Array(manifest, "meetings")) {
    MeetingFacts f;
    f.uuid = json::String(m, "uuid");
    if (auto it = user_email.find(json::String(m, "host_id")); it != user_email.end()) {
      f.addresses.insert(it->second);
    }
    for (const json::Value& p : json::Array(m, "participants")) {
      const std::string e = absl::AsciiStrToLower(json::String(p, "user_email"));
      if (!e.empty()) f.addresses.insert(e);
    }
    for (const json::Value& file : json::Array(m, "files")) {
      if (!json::Bool(file, "archive")) f.artifacts.insert(json::String(file, "sha256"));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string MessageIdOf(const std::string& account, const std::string& uuid) {
  return converter::MessageIdFor(account, uuid, 1, "zarc.archive");
}

absl::StatusOr<json::Value> Audit(std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/python3", testing::SourcePath("tests/e2e/audit_mailbox.py")};
  for (std::string& a : args) argv.push_back(std::move(a));
  auto [code, out] = RunCommand(argv, absl::Seconds(60));
  if (code != 0) return absl::InternalError("audit_mailbox.py failed: " + out);
  return json::Parse(out, "mailbox audit");
}

absl::StatusOr<json::Value> StatusLog(const std::vector<std::string>& where) {
  std::vector<std::string> argv = {testing::BinPath("zarc"), "log", "--format=json"};
  argv.insert(argv.end(), where.begin(), where.end());
  auto [code, out] = RunCommand(argv, absl::Seconds(60));
  if (code != 0) return absl::InternalError("zarc log failed: " + out);
  return json::Parse(out.substr(out.find('{')), "zarc log --format=json");
}

int64_t Sum(const json::Value& log, const char* field) {
  int64_t n = 0;
  for (const json::Value& d : json::Array(log, "days")) n += json::Int(d, field);
  return n;
}

// Waits until the status log shows `deliveries` results (deliveries plus unmappable items).
absl::StatusOr<json::Value> WaitForLog(const std::vector<std::string>& where, int64_t deliveries,
                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<json::Value> log = absl::DeadlineExceededError("no status log read yet");
  while (absl::Now() < deadline) {
    log = StatusLog(where);
    if (log.ok() && Sum(*log, "available_for_import") >= deliveries) return log;
    absl::SleepFor(absl::Seconds(1));
  }
  if (!log.ok()) return log.status();
  return absl::DeadlineExceededError(absl::StrCat("status log shows ", Sum(*log, "available_for_import"),
                                                  " results, expected ", deliveries, ": ",
                                                  json::Serialize(*log)));
}

std::set<std::string> MessageIds(const json::Value& audit) {
  std::set<std::string> ids;
  for (const json::Value& m : json::Array(audit, "messages")) ids.insert(json::String(m, "message_id"));
  return ids;
}

std::string Scrape(int port) {
  static std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  http::ClientRequest req;
  req.url = absl::StrCat("http://127.0.0.1:", port, "/metrics");
  absl::StatusOr<http::ClientResponse> resp = client->Send(req);
  return resp.ok() ? resp->body : "";
}

absl::StatusOr<http::ClientResponse> PostJson(const std::string& url, const std::string& body) {
  static std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  http::ClientRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = body;
  return client->Send(req);
}

TEST(EndToEndTest, AGeneratedTenantIsArchivedCompletelyAcrossProcesses) {
  testing::TempDir dir;
  zoom_sim::TenantOptions tenant_options;
  tenant_options.seed = 11;
  tenant_options.users = 6;
  tenant_options.meetings = 12;
  tenant_options.days = 5;
  const zoom_sim::Tenant tenant = zoom_sim::GenerateTenant(tenant_options);
  const graph_sim::Directory directory = graph_sim::DirectoryForZoomTenant(tenant);
  const Expectation expectation(directory);

  // The real parts and the simulators.
  auto broker = Subprocess::Start({.argv = {testing::BinPath("zarc-devbroker")}});
  ASSERT_TRUE(broker.ok()) << broker.status();
  absl::StatusOr<std::string> bootstrap_line =
      (*broker)->WaitForLine("bootstrap.servers=", absl::Seconds(30));
  ASSERT_TRUE(bootstrap_line.ok()) << bootstrap_line.status();
  const std::string bootstrap = bootstrap_line->substr(bootstrap_line->find('=') + 1);

  absl::StatusOr<std::unique_ptr<blob::AzuriteProcess>> azurite = blob::AzuriteProcess::Start();
  ASSERT_TRUE(azurite.ok()) << azurite.status();

  std::vector<std::pair<std::string, std::string>> users;
  for (const std::string& m : expectation.mailboxes()) users.push_back({m, "pw"});
  auto dovecot = importer::testing::DovecotProcess::Start({.users = users});
  ASSERT_TRUE(dovecot.ok()) << dovecot.status();

  const std::string manifest_path = dir.path() + "/manifest.json";
  auto zoom = Subprocess::Start(
      {.argv = {testing::BinPath("zarc-zoom-sim"), "--port=0", "--seed=11", "--users=6",
                "--meetings=12", "--days=5", "--from=2024-03-04", "--manifest-out=" + manifest_path,
                std::string("--webhook-secret=") + kWebhookSecret},
       .merge_stderr = true});
  ASSERT_TRUE(zoom.ok()) << zoom.status();
  absl::StatusOr<std::string> zoom_line = (*zoom)->WaitForLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(zoom_line.ok()) << zoom_line.status();
  const std::string zoom_url = zoom_line->substr(zoom_line->find("http://"));

  auto graph = Subprocess::Start({.argv = {testing::BinPath("zarc-graph-sim"), "--port=0",
                                           "--zoom-seed=11", "--zoom-users=6"},
                                  .merge_stderr = true});
  ASSERT_TRUE(graph.ok()) << graph.status();
  absl::StatusOr<std::string> graph_line = (*graph)->WaitForLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(graph_line.ok()) << graph_line.status();
  const std::string graph_url = graph_line->substr(graph_line->find("http://"));

  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const std::string account = json::String(*manifest, "account_id");
  const std::vector<MeetingFacts> meetings = FactsFromManifest(*manifest);
  ASSERT_EQ(meetings.size(), 12u);
  ASSERT_EQ(meetings[0].uuid, tenant.meetings[0].uuid) << "simulator and test disagree on the tenant";

  std::map<std::string, std::set<std::string>> expected;  // mailbox -> Message-IDs
  int64_t deliveries = 0;
  int unmappable = 0;
  for (const MeetingFacts& m : meetings) {
    const std::set<std::string> mailboxes = expectation.MailboxesFor(m.addresses);
    for (const std::string& mb : mailboxes) expected[mb].insert(MessageIdOf(account, m.uuid));
    deliveries += mailboxes.empty() ? 1 : static_cast<int64_t>(mailboxes.size());
    unmappable += mailboxes.empty();
  }

  // The four stages, each its own process, configured as an operator would.
  const std::vector<std::string> kafka = {"--kafka.brokers=" + bootstrap};
  auto azure = [&](const std::string& prefix, const std::string& container) {
    return std::vector<std::string>{"--" + prefix + ".url=", "--" + prefix + ".azure_account=devstoreaccount1",
                                    "--" + prefix + ".azure_endpoint=" + (*azurite)->endpoint(),
                                    "--" + prefix + ".azure_container=" + container};
  };
  // Secrets come from files, as in Kubernetes.
  const std::string key_file = dir.path() + "/azure-key";
  std::ofstream(key_file) << kAzuriteKey << "\n";
  const std::string imap_password_file = dir.path() + "/imap-password";
  std::ofstream(imap_password_file) << "master-secret\n";
  std::map<std::string, std::string> secrets = {
      {"ZARC_STAGING_AZURE_KEY_FILE", key_file},   {"ZARC_MESSAGES_AZURE_KEY_FILE", key_file},
      {"ZARC_ARCHIVE_AZURE_KEY_FILE", key_file},   {"ZARC_IMAP_PASSWORD_FILE", imap_password_file},
      {"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}, {"ZARC_GRAPH_CLIENT_SECRET", "zarc-graph-secret"},
      {"ZARC_FETCHER_WEBHOOK_SECRET", kWebhookSecret}};
  auto args = [&](const std::string& binary, std::vector<std::vector<std::string>> parts) {
    std::vector<std::string> argv = {testing::BinPath(binary)};
    for (const auto& part : parts) argv.insert(argv.end(), part.begin(), part.end());
    return argv;
  };
  const std::vector<std::string> zoom_options = {
      "--zoom.api_url=" + zoom_url + "/v2", "--zoom.oauth_url=" + zoom_url + "/oauth/token",
      "--zoom.account_id=" + account, "--zoom.client_id=zarc-sim-client", "--zoom.plan=business",
      "--zoom.retry_backoff=100ms"};
  const std::vector<std::string> graph_options = {
      "--mapper.mode=graph", "--graph.login_url=" + graph_url, "--graph.api_url=" + graph_url,
      "--graph.tenant_id=e2e-tenant", "--graph.client_id=zarc-graph-client",
      std::string("--mapper.tenant_domains=") + kDomain};

  absl::StatusOr<Service> importer = StartService(
      args("zarc-importer", {kafka, azure("messages", "zarc-staging"), azure("archive", "zarc-archive"),
                             {"--importer.target=imap", "--imap.host=127.0.0.1",
                              absl::StrCat("--imap.port=", (*dovecot)->port()), "--imap.tls=none",
                              "--imap.auth=master", "--imap.master_user=zarc-master"}}),
      secrets);
  ASSERT_TRUE(importer.ok()) << importer.status();
  absl::StatusOr<Service> mapper = StartService(args("zarc-mapper", {kafka, graph_options}), secrets);
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  absl::StatusOr<Service> converter =
      StartService(args("zarc-converter", {kafka, azure("staging", "zarc-staging")}), secrets);
  ASSERT_TRUE(converter.ok()) << converter.status();
  absl::StatusOr<Service> fetcher = StartService(
      args("zarc-fetcher", {kafka, azure("staging", "zarc-staging"), zoom_options,
                            {"--fetcher.poll_interval=0", "--fetcher.pending_delay=1s",
                             "--fetcher.webhook_port=0"}}),
      secrets);
  ASSERT_TRUE(fetcher.ok()) << fetcher.status();
  // The webhook endpoint took a free port (no race with other tests for a chosen one).
  const std::string& fetcher_log = fetcher->process->output();
  const size_t webhook_at = fetcher_log.find("webhook endpoint listening");
  ASSERT_NE(webhook_at, std::string::npos) << fetcher_log;
  const int webhook_port =
      PortFrom(fetcher_log.substr(webhook_at, fetcher_log.find('\n', webhook_at) - webhook_at), "port");
  ASSERT_GT(webhook_port, 0);

  // A backfill through `zarc sync`, then the status log until every delivery is accounted for.
  auto [sync_code, sync_out] = RunCommand(
      {testing::BinPath("zarc"), "sync", "--from=2024-03-04", "--to=2024-03-11",
       absl::StrCat("--fetcher=127.0.0.1:", fetcher->grpc_port),
       absl::StrCat("--importer=127.0.0.1:", importer->grpc_port)},
      absl::Seconds(180));
  ASSERT_EQ(sync_code, 0) << sync_out;
  EXPECT_THAT(sync_out, ::testing::HasSubstr("found=12 captured=12 failed=0"));
  absl::StatusOr<json::Value> log =
      WaitForLog({"--brokers=" + bootstrap}, deliveries, absl::Seconds(120));
  ASSERT_TRUE(log.ok()) << log.status();

  // Every mailbox holds exactly its items; each message parses, is \Seen, and carries every
  // artifact of its meeting, attached or listed with its SHA-256.
  std::map<std::string, const MeetingFacts*> by_message_id;
  for (const MeetingFacts& m : meetings) by_message_id[MessageIdOf(account, m.uuid)] = &m;
  std::map<std::string, std::set<std::string>> seen_imap;
  for (const std::string& mailbox : expectation.mailboxes()) {
    absl::StatusOr<json::Value> audit =
        Audit({"127.0.0.1", absl::StrCat((*dovecot)->port()), mailbox + "*zarc-master",
               "master-secret", "INBOX/Zoom Meetings"});
    ASSERT_TRUE(audit.ok()) << audit.status();
    seen_imap[mailbox] = MessageIds(*audit);
    EXPECT_EQ(seen_imap[mailbox], expected[mailbox]) << mailbox;
    for (const json::Value& msg : json::Array(*audit, "messages")) {
      const std::string id = json::String(msg, "message_id");
      EXPECT_TRUE(json::Array(msg, "defects").empty()) << mailbox << " " << id << " "
                                                       << json::Serialize(msg);
      EXPECT_THAT(json::String(msg, "flags"), ::testing::HasSubstr("\\Seen")) << id;
      EXPECT_LE(json::Int(msg, "max_line"), 998) << id;
      auto it = by_message_id.find(id);
      ASSERT_NE(it, by_message_id.end()) << "unexpected message " << id;
      std::set<std::string> present;
      for (const json::Value& a : json::Array(msg, "attachments")) present.insert(json::String(a, "sha256"));
      for (const json::Value& s : json::Array(msg, "listed_sha256")) present.insert(s.AsString());
      for (const std::string& sha : it->second->artifacts) {
        EXPECT_TRUE(present.count(sha)) << id << " lacks artifact " << sha;
      }
    }
  }

  // The status log adds up and accounts for everyone who was not delivered to.
  EXPECT_EQ(Sum(*log, "available_from_source"), 12);
  EXPECT_EQ(Sum(*log, "available_for_import"), deliveries);
  EXPECT_EQ(Sum(*log, "available_for_import"),
            Sum(*log, "imported") + Sum(*log, "partially_imported") + Sum(*log, "skipped") +
                Sum(*log, "failed"));
  EXPECT_EQ(Sum(*log, "failed"), unmappable);
  std::set<std::string> not_delivered;
  for (const json::Value& n : json::Array(*log, "not_delivered")) {
    not_delivered.insert(json::String(n, "address"));
  }
  for (const MeetingFacts& m : meetings) {
    for (const std::string& a : m.addresses) {
      if (expectation.MailboxesFor({a}).empty()) {
        EXPECT_TRUE(not_delivered.count(a)) << a << " of " << m.uuid << " is not accounted for";
      }
    }
  }

  // A new meeting announced by webhook arrives without any poll.
  absl::StatusOr<http::ClientResponse> added = PostJson(zoom_url + "/_sim/meetings", "{}");
  ASSERT_TRUE(added.ok() && added->status / 100 == 2) << (added.ok() ? absl::StrCat(added->status, " ", added->body) : added.status().ToString());
  absl::StatusOr<json::Value> added_meeting = json::Parse(added->body, "added meeting");
  ASSERT_TRUE(added_meeting.ok());
  json::Value wrapper = json::Value::Object();
  wrapper["users"] = (*manifest)["users"];
  wrapper["meetings"] = json::Value::Array();
  wrapper["meetings"][0] = *added_meeting;
  const MeetingFacts added_facts = FactsFromManifest(wrapper)[0];
  const std::set<std::string> added_mailboxes = expectation.MailboxesFor(added_facts.addresses);
  ASSERT_FALSE(added_mailboxes.empty());
  // Zoom's signed recording.completed, as the simulator builds it, delivered to the fetcher.
  absl::StatusOr<http::ClientResponse> built = PostJson(
      zoom_url + "/_sim/webhooks/build",
      absl::StrCat("{\"event\":\"recording.completed\",\"meeting_uuid\":\"", added_facts.uuid, "\"}"));
  ASSERT_TRUE(built.ok() && built->status == 200) << (built.ok() ? built->body : built.status().ToString());
  absl::StatusOr<json::Value> signed_hook = json::Parse(built->body, "built webhook");
  ASSERT_TRUE(signed_hook.ok());
  http::ClientRequest hook;
  hook.method = "POST";
  hook.url = absl::StrCat("http://127.0.0.1:", webhook_port, "/zoom/webhook");
  const json::Value hook_headers = json::Object(*signed_hook, "headers");
  for (const auto& [k, v] : hook_headers.AsObject()) hook.headers.push_back({k, v.AsString()});
  hook.body = json::String(*signed_hook, "body");
  // Delivered as Zoom does: a 5xx answer is retried (Zoom waits minutes; here a second).
  const absl::Time fired = absl::Now();
  std::unique_ptr<http::HttpClient> zoom_client = http::NewHttpClient();
  absl::StatusOr<http::ClientResponse> fire;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const absl::Time sent = absl::Now();
    fire = zoom_client->Send(hook);
    if (fire.ok()) {
      EXPECT_LT(absl::Now() - sent, absl::Seconds(3)) << "Zoom wants an answer within 3 s";
    }
    if (fire.ok() && fire->status < 500) break;
    absl::SleepFor(absl::Seconds(1));
  }
  ASSERT_TRUE(fire.ok() && fire->status == 200)
      << (fire.ok() ? absl::StrCat(fire->status, " ", fire->body) : fire.status().ToString())
      << "\nfetcher output:\n" << fetcher->process->ReadRemaining(absl::Seconds(1));
  const std::string added_id = MessageIdOf(account, added_facts.uuid);
  for (const std::string& mailbox : added_mailboxes) {
    bool arrived = false;
    while (!arrived && absl::Now() - fired < absl::Seconds(60)) {
      absl::StatusOr<json::Value> audit =
          Audit({"127.0.0.1", absl::StrCat((*dovecot)->port()), mailbox + "*zarc-master",
                 "master-secret", "INBOX/Zoom Meetings"});
      arrived = audit.ok() && MessageIds(*audit).count(added_id) > 0;
      if (!arrived) absl::SleepFor(absl::Milliseconds(500));
    }
    EXPECT_TRUE(arrived) << "webhook meeting " << added_facts.uuid << " not in " << mailbox
                         << "\nfetcher output:\n" << fetcher->process->ReadRemaining(absl::Seconds(1))
                         << "\nsimulator output:\n" << (*zoom)->ReadRemaining(absl::Seconds(1));
  }
  std::printf("webhook meeting delivered to %zu mailboxes in %s\n", added_mailboxes.size(),
              absl::FormatDuration(absl::Now() - fired).c_str());

  // Every metric name the dashboards and alerts use exists in the real scrapes.
  std::vector<std::string> check = {"/usr/bin/python3",
                                    testing::SourcePath("tests/deploy/check_metric_names.py"),
                                    testing::SourcePath("deploy/dashboards"),
                                    testing::SourcePath("deploy/alerts")};
  int n = 0;
  for (const Service* s : {&*fetcher, &*converter, &*mapper, &*importer}) {
    const std::string path = absl::StrCat(dir.path(), "/scrape-", n++, ".txt");
    std::ofstream(path) << Scrape(s->metrics_port);
    check.push_back(path);
  }
  auto [check_code, check_out] = RunCommand(check, absl::Seconds(60));
  EXPECT_EQ(check_code, 0) << check_out;

  // The same tenant through `zarc run` (one process, embedded Kafka, .eml mailboxes) gives the
  // same items in the same mailboxes.
  absl::StatusOr<Service> run = StartService(
      args("zarc", {{"run", "--run.data_dir=" + dir.path() + "/run", "--importer.target=eml",
                     "--fetcher.poll_interval=0", "--zoom.retry_backoff=100ms"},
                    zoom_options, graph_options}),
      {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}, {"ZARC_GRAPH_CLIENT_SECRET", "zarc-graph-secret"}});
  ASSERT_TRUE(run.ok()) << run.status();
  auto [run_sync_code, run_sync_out] = RunCommand(
      {testing::BinPath("zarc"), "sync", "--from=2024-03-04", "--to=2024-03-11",
       absl::StrCat("--fetcher=127.0.0.1:", run->grpc_port)},
      absl::Seconds(180));
  ASSERT_EQ(run_sync_code, 0) << run_sync_out;
  absl::StatusOr<json::Value> run_log =
      WaitForLog({absl::StrCat("--importer=127.0.0.1:", run->grpc_port)}, deliveries, absl::Seconds(120));
  ASSERT_TRUE(run_log.ok()) << run_log.status();
  for (const std::string& mailbox : expectation.mailboxes()) {
    absl::StatusOr<json::Value> eml =
        Audit({"--eml-dir", dir.path() + "/run/mailboxes/" + mailbox + "/Inbox/Zoom Meetings"});
    ASSERT_TRUE(eml.ok()) << eml.status();
    std::set<std::string> imap_without_webhook = seen_imap[mailbox];
    EXPECT_EQ(MessageIds(*eml), imap_without_webhook) << mailbox;
  }
}

}  // namespace
}  // namespace zarc
