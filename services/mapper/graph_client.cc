#include "services/mapper/graph_client.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/http/retrying_client.h"
#include "runtime/json/json.h"
#include "runtime/log/log.h"

namespace zarc::mapper {
namespace {

constexpr absl::string_view kComponent = "mapper";
constexpr absl::string_view kSelect = "id,mail,userPrincipalName,accountEnabled,proxyAddresses";

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// OData string literal: quotes doubled (OData ABNF, SQUOTE-in-string).
std::string Quote(absl::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string ErrorSummary(const std::string& body) {
  absl::StatusOr<json::Value> v = json::Parse(body, "Graph error");
  if (!v.ok()) return body.substr(0, 200);
  const json::Value error = json::Object(*v, "error");
  if (error.IsObject()) {
    return absl::StrCat(json::String(error, "code"), ": ", json::String(error, "message"));
  }
  return absl::StrCat(json::String(*v, "error"), ": ",
                      json::String(*v, "error_description").substr(0, 300));
}

// A lookup Graph refused because of the address itself: the address is not delivered to.
std::string Refusal(absl::string_view address, int status, absl::string_view summary) {
  return absl::StrCat("Graph refused the lookup of ", address, " (HTTP ", status, ", ", summary,
                      ")");
}

// 401/403 with no lookup answered: the app's token or permissions, retried until fixed.
absl::Status CredentialRefused(int status, absl::string_view summary) {
  return absl::UnavailableError(absl::StrCat(
      "Graph refused the user lookup (HTTP ", status, ", ", summary,
      "); the app needs the User.Read.All application permission; retried until it works"));
}

DirectoryUser ParseUser(const json::Value& v) {
  DirectoryUser u;
  u.id = json::String(v, "id");
  u.mail = json::String(v, "mail");
  u.user_principal_name = json::String(v, "userPrincipalName");
  u.account_enabled = json::Bool(v, "accountEnabled", true);
  for (const json::Value& p : json::Array(v, "proxyAddresses")) {
    if (p.IsString()) u.proxy_addresses.push_back(p.AsString());
  }
  return u;
}

}  // namespace

GraphCredentials CredentialsFrom(const common_options::GraphConfig& c) {
  return GraphCredentials{.login_url = c.login_url,
                          .api_url = c.api_url,
                          .tenant_id = c.tenant_id,
                          .client_id = c.client_id,
                          .client_secret = c.client_secret,
                          .certificate_file = c.client_certificate_file,
                          .assertion_algorithm = c.client_assertion_algorithm};
}

GraphTokenSource::GraphTokenSource(http::HttpClient& http, const GraphCredentials& c,
                                   std::function<absl::Time()> now)
    : entra::TokenSource(http,
                         entra::Credentials{.login_url = c.login_url,
                                            .tenant_id = c.tenant_id,
                                            .client_id = c.client_id,
                                            .client_secret = c.client_secret,
                                            .certificate_file = c.certificate_file,
                                            .assertion_algorithm = c.assertion_algorithm},
                         TrimSlash(c.api_url) + "/.default", std::move(now)) {}

struct GraphClient::Metrics {
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Counter* throttled = nullptr;
};

GraphClient::GraphClient(http::HttpClient& http, GraphTokenSource& tokens, std::string api_url,
                         GraphClientOptions options, prometheus::Registry* registry)
    : http_(http),
      tokens_(tokens),
      api_url_(TrimSlash(std::move(api_url))),
      options_(std::move(options)),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->requests =
        &prometheus::BuildCounter()
             .Name("zarc_graph_requests_total")
             .Help("Microsoft Graph requests (each inside a $batch counted) by HTTP status")
             .Register(*registry);
    metrics_->throttled = &prometheus::BuildCounter()
                               .Name("zarc_graph_throttled_total")
                               .Help("Microsoft Graph requests answered 429")
                               .Register(*registry)
                               .Add({});
  }
}

GraphClient::~GraphClient() = default;

absl::Time GraphClient::Now() const { return options_.now ? options_.now() : absl::Now(); }
void GraphClient::Sleep(absl::Duration d) const {
  if (options_.sleep) {
    options_.sleep(d);
  } else {
    absl::SleepFor(d);
  }
}

void GraphClient::Count(int code) {
  if (metrics_->requests != nullptr)
    metrics_->requests->Add({{"code", absl::StrCat(code)}}).Increment();
  if (code == 429 && metrics_->throttled != nullptr) metrics_->throttled->Increment();
}

std::string GraphClient::UserLookupPath(const std::string& address) {
  const std::string filter = absl::StrCat(
      "mail eq ", Quote(address), " or proxyAddresses/any(p:p eq ", Quote("smtp:" + address), ")");
  return absl::StrCat("/users?$filter=", http::PercentEncode(filter),
                      "&$count=true&$select=", kSelect);
}

absl::StatusOr<GraphClient::Reply> GraphClient::Call(const std::string& method,
                                                     const std::string& url,
                                                     const std::string& body,
                                                     const http::Headers& headers,
                                                     absl::Time deadline) {
  bool refreshed = false;
  std::string last = "no attempt made";
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::string> token = tokens_.Token();
    if (!token.ok()) return token.status();
    http::ClientRequest req;
    req.method = method;
    req.url = url;
    req.body = body;
    req.headers = headers;
    req.headers.emplace_back("Authorization", "Bearer " + *token);
    req.headers.emplace_back("Accept", "application/json");
    req.timeout = absl::Seconds(60);
    absl::StatusOr<http::ClientResponse> resp = http_.Send(req);
    const int code = resp.ok() ? resp->status : 0;
    Count(code);
    absl::Duration wait =
        std::min(options_.backoff * (1 << std::min(attempt, 8)), absl::Seconds(30));
    if (!resp.ok()) {
      last = std::string(resp.status().message());
    } else if (code == 401 && !refreshed) {
      tokens_.Invalidate(*token);
      refreshed = true;
      continue;
    } else if (code == 429) {
      const absl::Time now = Now();
      if (auto h = http::FindHeader(resp->headers, "Retry-After")) {
        if (auto d = http::ParseRetryAfter(*h, now)) wait = *d;
      }
      last = absl::StrCat("throttled (429, Retry-After ", absl::FormatDuration(wait), ")");
    } else if (code >= 500 || code == 408) {
      last = absl::StrCat("HTTP ", code, ": ", ErrorSummary(resp->body));
    } else {
      return Reply{code, std::move(resp->body), std::move(resp->headers)};
    }
    if (Now() + wait > deadline) {
      return absl::UnavailableError(absl::StrCat("Microsoft Graph ", method, " ",
                                                 http::RedactUrl(url), " did not succeed within ",
                                                 absl::FormatDuration(options_.patience), ": ",
                                                 last, "; the mapper retries the item later"));
    }
    Sleep(wait);
  }
}

absl::StatusOr<std::optional<DirectoryUser>> ParseUserLookup(const std::string& body,
                                                             const std::string& address) {
  absl::StatusOr<json::Value> v = json::Parse(body, "Graph users answer");
  if (!v.ok()) return v.status();
  std::optional<DirectoryUser> found;
  for (const json::Value& u : json::Array(*v, "value")) {
    if (!u.IsObject()) continue;
    DirectoryUser user = ParseUser(u);
    if (user.id.empty()) continue;  // not a user: never resolve an address to it
    // Prefer the user whose primary address it is, should two users claim it.
    if (!found.has_value() || absl::EqualsIgnoreCase(user.mail, address)) found = std::move(user);
  }
  return found;
}

absl::StatusOr<std::vector<std::optional<DirectoryUser>>> GraphClient::FindUsers(
    const std::vector<std::string>& addresses, std::vector<std::string>* refused) {
  const absl::Time deadline = Now() + options_.patience;
  if (refused != nullptr) refused->assign(addresses.size(), "");
  if (addresses.size() > 1) return FindBatched(addresses, deadline, refused);
  std::vector<std::optional<DirectoryUser>> out;
  for (const std::string& address : addresses) {
    absl::StatusOr<Reply> reply = Call("GET", api_url_ + "/v1.0" + UserLookupPath(address), "",
                                       {{"ConsistencyLevel", "eventual"}}, deadline);
    if (!reply.ok()) return reply.status();
    if (reply->status == 401 || reply->status == 403) {
      return CredentialRefused(reply->status, ErrorSummary(reply->body));
    }
    if (reply->status != 200) {
      std::string why = Refusal(address, reply->status, ErrorSummary(reply->body));
      if (refused == nullptr) return absl::FailedPreconditionError(why);
      (*refused)[0] = std::move(why);
      out.push_back(std::nullopt);
      continue;
    }
    absl::StatusOr<std::optional<DirectoryUser>> user = ParseUserLookup(reply->body, address);
    if (!user.ok()) return absl::UnavailableError(user.status().message());
    out.push_back(*std::move(user));
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<DirectoryUser>>> GraphClient::FindBatched(
    const std::vector<std::string>& addresses, absl::Time deadline,
    std::vector<std::string>* refused) {
  using json::Value;
  std::vector<std::optional<DirectoryUser>> out(addresses.size());
  std::vector<size_t> pending(addresses.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  const size_t batch_size = static_cast<size_t>(std::clamp(options_.batch_size, 1, 20));
  std::string last;
  for (int round = 0; !pending.empty(); ++round) {
    std::vector<size_t> retry;
    absl::Duration wait = absl::ZeroDuration();
    for (size_t start = 0; start < pending.size(); start += batch_size) {
      const size_t end = std::min(pending.size(), start + batch_size);
      Value requests = Value::Array();
      for (size_t k = start; k < end; ++k) {
        Value r = Value::Object();
        r["id"] = json::Str(absl::StrCat(pending[k]));
        r["method"] = json::Str("GET");
        r["url"] = json::Str(UserLookupPath(addresses[pending[k]]));
        Value headers = Value::Object();
        headers["ConsistencyLevel"] = json::Str("eventual");
        r["headers"] = std::move(headers);
        requests[k - start] = std::move(r);
      }
      Value batch = Value::Object();
      batch["requests"] = std::move(requests);
      absl::StatusOr<Reply> reply = Call("POST", api_url_ + "/v1.0/$batch", json::Serialize(batch),
                                         {{"Content-Type", "application/json"}}, deadline);
      if (!reply.ok()) return reply.status();
      if (reply->status != 200) {
        // The batch as a whole, not one address: wait and retry the item.
        return absl::UnavailableError(absl::StrCat(
            "Graph refused a $batch of ", end - start, " user lookups (HTTP ", reply->status, ", ",
            ErrorSummary(reply->body), "); the mapper retries the item later"));
      }
      absl::StatusOr<json::Value> parsed = json::Parse(reply->body, "Graph $batch answer");
      if (!parsed.ok()) return absl::UnavailableError(parsed.status().message());
      std::map<size_t, bool> answered;
      bool credential_works = false;
      struct Denied {
        size_t index;
        int status;
        std::string summary;
      };
      std::vector<Denied> denied;  // 401/403: the address's or the app's
      for (const json::Value& r : json::Array(*parsed, "responses")) {
        size_t index = 0;
        const std::string id = json::String(r, "id");
        if (!absl::SimpleAtoi(id, &index) || index >= addresses.size()) continue;
        answered[index] = true;
        const int status = static_cast<int>(json::Int(r, "status"));
        Count(status);
        if (status == 200) {
          credential_works = true;
          const json::Value body = json::Object(r, "body");
          absl::StatusOr<std::optional<DirectoryUser>> user =
              ParseUserLookup(json::Serialize(body), addresses[index]);
          if (!user.ok()) return absl::UnavailableError(user.status().message());
          out[index] = *std::move(user);
        } else if (status == 429 || status >= 500 || status == 408) {
          retry.push_back(index);
          absl::Duration w = options_.backoff * (1 << std::min(round, 8));
          if (status == 429) {
            const json::Value headers = json::Object(r, "headers");
            if (auto d = http::ParseRetryAfter(json::String(headers, "Retry-After"), Now())) w = *d;
          }
          wait = std::max(wait, w);
          last = absl::StrCat("HTTP ", status, " inside $batch for ", addresses[index]);
        } else {
          const std::string summary = ErrorSummary(json::Serialize(json::Object(r, "body")));
          if (status == 401 || status == 403) {
            denied.push_back({index, status, summary});
            continue;
          }
          std::string why = Refusal(addresses[index], status, summary);
          if (refused == nullptr) return absl::FailedPreconditionError(why);
          (*refused)[index] = std::move(why);
        }
      }
      for (const Denied& d : denied) {
        if (!credential_works) return CredentialRefused(d.status, d.summary);
        std::string why = Refusal(addresses[d.index], d.status, d.summary);
        if (refused == nullptr) return absl::FailedPreconditionError(why);
        (*refused)[d.index] = std::move(why);
      }
      for (size_t k = start; k < end; ++k) {
        if (!answered.count(pending[k])) {
          return absl::UnavailableError(
              absl::StrCat("Graph's $batch answer has no response for request ", pending[k]));
        }
      }
    }
    pending = std::move(retry);
    if (pending.empty()) break;
    if (Now() + wait > deadline) {
      return absl::UnavailableError(absl::StrCat("Microsoft Graph kept refusing ", pending.size(),
                                                 " user lookups for ",
                                                 absl::FormatDuration(options_.patience), " (",
                                                 last, "); the mapper retries the item later"));
    }
    Sleep(wait);
  }
  return out;
}

absl::StatusOr<std::set<std::string>> GraphClient::GroupMemberIds(const std::string& group_id) {
  const absl::Time deadline = Now() + options_.patience;
  std::set<std::string> ids;
  std::string url = absl::StrCat(api_url_, "/v1.0/groups/", http::PercentEncode(group_id),
                                 "/members?$select=id&$top=999");
  while (!url.empty()) {
    absl::StatusOr<Reply> reply = Call("GET", url, "", {}, deadline);
    if (!reply.ok()) return reply.status();
    if (reply->status == 404) {
      return absl::NotFoundError(
          absl::StrCat("Graph has no group ", group_id, "; check mapper.group_id"));
    }
    if (reply->status != 200) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Graph refused to list the members of group ", group_id, " (HTTP ", reply->status, ", ",
          ErrorSummary(reply->body), "); the app needs GroupMember.Read.All"));
    }
    absl::StatusOr<json::Value> page = json::Parse(reply->body, "group members page");
    if (!page.ok()) return absl::UnavailableError(page.status().message());
    for (const json::Value& m : json::Array(*page, "value")) ids.insert(json::String(m, "id"));
    url = json::String(*page, "@odata.nextLink");
    // The link is data from the answer: the token follows it only to the configured Graph.
    if (!url.empty()) {
      if (absl::Status s = http::CheckSameOrigin(url, api_url_,
                                                 absl::StrCat("Graph's next page of group ",
                                                              group_id, " members"),
                                                 "graph.api_url");
          !s.ok()) {
        return s;
      }
    }
  }
  return ids;
}

}  // namespace zarc::mapper
