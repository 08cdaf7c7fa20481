// zarc doctor: checks each configured endpoint and credential and says how to fix what is wrong.
#include "cli/doctor.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "runtime/blob/blob_store.h"
#include "runtime/blob/random_id.h"
#include "runtime/http/http_client.h"
#include "runtime/kafka/admin.h"
#include "runtime/kafka/topics.h"
#include "services/fetcher/fetcher.h"
#include "services/fetcher/fetcher_config.h"
#include "services/fetcher/zoom_client.h"

namespace zarc::cli {
namespace {

CheckResult Skip(std::string name, std::string why) {
  return {std::move(name), absl::OkStatus(), std::move(why), true};
}

// Whether the account has the Archiving API, and what fetcher.sources makes of it.
CheckResult CheckZoomArchiving(const fetcher::FetcherConfig& f, fetcher::ZoomApi& api) {
  const std::string name = "Zoom Archiving API";
  absl::StatusOr<fetcher::Fetcher::ArchivingState> state =
      fetcher::ProbeArchiving(api, absl::Now());
  if (!state.ok()) {
    return {name, state.status(), "Zoom did not answer GET /archive_files; run zarc doctor again"};
  }
  const bool wanted = f.sources == "archive" || f.sources == "both";
  if (!state->available) {
    if (wanted) {
      return {name,
              absl::FailedPreconditionError(absl::StrCat(
                  "fetcher.sources=", f.sources, " but the account has no Archiving API (Zoom: ",
                  state->why, ")")),
              "set fetcher.sources=auto or recordings, or have Zoom enable the Archiving API and "
              "give the app the scope archiving:read:admin"};
    }
    return {name, absl::OkStatus(), "", false,
            absl::StrCat("off (Zoom: ", state->why, "); zarc captures cloud recordings only")};
  }
  if (f.sources == "recordings") {
    return {name, absl::OkStatus(), "", false,
            "on, but fetcher.sources=recordings: archived chat (private messages, edits) and "
            "meetings only the Archiving API lists are not captured; set fetcher.sources=auto"};
  }
  return {name, absl::OkStatus(), "", false,
          absl::StrCat("on; fetcher.sources=", f.sources, " captures ",
                       f.sources == "archive" ? "archive files only"
                                              : "cloud recordings and archive files")};
}

std::vector<CheckResult> CheckZoom(const RunConfig& c, http::HttpClient& http) {
  const fetcher::FetcherConfig& f = c.fetcher;
  if (f.zoom_account_id.empty() && f.zoom_client_id.empty()) {
    return {Skip("Zoom Server-to-Server OAuth token", "zoom.account_id and zoom.client_id not set")};
  }
  fetcher::ZoomTokenSource tokens(http,
                                  {.oauth_url = f.zoom_oauth_url,
                                   .account_id = f.zoom_account_id,
                                   .client_id = f.zoom_client_id,
                                   .client_secret = f.zoom_client_secret},
                                  nullptr);
  absl::StatusOr<std::string> token = tokens.Token();
  if (!token.ok()) {
    return {{"Zoom Server-to-Server OAuth token", token.status(),
             "check zoom.account_id, zoom.client_id and zoom.client_secret against the app in the "
             "Zoom App Marketplace, and that zoom.oauth_url is reachable"}};
  }
  // One cheap listing proves the scopes (user:read:admin) as well as the token.
  const fetcher::ZoomHostPolicy hosts = fetcher::ZoomHostsFor(f);
  fetcher::ZoomRateLimiter limiter({});
  fetcher::ZoomApi api(http, tokens, limiter, hosts,
                       fetcher::ZoomApi::Options{.api_base = f.zoom_api_url, .max_attempts = 2},
                       nullptr);
  absl::StatusOr<std::string> users = api.Get("/users?status=active&page_size=1",
                                              fetcher::ZoomCategory::kMedium);
  if (!users.ok()) {
    return {{"Zoom API access (token and scopes)", users.status(),
             "give the app the scopes user:read:admin, cloud_recording:read:admin, "
             "meeting:read:admin (and archiving:read:admin for the archiving API)"}};
  }
  return {{"Zoom token and API access", absl::OkStatus(), ""}, CheckZoomArchiving(f, api)};
}

CheckResult CheckClock(const RunConfig& c, http::HttpClient& http) {
  http::ClientRequest req;
  req.url = c.fetcher.zoom_oauth_url;
  req.method = "GET";
  req.timeout = absl::Seconds(10);
  absl::StatusOr<http::ClientResponse> resp = http.Send(req);
  if (!resp.ok()) return Skip("clock skew against Zoom", "Zoom OAuth host unreachable");
  std::optional<std::string> date = http::FindHeader(resp->headers, "Date");
  absl::Time remote;
  std::string err;
  if (!date || !absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", *date, &remote, &err)) {
    return Skip("clock skew against Zoom", "the server sent no Date header");
  }
  const absl::Duration skew = absl::AbsDuration(absl::Now() - remote);
  if (skew > absl::Minutes(2)) {
    return {"clock skew against Zoom",
            absl::FailedPreconditionError(absl::StrCat("this machine's clock is ",
                                                       absl::FormatDuration(skew), " off")),
            "synchronise the clock (NTP): webhook signatures older than 5 minutes are refused"};
  }
  return {"clock skew against Zoom", absl::OkStatus(), ""};
}

CheckResult CheckWebhookSecret(const RunConfig& c) {
  if (c.fetcher.webhook_secret.empty()) {
    return Skip("Zoom webhook secret",
                "fetcher.webhook_secret not set: webhooks are off, meetings arrive by polling only");
  }
  return {"Zoom webhook secret", absl::OkStatus(), ""};
}

CheckResult CheckStore(const std::string& what, const blob::BlobStoreConfig& config) {
  absl::StatusOr<std::unique_ptr<blob::BlobStore>> store = blob::OpenBlobStore(config);
  const bool entra = config.url.empty() && config.azure.shared_key.empty() &&
                     config.azure.sas_token.empty();
  const std::string name = absl::StrCat(what, " blob store writable",
                                        entra ? absl::StrCat(" (Entra ID, ", config.azure.identity, ")")
                                              : "");
  const std::string fix =
      entra ? "check " + what + ".azure_identity and its AZURE_* variables (the error names them), "
                  "and that the identity has the Storage Blob Data Contributor role on the container"
            : "check the " + what + ".* options (URL or Azure account, container, key/SAS) "
                  "and that this identity may write there";
  if (!store.ok()) return {name, store.status(), fix};
  const std::string probe = absl::StrCat("doctor/probe-", blob::RandomHex(8));
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer = (*store)->Create(probe, {});
  if (!writer.ok()) return {name, writer.status(), fix};
  absl::Status s = (*writer)->Write("zarc doctor probe");
  if (s.ok()) s = (*writer)->Close();
  if (s.ok()) s = (*store)->Delete(probe);
  return {name, s, fix};
}

CheckResult CheckKafka(const RunConfig& c) {
  if (c.fetcher.kafka.bootstrap_servers.empty()) {
    return Skip("Kafka brokers and topics", "kafka.brokers not set: zarc run uses its embedded cluster");
  }
  absl::Status s = kafka::CheckTopics(c.fetcher.kafka, kafka::DefaultTopics(), absl::Seconds(15));
  return {"Kafka brokers and topics", s,
          "check kafka.brokers and the security settings; create the topics (the Helm chart's "
          "Strimzi KafkaTopic resources, or zarc-devbroker on one machine)"};
}

}  // namespace

std::vector<CheckResult> RunChecks(const RunConfig& config) {
  std::unique_ptr<http::HttpClient> http =
      http::NewHttpClient(http::ClientOptions{.ca_file = config.fetcher.ca_file});
  std::vector<CheckResult> results;
  for (CheckResult& r : CheckZoom(config, *http)) results.push_back(std::move(r));
  results.push_back(CheckClock(config, *http));
  results.push_back(CheckWebhookSecret(config));
  results.push_back(CheckKafka(config));
  results.push_back(CheckStore("staging", config.fetcher.staging));
  results.push_back(CheckStore("archive", config.importer.archive));
  for (CheckResult& r : MailChecks(config)) results.push_back(std::move(r));
  return results;
}

std::string FormatChecks(const std::vector<CheckResult>& results) {
  std::string out;
  for (const CheckResult& r : results) {
    if (r.skipped) {
      absl::StrAppend(&out, "  -  ", r.name, ": not checked (", r.fix, ")\n");
    } else if (r.status.ok()) {
      absl::StrAppend(&out, "  ok ", r.name, r.detail.empty() ? "" : ": ", r.detail, "\n");
    } else {
      absl::StrAppend(&out, "  !! ", r.name, ": ", r.status.message(), "\n     fix: ", r.fix, "\n");
    }
  }
  return out;
}

int Doctor(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: zarc doctor [the options of zarc run: --config=FILE, --key=value ...]\n\n"
                  "Checks the Zoom token and scopes, whether the account has the Archiving API\n"
                  "(and what fetcher.sources makes of it), the webhook secret, the clock, Kafka\n"
                  "and its topics, the blob stores, Microsoft Graph and the IMAP server as\n"
                  "configured, and prints what is wrong and how to fix it. Exit code 3 if\n"
                  "anything is wrong.\n");
      return kExitOk;
    }
  }
  absl::StatusOr<RunConfig> config =
      RunSchema().Load(config::Sources{.args = args, .env = config::ProcessEnvironment()});
  if (!config.ok()) {
    std::fprintf(stderr, "zarc doctor: configuration error: %s\n",
                 std::string(config.status().message()).c_str());
    return kExitUsage;
  }
  PlaceUnderDataDir(*config);
  const std::vector<CheckResult> results = RunChecks(*config);
  std::fputs(FormatChecks(results).c_str(), stdout);
  int problems = 0;
  for (const CheckResult& r : results) problems += !r.skipped && !r.status.ok();
  std::printf(problems == 0 ? "\nzarc doctor: everything configured works.\n"
                            : "\nzarc doctor: %d problem(s) found.\n",
              problems);
  return problems == 0 ? kExitOk : kExitProblems;
}

}  // namespace zarc::cli
