#include "simulators/graph/graph_simulator.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/crypto/digest.h"
#include "runtime/crypto/jws.h"
#include "runtime/json/json.h"
#include "runtime/log/log.h"
#include "simulators/graph/odata_filter.h"

namespace zarc::graph_sim {
namespace {

using http::ServerRequest;
using http::ServerResponse;
using json::Value;

constexpr absl::string_view kComponent = "graph-sim";
constexpr absl::string_view kContext = "https://graph.microsoft.com/v1.0/$metadata";

ServerResponse Json(int status, const Value& body, http::Headers extra = {}) {
  ServerResponse r;
  r.status = status;
  r.headers = std::move(extra);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = json::Serialize(body);
  return r;
}

// Graph's error shape: {"error":{"code","message","innerError":{...}}}.
ServerResponse GraphError(int status, absl::string_view code, absl::string_view message,
                          http::Headers extra = {}) {
  Value inner = Value::Object();
  inner["date"] =
      json::Str(absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::Now(), absl::UTCTimeZone()));
  inner["request-id"] =
      json::Str(StableGuid(absl::StrCat(code, message, absl::ToUnixNanos(absl::Now()))));
  Value error = Value::Object();
  error["code"] = json::Str(code);
  error["message"] = json::Str(message);
  error["innerError"] = std::move(inner);
  Value body = Value::Object();
  body["error"] = std::move(error);
  return Json(status, body, std::move(extra));
}

// The identity platform's token error shape (RFC 6749 section 5.2 plus AADSTS codes).
ServerResponse TokenError(int status, absl::string_view error, int aadsts,
                          absl::string_view description) {
  Value body = Value::Object();
  body["error"] = json::Str(error);
  body["error_description"] = json::Str(absl::StrCat("AADSTS", aadsts, ": ", description));
  Value codes = Value::Array();
  codes[0] = Value::Number(aadsts);
  body["error_codes"] = std::move(codes);
  return Json(status, body);
}

constexpr absl::string_view kExchangeOnlineResource = "https://outlook.office365.com";
constexpr absl::string_view kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// The claims of a JWT, or null when it is not one.
Value ClaimsOf(absl::string_view jwt) {
  std::vector<std::string> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) return Value::Null();
  absl::StatusOr<std::string> text = crypto::Base64UrlDecode(parts[1]);
  if (!text.ok()) return Value::Null();
  absl::StatusOr<Value> claims = json::Parse(*text, "client assertion claims");
  return claims.ok() ? *claims : Value::Null();
}

// Why Entra ID would refuse a client assertion for `client_id` at `tenant`'s token endpoint, or
// nothing when it is accepted: a JWS of a registered certificate's key, named by its thumbprint,
// for this endpoint, by this app, within its time range (five minutes of clock skew allowed).
std::optional<ServerResponse> RefuseAssertion(const GraphSimOptions& options,
                                              std::map<std::string, std::string>& form,
                                              absl::string_view tenant, absl::Time now) {
  if (form["client_assertion_type"] != kJwtBearer) {
    return TokenError(400, "invalid_request", 7000219,
                      absl::StrCat("'client_assertion_type' must be '", kJwtBearer, "'."));
  }
  auto malformed = [](absl::string_view why) {
    return TokenError(400, "invalid_request", 50027,
                      absl::StrCat("JWT token is invalid or malformed: ", why, "."));
  };
  std::vector<std::string> parts = absl::StrSplit(form["client_assertion"], '.');
  if (parts.size() != 3) return malformed("a JWS has three parts");
  absl::StatusOr<std::string> header_text = crypto::Base64UrlDecode(parts[0]);
  absl::StatusOr<std::string> claims_text = crypto::Base64UrlDecode(parts[1]);
  absl::StatusOr<std::string> signature = crypto::Base64UrlDecode(parts[2]);
  if (!header_text.ok() || !claims_text.ok() || !signature.ok()) return malformed("not base64url");
  absl::StatusOr<Value> header = json::Parse(*header_text, "client assertion header");
  absl::StatusOr<Value> claims = json::Parse(*claims_text, "client assertion claims");
  if (!header.ok() || !claims.ok() || !header->IsObject() || !claims->IsObject()) {
    return malformed("header or claims are not a JSON object");
  }
  const std::string client_id = form["client_id"];
  const auto t = absl::ToUnixSeconds(now);
  constexpr int64_t skew = 300;
  auto outside_time = [&](const Value& c) -> std::optional<ServerResponse> {
    const int64_t nbf = json::Int(c, "nbf", 0), exp = json::Int(c, "exp", 0);
    if (exp != 0 && t <= exp + skew && t + skew >= nbf) return std::nullopt;
    return TokenError(401, "invalid_client", 700024,
                      absl::StrCat("Client assertion is not within its valid time range. Current "
                                   "time: ", t, ", assertion valid from ", nbf,
                                   ", expiry time of assertion ", exp, "."));
  };
  if (json::String(*claims, "iss") != client_id) {
    // Not the app's own assertion: a token of another issuer, for a federated credential.
    const std::string iss = json::String(*claims, "iss"), sub = json::String(*claims, "sub");
    std::string aud = json::String(*claims, "aud");
    const std::vector<Value> aud_list = json::Array(*claims, "aud");
    if (!aud_list.empty() && aud_list[0].IsString()) aud = aud_list[0].AsString();
    bool matched = false;
    for (const GraphSimOptions::FederatedCredential& f : options.federated_credentials) {
      matched = matched || (f.issuer == iss && f.subject == sub);
    }
    if (!matched || aud != "api://AzureADTokenExchange") {
      return TokenError(400, "invalid_request", 70021,
                        absl::StrCat("No matching federated identity record found for presented "
                                     "assertion. Assertion Issuer: '", iss, "'. Assertion Subject: '",
                                     sub, "'. Assertion Audience: '", aud, "'."));
    }
    return outside_time(*claims);
  }
  absl::StatusOr<crypto::JwsAlgorithm> alg = crypto::ParseJwsAlgorithm(json::String(*header, "alg"));
  if (!alg.ok()) {
    return TokenError(401, "invalid_client", 5002738,
                      absl::StrCat("Invalid JWT token. '", json::String(*header, "alg"),
                                   "' is not a supported signature algorithm."));
  }
  absl::StatusOr<std::string> x5t_s256 = crypto::Base64UrlDecode(json::String(*header, "x5t#S256"));
  absl::StatusOr<std::string> x5t = crypto::Base64UrlDecode(json::String(*header, "x5t"));
  std::unique_ptr<crypto::VerifyingCertificate> registered;
  for (const std::string& pem : options.client_certificates_pem) {
    absl::StatusOr<std::unique_ptr<crypto::VerifyingCertificate>> c =
        crypto::VerifyingCertificate::FromPem(pem, "registered certificate");
    if (!c.ok()) continue;
    if ((x5t_s256.ok() && !x5t_s256->empty() && *x5t_s256 == (*c)->Sha256Thumbprint()) ||
        (x5t.ok() && !x5t->empty() && *x5t == (*c)->Sha1Thumbprint())) {
      registered = *std::move(c);
      break;
    }
  }
  if (registered == nullptr) {
    return TokenError(401, "invalid_client", 700027,
                      absl::StrCat("The certificate with identifier used to sign the client "
                                   "assertion is not registered on application. [Reason - The "
                                   "key was not found., Thumbprint of key used by client: '",
                                   crypto::HexEncode(x5t_s256.ok() ? *x5t_s256 : ""), "']"));
  }
  if (!registered->Verify(*alg, absl::StrCat(parts[0], ".", parts[1]), *signature).ok()) {
    return TokenError(401, "invalid_client", 700027,
                      "Client assertion failed signature validation.");
  }
  if (json::String(*claims, "sub") != client_id) {
    return TokenError(401, "invalid_client", 700021,
                      "Client assertion application identifier doesn't match 'client_id' "
                      "parameter.");
  }
  if (!absl::EndsWith(json::String(*claims, "aud"),
                      absl::StrCat("/", tenant, "/oauth2/v2.0/token"))) {
    return TokenError(401, "invalid_client", 700212,
                      absl::StrCat("No matching federated identity record found for presented "
                                   "assertion audience '", json::String(*claims, "aud"), "'."));
  }
  return outside_time(*claims);
}

std::string FormatGraphTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::vector<std::string> PathSegments(absl::string_view path) {
  std::vector<std::string> out;
  for (absl::string_view s : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    out.push_back(http::PercentDecode(s));
  }
  return out;
}

std::string QueryValue(absl::string_view query, absl::string_view name) {
  return http::QueryParam(query, name).value_or("");
}

// $select as a set of property names; empty: Graph's default properties.
std::vector<std::string> SelectList(absl::string_view query) {
  std::vector<std::string> out;
  for (absl::string_view s : absl::StrSplit(QueryValue(query, "$select"), ',', absl::SkipEmpty())) {
    out.emplace_back(absl::StripAsciiWhitespace(s));
  }
  return out;
}

Value NullableString(const std::string& s) { return s.empty() ? Value::Null() : json::Str(s); }

absl::StatusOr<Value> UserJson(const GraphUser& u, const std::vector<std::string>& select) {
  static const std::vector<std::string> kDefault = {"businessPhones",
                                                    "displayName",
                                                    "givenName",
                                                    "jobTitle",
                                                    "mail",
                                                    "mobilePhone",
                                                    "officeLocation",
                                                    "preferredLanguage",
                                                    "surname",
                                                    "userPrincipalName",
                                                    "id"};
  Value out = Value::Object();
  for (const std::string& p : select.empty() ? kDefault : select) {
    if (p == "id") {
      out["id"] = json::Str(u.id);
    } else if (p == "displayName") {
      out["displayName"] = json::Str(u.display_name);
    } else if (p == "mail") {
      out["mail"] = NullableString(u.mail);
    } else if (p == "userPrincipalName") {
      out["userPrincipalName"] = json::Str(u.user_principal_name);
    } else if (p == "accountEnabled") {
      out["accountEnabled"] = Value::Boolean(u.account_enabled);
    } else if (p == "proxyAddresses") {
      Value list = Value::Array();
      for (size_t i = 0; i < u.proxy_addresses.size(); ++i)
        list[i] = json::Str(u.proxy_addresses[i]);
      out["proxyAddresses"] = std::move(list);
    } else if (p == "businessPhones") {
      out["businessPhones"] = Value::Array();
    } else if (p == "givenName" || p == "jobTitle" || p == "mobilePhone" || p == "officeLocation" ||
               p == "preferredLanguage" || p == "surname") {
      out[p] = Value::Null();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("Could not find a property named '", p,
                                                     "' on type 'microsoft.graph.user'."));
    }
  }
  return out;
}

Value FolderJson(const StoredFolder& f, size_t total_items, size_t child_folders) {
  Value out = Value::Object();
  out["id"] = json::Str(f.id);
  out["displayName"] = json::Str(f.display_name);
  out["parentFolderId"] = json::Str(f.parent_id);
  out["childFolderCount"] = Value::Number(static_cast<uint64_t>(child_folders));
  out["unreadItemCount"] = Value::Number(0);
  out["totalItemCount"] = Value::Number(static_cast<uint64_t>(total_items));
  out["isHidden"] = Value::Boolean(false);
  return out;
}

Value MessageJson(const StoredMessage& m, const std::vector<std::string>& select) {
  Value out = Value::Object();
  auto want = [&](absl::string_view p) {
    return select.empty() || std::find(select.begin(), select.end(), p) != select.end();
  };
  out["id"] = json::Str(m.id);
  if (want("internetMessageId")) out["internetMessageId"] = json::Str(m.internet_message_id);
  if (want("subject")) out["subject"] = json::Str(m.subject);
  if (want("isDraft")) out["isDraft"] = Value::Boolean(m.is_draft);
  if (want("isRead")) out["isRead"] = Value::Boolean(m.is_read);
  if (want("createdDateTime")) out["createdDateTime"] = json::Str(FormatGraphTime(m.created));
  if (want("receivedDateTime")) out["receivedDateTime"] = json::Str(FormatGraphTime(m.received));
  if (want("sentDateTime")) {
    out["sentDateTime"] = m.sent.has_value() ? json::Str(FormatGraphTime(*m.sent)) : Value::Null();
  }
  // Graph returns internetMessageHeaders only when asked for by $select.
  if (!select.empty() && want("internetMessageHeaders")) {
    Value headers = Value::Array();
    for (size_t i = 0; i < m.internet_headers.size(); ++i) {
      Value h = Value::Object();
      h["name"] = json::Str(m.internet_headers[i].first);
      h["value"] = json::Str(m.internet_headers[i].second);
      headers[i] = std::move(h);
    }
    out["internetMessageHeaders"] = std::move(headers);
  }
  if (!select.empty() && want("body")) {
    Value b = Value::Object();
    b["contentType"] = json::Str(m.body_content_type.empty() ? "text" : m.body_content_type);
    b["content"] = json::Str(m.body);
    out["body"] = std::move(b);
  }
  if (want("parentFolderId")) out["parentFolderId"] = json::Str(m.folder_id);
  if (want("hasAttachments")) out["hasAttachments"] = Value::Boolean(!m.attachments.empty());
  return out;
}

// A fileAttachment as GET .../attachments lists it; `select` empty: all the simulator knows.
absl::StatusOr<Value> AttachmentJson(const StoredAttachment& a,
                                     const std::vector<std::string>& select) {
  static const std::vector<std::string> kDefault = {"id", "name", "contentType", "size",
                                                    "isInline"};
  Value out = Value::Object();
  out["@odata.type"] = json::Str("#microsoft.graph.fileAttachment");
  for (const std::string& p : select.empty() ? kDefault : select) {
    if (p == "id") {
      out["id"] = json::Str(a.id);
    } else if (p == "name") {
      out["name"] = json::Str(a.name);
    } else if (p == "contentType") {
      out["contentType"] = NullableString(a.content_type);
    } else if (p == "size") {
      out["size"] = Value::Number(a.size);
    } else if (p == "isInline") {
      out["isInline"] = Value::Boolean(false);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("Could not find a property named '", p,
                                                     "' on type 'microsoft.graph.attachment'."));
    }
  }
  return out;
}

// The value of header `name` in an RFC 5322 header block, unfolded; empty if absent.
std::string MimeHeader(absl::string_view mime, absl::string_view name) {
  const size_t end = mime.find("\r\n\r\n");
  absl::string_view head = mime.substr(0, end == absl::string_view::npos ? mime.size() : end);
  std::string found;
  bool in_field = false;
  for (absl::string_view line : absl::StrSplit(head, absl::ByAnyChar("\n"))) {
    line = absl::StripSuffix(line, "\r");
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (in_field) absl::StrAppend(&found, " ", absl::StripAsciiWhitespace(line));
      continue;
    }
    if (in_field) return found;
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      found = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      in_field = true;
    }
  }
  return found;
}

bool IsWellKnownInbox(absl::string_view id) { return absl::EqualsIgnoreCase(id, "inbox"); }

}  // namespace

GraphSimulator::GraphSimulator(Directory directory, GraphSimOptions options)
    : directory_(std::move(directory)), options_(std::move(options)) {}

absl::Time GraphSimulator::Now() const {
  std::function<absl::Time()> clock;
  {
    absl::MutexLock lock(&mu_);
    clock = options_.clock;
  }
  return clock ? clock() : absl::Now();
}

void GraphSimulator::SetPublicBaseUrl(absl::string_view url) {
  absl::MutexLock lock(&mu_);
  options_.public_base_url = std::string(url);
}

void GraphSimulator::SetThrottling(int every_n, int per_second, int retry_after_seconds) {
  absl::MutexLock lock(&mu_);
  options_.throttle_every_n = every_n;
  options_.throttle_per_second = per_second;
  options_.retry_after_seconds = retry_after_seconds;
  throttle_counter_ = 0;
}

void GraphSimulator::SetUploadFaults(int every_n, int at) {
  absl::MutexLock lock(&mu_);
  options_.fail_upload_put_every = every_n;
  options_.fail_upload_put_at = at;
  upload_put_counter_ = 0;
}

void GraphSimulator::SetAddressFaults(std::map<std::string, int> refuse_address_lookups) {
  absl::MutexLock lock(&mu_);
  options_.refuse_address_lookups = std::move(refuse_address_lookups);
}

GraphSimStats GraphSimulator::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::vector<StoredMessage> GraphSimulator::Messages(absl::string_view id_or_upn) const {
  const GraphUser* user = directory_.FindUser(id_or_upn);
  if (user == nullptr) return {};
  absl::MutexLock lock(&mu_);
  auto it = mailboxes_.find(user->id);
  return it == mailboxes_.end() ? std::vector<StoredMessage>{} : it->second.messages;
}

std::string GraphSimulator::NewId(absl::string_view prefix) {
  return absl::StrCat(prefix, crypto::Sha256Hex(absl::StrCat(prefix, ++next_id_)).substr(0, 24));
}

GraphSimulator::Mailbox& GraphSimulator::MailboxOf(const GraphUser& user) {
  auto [it, inserted] = mailboxes_.try_emplace(user.id);
  if (inserted) {
    it->second.folders.push_back(
        {.id = NewId("AAMkInbox"), .display_name = "Inbox", .parent_id = NewId("AAMkRoot")});
  }
  return it->second;
}

ServerResponse GraphSimulator::Handle(const ServerRequest& request) {
  const std::vector<std::string> segments = PathSegments(request.path);
  if (!segments.empty() && segments[0] == "_sim") return Admin(request, segments);
  if (request.path == "/metadata/identity/oauth2/token" && request.method == "GET") {
    return ManagedIdentityToken(request);
  }
  if (segments.size() == 4 && segments[1] == "oauth2" && segments[2] == "v2.0" &&
      segments[3] == "token") {
    if (request.method != "POST") {
      return TokenError(405, "invalid_request", 900561, "The endpoint only accepts POST requests.");
    }
    return HandleToken(request);
  }
  uint64_t max_request_bytes;
  {
    absl::MutexLock lock(&mu_);
    max_request_bytes = options_.max_request_bytes;
  }
  if (request.body.size() > max_request_bytes) {
    return GraphError(413, "ErrorRequestEntityTooLarge",
                      absl::StrCat("The request of ", request.body.size(),
                                   " bytes exceeds the limit of ", max_request_bytes, " bytes."));
  }
  if (segments.size() == 2 && segments[0] == "_upload") {
    if (request.method != "PUT") return GraphError(405, "BadRequest", "Upload URLs take PUT.");
    return Upload(request, segments[1]);
  }
  if (segments.empty() || segments[0] != "v1.0") {
    return GraphError(404, "BadRequest", absl::StrCat("Invalid version or path: ", request.path));
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.http_requests;
  }
  if (!Authorized(request.headers)) {
    return GraphError(401, "InvalidAuthenticationToken",
                      "Access token is empty, has expired or is not valid.");
  }
  if (segments.size() == 2 && segments[1] == "$batch") {
    if (request.method != "POST") return GraphError(405, "BadRequest", "$batch takes POST.");
    return Batch(request);
  }
  return Route(request.method, std::vector<std::string>(segments.begin() + 1, segments.end()),
               request.query, request.headers, request.body, false);
}

ServerResponse GraphSimulator::HandleToken(const ServerRequest& request) {
  const std::vector<std::string> segments = PathSegments(request.path);
  const std::string tenant = segments[0];
  std::map<std::string, std::string> form;
  for (auto& [k, v] : http::ParseQuery(request.body)) form[k] = v;
  absl::MutexLock lock(&mu_);
  if (!options_.tenant_id.empty() && tenant != options_.tenant_id) {
    return TokenError(400, "invalid_request", 90002,
                      absl::StrCat("Tenant '", tenant, "' not found."));
  }
  if (form["grant_type"] != "client_credentials") {
    return TokenError(400, "unsupported_grant_type", 70003,
                      "The app requested an unsupported grant type; use client_credentials.");
  }
  if (!absl::EndsWith(form["scope"], "/.default")) {
    return TokenError(400, "invalid_scope", 1002012,
                      "The provided value for scope is not valid. Client credential flows must "
                      "have a scope value with /.default suffixed to the resource identifier.");
  }
  if (form["client_id"] != options_.client_id) {
    return TokenError(400, "unauthorized_client", 700016,
                      absl::StrCat("Application with identifier '", form["client_id"],
                                   "' was not found in the directory."));
  }
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();
  const bool by_certificate = form.count("client_assertion") > 0;
  if (by_certificate) {
    if (std::optional<ServerResponse> refused = RefuseAssertion(options_, form, tenant, now)) {
      return *std::move(refused);
    }
  } else if (form.count("client_secret") == 0) {
    return TokenError(401, "invalid_client", 7000218,
                      "The request body must contain the following parameter: "
                      "'client_assertion' or 'client_secret'.");
  } else if (form["client_secret"] != options_.client_secret) {
    return TokenError(401, "invalid_client", 7000215,
                      "Invalid client secret provided. Ensure the secret being sent in the "
                      "request is the client secret value, not the client secret ID.");
  }
  const bool federated = by_certificate && json::String(ClaimsOf(form["client_assertion"]), "iss") !=
                                              options_.client_id;
  const std::string token = IssueToken(form["scope"], options_.client_id, now, by_certificate);
  if (federated) {
    ++stats_.tokens_by_federation;
  } else if (by_certificate) {
    ++stats_.tokens_by_certificate;
  }
  Value body = Value::Object();
  body["token_type"] = json::Str("Bearer");
  body["expires_in"] = Value::Number(absl::ToInt64Seconds(options_.token_ttl));
  body["ext_expires_in"] = Value::Number(absl::ToInt64Seconds(options_.token_ttl));
  body["access_token"] = json::Str(token);
  return Json(200, body);
}

std::string GraphSimulator::IssueToken(const std::string& scope, const std::string& app_id,
                                       absl::Time now, bool by_certificate) {
  const std::string aud(absl::StripSuffix(scope, "/.default"));
  Value header = Value::Object();
  header["typ"] = json::Str("JWT");
  header["alg"] = json::Str("none");
  Value claims = Value::Object();
  claims["aud"] = json::Str(aud);
  claims["iss"] = json::Str(absl::StrCat("https://sts.windows.net/", options_.tenant_id, "/"));
  claims["iat"] = Value::Number(absl::ToUnixSeconds(now));
  claims["nbf"] = Value::Number(absl::ToUnixSeconds(now));
  claims["exp"] = Value::Number(absl::ToUnixSeconds(now + options_.token_ttl));
  claims["appid"] = json::Str(app_id);
  claims["appidacr"] = json::Str(by_certificate ? "2" : "1");
  claims["tid"] = json::Str(options_.tenant_id);
  claims["uti"] = json::Str(NewId("uti"));
  claims["ver"] = json::Str("1.0");
  const std::string token = absl::StrCat(crypto::Base64UrlEncode(json::Serialize(header)), ".",
                                         crypto::Base64UrlEncode(json::Serialize(claims)), ".");
  tokens_[token] = IssuedToken{
      .expires = now + options_.token_ttl, .scope = scope, .by_certificate = by_certificate};
  ++stats_.tokens_issued;
  return token;
}

namespace {

// A Graph DateTimeOffset ("2024-03-05T14:00:00Z", fractions and offsets allowed).
std::optional<absl::Time> ParseGraphTime(const std::string& text) {
  absl::Time t;
  std::string err;
  for (const char* f : {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M:%E*SZ", "%Y-%m-%dT%H:%M:%E*S"}) {
    if (absl::ParseTime(f, text, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return std::nullopt;
}

}  // namespace

ServerResponse GraphSimulator::CreateJsonMessage(Mailbox& mailbox, const std::string& folder_id,
                                                 const std::string& body, const std::string& base) {
  absl::StatusOr<Value> parsed = json::Parse(body, "message");
  if (!parsed.ok() || !parsed->IsObject()) {
    return GraphError(400, "RequestBodyRead", "The request body is not a JSON object.");
  }
  const Value& j = *parsed;
  StoredMessage m;
  m.id = NewId("AAMkMsg");
  m.folder_id = folder_id;
  m.created = m.received = options_.clock ? options_.clock() : absl::Now();  // mu_ held
  m.subject = json::String(j, "subject");
  m.internet_message_id = json::String(j, "internetMessageId");
  if (!m.internet_message_id.empty() &&
      (m.internet_message_id.front() != '<' || m.internet_message_id.back() != '>')) {
    return GraphError(400, "InvalidInternetMessageId",
                      "The internet message id must be in the format <id@domain>.");
  }
  const Value b = json::Object(j, "body");
  if (b.IsObject()) {
    m.body_content_type = absl::AsciiStrToLower(json::String(b, "contentType", "text"));
    m.body = json::String(b, "content");
  }
  for (const Value& h : json::Array(j, "internetMessageHeaders")) {
    const std::string name = json::String(h, "name");
    // Graph takes custom headers only.
    if (!absl::StartsWithIgnoreCase(name, "x-")) {
      return GraphError(400, "InvalidInternetMessageHeader",
                        absl::StrCat("The internet message header name '", name,
                                     "' should start with 'x-' or 'X-'."));
    }
    m.internet_headers.emplace_back(name, json::String(h, "value"));
  }
  for (const Value& p : json::Array(j, "singleValueExtendedProperties")) {
    const std::string id = absl::AsciiStrToLower(json::String(p, "id"));
    const std::string v = json::String(p, "value");
    if (id == "integer 0x0e07") {  // PidTagMessageFlags
      int64_t flags = 0;
      if (!absl::SimpleAtoi(v, &flags)) {
        return GraphError(400, "ErrorInvalidExtendedPropertyValue",
                          absl::StrCat("'", v, "' is not an Integer."));
      }
      m.is_draft = (flags & 0x8) != 0;  // MSGFLAG_UNSENT
      m.is_read = (flags & 0x1) != 0;   // MSGFLAG_READ
    } else if (id == "systemtime 0x0e06" || id == "systemtime 0x0039") {
      std::optional<absl::Time> t = ParseGraphTime(v);
      if (!t.has_value()) {
        return GraphError(400, "ErrorInvalidExtendedPropertyValue",
                          absl::StrCat("'", v, "' is not a SystemTime."));
      }
      if (id == "systemtime 0x0e06") {
        m.received = *t;  // PidTagMessageDeliveryTime
      } else {
        m.sent = *t;  // PidTagClientSubmitTime
      }
    }
  }
  uint64_t bytes = body.size();
  for (const Value& a : json::Array(j, "attachments")) {
    if (json::String(a, "@odata.type") != "#microsoft.graph.fileAttachment") {
      return GraphError(400, "ErrorInvalidRequest", "The simulator takes fileAttachments only.");
    }
    absl::StatusOr<std::string> content = crypto::Base64Decode(json::String(a, "contentBytes"));
    if (!content.ok()) {
      return GraphError(400, "ErrorInvalidRequest", "contentBytes is not base64.");
    }
    StoredAttachment s;
    s.id = NewId("AAMkAtt");
    s.name = json::String(a, "name");
    s.content_type = json::String(a, "contentType");
    s.size = s.received = content->size();
    s.sha256 = crypto::Sha256Hex(*content);
    m.attachments.push_back(std::move(s));
  }
  if (!ChargeUpload(mailbox, bytes)) {
    ++stats_.throttled;
    return GraphError(429, "ApplicationThrottled",
                      "Application is over its MailboxUploadLimit (150 MB per 5 minutes).",
                      {{"Retry-After", absl::StrCat(options_.retry_after_seconds)}});
  }
  Value out = MessageJson(m, {});
  out["@odata.context"] = json::Str(base + "/messages/$entity");
  mailbox.messages.push_back(std::move(m));
  return Json(201, out);
}

ServerResponse GraphSimulator::ManagedIdentityToken(const ServerRequest& request) {
  std::map<std::string, std::string> query;
  for (auto& [k, v] : http::ParseQuery(request.query)) query[k] = v;
  const std::optional<std::string> metadata = http::FindHeader(request.headers, "Metadata");
  if (!metadata.has_value() || *metadata != "true") {
    Value body = Value::Object();
    body["error"] = json::Str("invalid_request");
    body["error_description"] = json::Str("Required metadata header not specified");
    return Json(400, body);
  }
  if (query["resource"].empty() || query["api-version"].empty()) {
    Value body = Value::Object();
    body["error"] = json::Str("invalid_request");
    body["error_description"] = json::Str("Required query variable 'resource' (and 'api-version') is missing");
    return Json(400, body);
  }
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  const std::string identity = query["client_id"];
  if (std::find(options_.managed_identities.begin(), options_.managed_identities.end(), identity) ==
      options_.managed_identities.end()) {
    Value body = Value::Object();
    body["error"] = json::Str("invalid_request");
    body["error_description"] = json::Str("Identity not found");
    return Json(400, body);
  }
  const std::string resource(absl::StripSuffix(query["resource"], "/"));
  const std::string token = IssueToken(absl::StrCat(resource, "/.default"),
                                       identity.empty() ? "system-assigned" : identity, now, false);
  ++stats_.tokens_by_managed_identity;
  Value body = Value::Object();
  body["access_token"] = json::Str(token);
  // IMDS gives these as strings.
  body["expires_in"] = json::Str(absl::StrCat(absl::ToInt64Seconds(options_.token_ttl)));
  body["expires_on"] = json::Str(absl::StrCat(absl::ToUnixSeconds(now + options_.token_ttl)));
  body["resource"] = json::Str(query["resource"]);
  body["token_type"] = json::Str("Bearer");
  return Json(200, body);
}

bool GraphSimulator::Authorized(const http::Headers& headers) {
  const std::optional<std::string> auth = http::FindHeader(headers, "Authorization");
  if (!auth.has_value() || !absl::StartsWith(*auth, "Bearer ")) return false;
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(auth->substr(7));
  // A token for another resource (Exchange Online's, for IMAP) is not one for Graph.
  return it != tokens_.end() && now < it->second.expires &&
         !absl::StartsWith(it->second.scope, kExchangeOnlineResource);
}

bool GraphSimulator::Throttle() {
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  ++stats_.graph_requests;
  bool throttled = false;
  ++throttle_counter_;
  if (options_.throttle_every_n > 0 && throttle_counter_ % options_.throttle_every_n == 0) {
    throttled = true;
  }
  if (options_.throttle_per_second > 0) {
    const int64_t second = absl::ToUnixSeconds(now);
    if (second != second_) {
      second_ = second;
      in_second_ = 0;
    }
    if (++in_second_ > options_.throttle_per_second) throttled = true;
  }
  if (throttled) ++stats_.throttled;
  return throttled;
}

ServerResponse GraphSimulator::Route(const std::string& method,
                                     const std::vector<std::string>& segments,
                                     absl::string_view query, const http::Headers& headers,
                                     const std::string& body, bool in_batch) {
  if (Throttle()) {
    int retry_after;
    {
      absl::MutexLock lock(&mu_);
      retry_after = options_.retry_after_seconds;
    }
    return GraphError(429, "TooManyRequests",
                      "Too many requests: the application is being throttled.",
                      {{"Retry-After", absl::StrCat(retry_after)}});
  }
  if (!segments.empty() && segments[0] == "users") {
    if (segments.size() == 1 && method == "GET") return QueryUsers(query, headers);
    if (segments.size() == 2 && method == "GET") return GetUser(segments[1], query);
    if (segments.size() >= 3) return MailboxRequest(method, segments, query, headers, body);
  }
  if (segments.size() == 3 && segments[0] == "groups" && segments[2] == "members" &&
      method == "GET") {
    return GroupMembers(segments[1], query);
  }
  return GraphError(400, "BadRequest",
                    absl::StrCat("The Graph simulator does not serve ", method, " /",
                                 absl::StrJoin(segments, "/"), in_batch ? " (in $batch)" : ""));
}

ServerResponse GraphSimulator::QueryUsers(absl::string_view query, const http::Headers& headers) {
  const std::vector<std::string> select = SelectList(query);
  const std::optional<std::string> filter_text = http::QueryParam(query, "$filter");
  std::vector<FilterTerm> terms;
  if (filter_text.has_value()) {
    absl::StatusOr<std::vector<FilterTerm>> parsed = ParseFilter(*filter_text);
    if (!parsed.ok()) return GraphError(400, "BadRequest", parsed.status().message());
    terms = *std::move(parsed);
  }
  const bool count = QueryValue(query, "$count") == "true";
  const bool eventual = absl::EqualsIgnoreCase(
      http::FindHeader(headers, "ConsistencyLevel").value_or(""), "eventual");
  std::set<std::string> addresses;
  for (const FilterTerm& t : terms) {
    const bool proxy = absl::EqualsIgnoreCase(t.property, "proxyAddresses");
    if (proxy != t.any) {
      return GraphError(400, "Request_UnsupportedQuery",
                        absl::StrCat("Unsupported query on property '", t.property, "'."));
    }
    if (proxy && !(count && eventual)) {
      // Advanced queries need both (learn.microsoft.com, "Advanced query capabilities").
      return GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.");
    }
    if (!proxy && !absl::EqualsIgnoreCase(t.property, "mail") &&
        !absl::EqualsIgnoreCase(t.property, "userPrincipalName") &&
        !absl::EqualsIgnoreCase(t.property, "displayName") &&
        !absl::EqualsIgnoreCase(t.property, "id")) {
      return GraphError(400, "Request_UnsupportedQuery",
                        absl::StrCat("Unsupported or invalid query filter clause specified for "
                                     "property '",
                                     t.property, "' of resource 'User'."));
    }
    std::string address = absl::AsciiStrToLower(t.value);
    if (proxy) address = std::string(absl::StripPrefix(address, "smtp:"));
    if (proxy || absl::EqualsIgnoreCase(t.property, "mail")) addresses.insert(address);
  }
  Value list = Value::Array();
  size_t n = 0;
  for (const GraphUser& u : directory_.users) {
    bool match = terms.empty();
    for (const FilterTerm& t : terms) {
      if (t.any) {
        for (const std::string& p : u.proxy_addresses) match |= absl::EqualsIgnoreCase(p, t.value);
      } else if (absl::EqualsIgnoreCase(t.property, "mail")) {
        match |= !u.mail.empty() && absl::EqualsIgnoreCase(u.mail, t.value);
      } else if (absl::EqualsIgnoreCase(t.property, "userPrincipalName")) {
        match |= absl::EqualsIgnoreCase(u.user_principal_name, t.value);
      } else if (absl::EqualsIgnoreCase(t.property, "displayName")) {
        match |= u.display_name == t.value;
      } else {
        match |= u.id == t.value;
      }
    }
    if (!match) continue;
    absl::StatusOr<Value> json = UserJson(u, select);
    if (!json.ok()) return GraphError(400, "BadRequest", json.status().message());
    list[n++] = *std::move(json);
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.user_queries;
    for (const std::string& a : addresses) ++stats_.address_lookups[a];
    for (const std::string& a : addresses) {
      auto refused = options_.refuse_address_lookups.find(a);
      if (refused == options_.refuse_address_lookups.end()) continue;
      const int status = refused->second;
      if (status == 403) {
        return GraphError(403, "Authorization_RequestDenied",
                          "Insufficient privileges to complete the operation.");
      }
      if (status == 404) {
        return GraphError(404, "Request_ResourceNotFound",
                          absl::StrCat("Resource '", a, "' does not exist or one of its queried "
                                       "reference-property objects are not present."));
      }
      return GraphError(status, "Request_BadRequest",
                        absl::StrCat("Invalid filter clause: the value '", a,
                                     "' is not valid for property 'mail'."));
    }
  }
  Value body = Value::Object();
  body["@odata.context"] = json::Str(absl::StrCat(kContext, "#users"));
  if (count) body["@odata.count"] = Value::Number(static_cast<uint64_t>(n));
  body["value"] = std::move(list);
  return Json(200, body);
}

ServerResponse GraphSimulator::GetUser(absl::string_view id, absl::string_view query) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.user_gets;
  }
  const GraphUser* u = directory_.FindUser(id);
  if (u == nullptr) {
    return GraphError(404, "Request_ResourceNotFound",
                      absl::StrCat("Resource '", id,
                                   "' does not exist or one of its queried "
                                   "reference-property objects are not present."));
  }
  absl::StatusOr<Value> json = UserJson(*u, SelectList(query));
  if (!json.ok()) return GraphError(400, "BadRequest", json.status().message());
  (*json)["@odata.context"] = json::Str(absl::StrCat(kContext, "#users/$entity"));
  return Json(200, *json);
}

ServerResponse GraphSimulator::GroupMembers(absl::string_view group_id, absl::string_view query) {
  const GraphGroup* g = directory_.FindGroup(group_id);
  if (g == nullptr) {
    return GraphError(404, "Request_ResourceNotFound",
                      absl::StrCat("Resource '", group_id,
                                   "' does not exist or one of its "
                                   "queried reference-property objects are not present."));
  }
  int64_t top = 100;
  if (auto t = http::QueryParam(query, "$top"); t.has_value()) {
    if (!absl::SimpleAtoi(*t, &top) || top < 1 || top > 999) {
      return GraphError(400, "BadRequest", absl::StrCat("Invalid $top value '", *t, "' (1-999)."));
    }
  }
  size_t offset = 0;
  if (auto s = http::QueryParam(query, "$skiptoken"); s.has_value()) {
    if (!absl::SimpleAtoi(*s, &offset) || offset > g->member_ids.size()) {
      return GraphError(400, "Directory_ExpiredPageToken",
                        "The specified page token value has expired.");
    }
  }
  Value list = Value::Array();
  size_t n = 0;
  for (size_t i = offset; i < g->member_ids.size() && n < static_cast<size_t>(top); ++i) {
    Value m = Value::Object();
    m["@odata.type"] = json::Str("#microsoft.graph.user");
    m["id"] = json::Str(g->member_ids[i]);
    list[n++] = std::move(m);
  }
  Value body = Value::Object();
  body["@odata.context"] = json::Str(absl::StrCat(kContext, "#directoryObjects(id)"));
  body["value"] = std::move(list);
  absl::MutexLock lock(&mu_);
  ++stats_.group_member_pages;
  if (offset + n < g->member_ids.size()) {
    body["@odata.nextLink"] =
        json::Str(absl::StrCat(options_.public_base_url, "/v1.0/groups/", g->id,
                               "/members?$select=id&$top=", top, "&$skiptoken=", offset + n));
  }
  return Json(200, body);
}

ServerResponse GraphSimulator::Batch(const ServerRequest& request) {
  absl::StatusOr<json::Value> root = json::Parse(request.body, "$batch body");
  if (!root.ok() || !json::Has(*root, "requests") || !root->at("requests").IsArray()) {
    return GraphError(400, "BadRequest",
                      "Invalid batch payload format: expected {\"requests\":[...]}.");
  }
  const std::vector<json::Value> requests = json::Array(*root, "requests");
  if (requests.size() > 20) {
    return GraphError(400, "BadRequest",
                      absl::StrCat("The number of batch requests (", requests.size(),
                                   ") exceeds the maximum of 20."));
  }
  std::set<std::string> ids;
  for (const json::Value& r : requests) {
    const std::string id = json::String(r, "id");
    if (id.empty() || json::String(r, "method").empty() || json::String(r, "url").empty()) {
      return GraphError(400, "BadRequest", "Every batch request needs id, method and url.");
    }
    if (!ids.insert(id).second) {
      return GraphError(400, "BadRequest", absl::StrCat("Duplicate batch request id '", id, "'."));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.batches;
    stats_.batch_requests += static_cast<int64_t>(requests.size());
    stats_.max_batch_size = std::max<int64_t>(stats_.max_batch_size, requests.size());
  }
  Value responses = Value::Array();
  size_t n = 0;
  for (const json::Value& r : requests) {
    std::string url = json::String(r, "url");
    if (absl::StartsWith(url, "http")) {
      Value entry = Value::Object();
      entry["id"] = json::Str(json::String(r, "id"));
      entry["status"] = Value::Number(400);
      entry["body"] =
          json::ParseOrNull(GraphError(400, "BadRequest", "Batch URLs must be relative.").body);
      responses[n++] = std::move(entry);
      continue;
    }
    const size_t q = url.find('?');
    const std::string path = url.substr(0, q);
    const std::string query = q == std::string::npos ? "" : url.substr(q + 1);
    http::Headers headers;
    const json::Value h = json::Object(r, "headers");
    if (h.IsObject()) {
      for (const auto& [k, v] : h.AsObject()) {
        if (v.IsString()) headers.emplace_back(k, v.AsString());
      }
    }
    std::string body;
    if (json::Has(r, "body")) {
      const json::Value& b = r.at("body");
      body = b.IsString() ? b.AsString() : json::Serialize(b);
    }
    ServerResponse sub =
        Route(json::String(r, "method"), PathSegments(path), query, headers, body, true);
    Value entry = Value::Object();
    entry["id"] = json::Str(json::String(r, "id"));
    entry["status"] = Value::Number(sub.status);
    Value sub_headers = Value::Object();
    for (const auto& [k, v] : sub.headers) sub_headers[k] = json::Str(v);
    entry["headers"] = std::move(sub_headers);
    if (!sub.body.empty()) {
      absl::StatusOr<json::Value> parsed = json::Parse(sub.body, "batch response");
      entry["body"] = parsed.ok() ? *parsed : json::Str(sub.body);
    }
    responses[n++] = std::move(entry);
  }
  Value body = Value::Object();
  body["responses"] = std::move(responses);
  return Json(200, body);
}

bool GraphSimulator::ChargeUpload(Mailbox& mailbox, uint64_t bytes) {
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();
  auto& u = mailbox.uploads;
  u.erase(std::remove_if(
              u.begin(), u.end(),
              [&](const auto& e) { return e.first <= now - options_.mailbox_upload_window; }),
          u.end());
  uint64_t used = 0;
  for (const auto& e : u) used += e.second;
  if (used + bytes > options_.mailbox_upload_bytes) return false;
  u.emplace_back(now, bytes);
  return true;
}

ServerResponse GraphSimulator::MailboxRequest(const std::string& method,
                                              const std::vector<std::string>& segments,
                                              absl::string_view query, const http::Headers& headers,
                                              const std::string& body) {
  const GraphUser* user = directory_.FindUser(segments[1]);
  if (user == nullptr) {
    return GraphError(404, "ErrorInvalidUser",
                      absl::StrCat("The requested user '", segments[1], "' is invalid."));
  }
  if (user->mail.empty()) {
    return GraphError(404, "MailboxNotEnabledForRESTAPI",
                      "The mailbox is either inactive, soft-deleted, or is hosted on-premise.");
  }
  absl::Duration delay;
  {
    absl::MutexLock lock(&mu_);
    Mailbox& mailbox = MailboxOf(*user);
    ++stats_.mailbox_requests;
    if (mailbox.in_flight >= options_.mailbox_concurrency) {
      ++stats_.throttled;
      return GraphError(429, "ApplicationThrottled",
                        "Application is over its MailboxConcurrency limit.",
                        {{"Retry-After", absl::StrCat(options_.retry_after_seconds)}});
    }
    ++mailbox.in_flight;
    delay = options_.mailbox_request_delay;
  }
  if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
  absl::MutexLock lock(&mu_);
  ServerResponse r = MailboxRequestLocked(*user, method, segments, query, headers, body);
  --MailboxOf(*user).in_flight;
  return r;
}

ServerResponse GraphSimulator::MailboxRequestLocked(
    const GraphUser& user, const std::string& method, const std::vector<std::string>& segments,
    absl::string_view query, const http::Headers& headers, const std::string& body) {
  Mailbox& mailbox = MailboxOf(user);
  const std::vector<std::string> rest(segments.begin() + 2, segments.end());
  auto find_folder = [&](absl::string_view id) -> StoredFolder* {
    if (IsWellKnownInbox(id)) return &mailbox.folders[0];
    for (StoredFolder& f : mailbox.folders) {
      if (f.id == id) return &f;
    }
    return nullptr;
  };
  auto find_message = [&](absl::string_view id) -> StoredMessage* {
    for (StoredMessage& m : mailbox.messages) {
      if (m.id == id) return &m;
    }
    return nullptr;
  };
  auto folder_json = [&](const StoredFolder& f) {
    size_t items = 0, children = 0;
    for (const StoredMessage& m : mailbox.messages) items += m.folder_id == f.id;
    for (const StoredFolder& c : mailbox.folders) children += c.parent_id == f.id;
    return FolderJson(f, items, children);
  };
  auto not_found = [](absl::string_view what) {
    return GraphError(
        404, "ErrorItemNotFound",
        absl::StrCat("The specified object was not found in the store. (", what, ")"));
  };
  const std::string base = absl::StrCat(kContext, "#users('", user.id, "')");

  if (rest.size() >= 2 && rest[0] == "mailFolders") {
    StoredFolder* folder = find_folder(rest[1]);
    if (folder == nullptr) return not_found(absl::StrCat("folder ", rest[1]));
    if (rest.size() == 2 && method == "GET") return Json(200, folder_json(*folder));
    if (rest.size() == 3 && rest[2] == "childFolders" && method == "GET") {
      std::vector<FilterTerm> terms;
      if (auto f = http::QueryParam(query, "$filter"); f.has_value()) {
        absl::StatusOr<std::vector<FilterTerm>> parsed = ParseFilter(*f);
        if (!parsed.ok())
          return GraphError(400, "ErrorInvalidUrlQueryFilter", parsed.status().message());
        terms = *std::move(parsed);
        for (const FilterTerm& t : terms) {
          if (t.any || t.property != "displayName") {
            return GraphError(400, "ErrorInvalidUrlQueryFilter",
                              "The simulator filters child folders by displayName only.");
          }
        }
      }
      Value list = Value::Array();
      size_t n = 0;
      for (const StoredFolder& c : mailbox.folders) {
        if (c.parent_id != folder->id) continue;
        bool match = terms.empty();
        for (const FilterTerm& t : terms) match |= absl::EqualsIgnoreCase(c.display_name, t.value);
        if (match) list[n++] = folder_json(c);
      }
      Value out = Value::Object();
      out["@odata.context"] = json::Str(base + "/mailFolders('" + folder->id + "')/childFolders");
      out["value"] = std::move(list);
      return Json(200, out);
    }
    if (rest.size() == 3 && rest[2] == "childFolders" && method == "POST") {
      absl::StatusOr<json::Value> req = json::Parse(body, "mailFolder");
      const std::string name = req.ok() ? json::String(*req, "displayName") : "";
      if (name.empty()) {
        return GraphError(400, "ErrorInvalidRequest", "A mailFolder needs a displayName.");
      }
      for (const StoredFolder& c : mailbox.folders) {
        if (c.parent_id == folder->id && absl::EqualsIgnoreCase(c.display_name, name)) {
          return GraphError(409, "ErrorFolderExists",
                            "A folder with the specified name already exists.");
        }
      }
      const std::string parent_id = folder->id;  // `folder` dangles once the vector grows
      mailbox.folders.push_back(
          {.id = NewId("AAMkFolder"), .display_name = name, .parent_id = parent_id});
      Value out = folder_json(mailbox.folders.back());
      out["@odata.context"] =
          json::Str(base + "/mailFolders('" + parent_id + "')/childFolders/$entity");
      return Json(201, out);
    }
    if (rest.size() == 3 && rest[2] == "messages" && method == "GET") {
      std::vector<FilterTerm> terms;
      if (auto f = http::QueryParam(query, "$filter"); f.has_value()) {
        absl::StatusOr<std::vector<FilterTerm>> parsed = ParseFilter(*f);
        if (!parsed.ok())
          return GraphError(400, "ErrorInvalidUrlQueryFilter", parsed.status().message());
        terms = *std::move(parsed);
        for (const FilterTerm& t : terms) {
          if (t.any || t.property != "internetMessageId") {
            return GraphError(400, "ErrorInvalidUrlQueryFilter",
                              "The simulator filters messages by internetMessageId only.");
          }
        }
      }
      const std::vector<std::string> select = SelectList(query);
      Value list = Value::Array();
      size_t n = 0;
      for (const StoredMessage& m : mailbox.messages) {
        if (m.folder_id != folder->id) continue;
        bool match = terms.empty();
        // Exchange compares Message-IDs exactly, angle brackets included.
        for (const FilterTerm& t : terms) match |= m.internet_message_id == t.value;
        if (match) list[n++] = MessageJson(m, select);
      }
      Value out = Value::Object();
      out["@odata.context"] = json::Str(base + "/mailFolders('" + folder->id + "')/messages");
      out["value"] = std::move(list);
      return Json(200, out);
    }
    if (rest.size() == 3 && rest[2] == "messages" && method == "POST") {
      const std::string content_type = http::FindHeader(headers, "Content-Type").value_or("");
      if (absl::StartsWithIgnoreCase(content_type, "application/json")) {
        return CreateJsonMessage(mailbox, folder->id, body, base);
      }
      if (!absl::StartsWithIgnoreCase(content_type, "text/plain")) {
        return GraphError(415, "ErrorInvalidRequest",
                          "Send a message as JSON (Content-Type: application/json) or as the "
                          "base64 of its MIME with Content-Type: text/plain.");
      }
      std::string b64;
      for (char c : body) {
        if (c != '\r' && c != '\n') b64.push_back(c);
      }
      absl::StatusOr<std::string> mime = crypto::Base64Decode(b64);
      if (!mime.ok() || mime->empty()) {
        return GraphError(400, "ErrorMimeContentInvalidBase64String",
                          "Invalid base64 string for MIME content.");
      }
      if (!ChargeUpload(mailbox, mime->size())) {
        ++stats_.throttled;
        return GraphError(429, "ApplicationThrottled",
                          "Application is over its MailboxUploadLimit (150 MB per 5 minutes).",
                          {{"Retry-After", absl::StrCat(options_.retry_after_seconds)}});
      }
      StoredMessage m;
      m.id = NewId("AAMkMsg");
      m.folder_id = folder->id;
      m.internet_message_id = MimeHeader(*mime, "Message-ID");
      m.subject = MimeHeader(*mime, "Subject");
      m.mime = *std::move(mime);
      m.created = m.received = options_.clock ? options_.clock() : absl::Now();  // mu_ held
      Value out = MessageJson(m, {});
      out["@odata.context"] = json::Str(base + "/messages/$entity");
      mailbox.messages.push_back(std::move(m));
      return Json(201, out);
    }
  }
  if (rest.size() >= 2 && rest[0] == "messages") {
    StoredMessage* message = find_message(rest[1]);
    if (message == nullptr) return not_found(absl::StrCat("message ", rest[1]));
    if (rest.size() == 2 && method == "GET")
      return Json(200, MessageJson(*message, SelectList(query)));
    if (rest.size() == 2 && method == "DELETE") {
      // Graph answers 204 and the message is gone (to Deleted Items in Outlook; the simulator
      // drops it); its open upload sessions die with it.
      const std::string id = message->id;
      for (auto it = uploads_.begin(); it != uploads_.end();) {
        it = it->second.message_id == id ? uploads_.erase(it) : std::next(it);
      }
      mailbox.messages.erase(std::remove_if(mailbox.messages.begin(), mailbox.messages.end(),
                                            [&](const StoredMessage& m) { return m.id == id; }),
                             mailbox.messages.end());
      ServerResponse r;
      r.status = 204;
      return r;
    }
    if (rest.size() == 3 && rest[2] == "attachments" && method == "GET") {
      // An attachment added through an upload session exists once all its bytes arrived, as in
      // Outlook. Attachments inside the posted MIME are not listed (the simulator keeps the MIME
      // as it came and does not parse it).
      const std::vector<std::string> select = SelectList(query);
      Value list = Value::Array();
      size_t n = 0;
      for (const StoredAttachment& a : message->attachments) {
        if (!a.complete) continue;
        absl::StatusOr<Value> json = AttachmentJson(a, select);
        if (!json.ok()) return GraphError(400, "RequestBroker--ParseUri", json.status().message());
        list[n++] = *std::move(json);
      }
      Value out = Value::Object();
      out["@odata.context"] = json::Str(base + "/messages('" + message->id + "')/attachments");
      out["value"] = std::move(list);
      return Json(200, out);
    }
    if (rest.size() == 3 && rest[2] == "attachments" && method == "POST") {
      absl::StatusOr<json::Value> req = json::Parse(body, "attachment");
      if (!req.ok() || json::String(*req, "@odata.type") != "#microsoft.graph.fileAttachment") {
        return GraphError(400, "ErrorInvalidRequest",
                          "Post a #microsoft.graph.fileAttachment with name and contentBytes.");
      }
      absl::StatusOr<std::string> bytes = crypto::Base64Decode(json::String(*req, "contentBytes"));
      if (!bytes.ok()) return GraphError(400, "ErrorInvalidRequest", "contentBytes is not base64.");
      if (!ChargeUpload(mailbox, bytes->size())) {
        ++stats_.throttled;
        return GraphError(429, "ApplicationThrottled",
                          "Application is over its MailboxUploadLimit (150 MB per 5 minutes).",
                          {{"Retry-After", absl::StrCat(options_.retry_after_seconds)}});
      }
      StoredAttachment a{.id = NewId("AAMkAtt"),
                         .name = json::String(*req, "name"),
                         .content_type = json::String(*req, "contentType"),
                         .size = bytes->size(),
                         .received = bytes->size(),
                         .sha256 = crypto::Sha256Hex(*bytes),
                         .complete = true};
      message->attachments.push_back(a);
      Value out = Value::Object();
      out["id"] = json::Str(a.id);
      out["name"] = json::Str(a.name);
      out["size"] = Value::Number(static_cast<uint64_t>(a.size));
      return Json(201, out);
    }
    if (rest.size() == 4 && rest[2] == "attachments" && rest[3] == "createUploadSession" &&
        method == "POST") {
      absl::StatusOr<json::Value> req = json::Parse(body, "createUploadSession");
      json::Value item = req.ok() ? json::Object(*req, "AttachmentItem") : json::Value();
      if (req.ok() && item.IsNull()) item = json::Object(*req, "attachmentItem");
      const std::string name = json::String(item, "name");
      const int64_t size = json::Int(item, "size", -1);
      if (item.IsNull() || json::String(item, "attachmentType") != "file" || name.empty() ||
          size <= 0) {
        return GraphError(
            400, "ErrorInvalidRequest",
            "createUploadSession needs AttachmentItem {attachmentType: file, name, size}.");
      }
      if (static_cast<uint64_t>(size) < options_.min_upload_session_bytes) {
        return GraphError(400, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                          absl::StrCat("Attachment size ", size, " is below the minimum of ",
                                       options_.min_upload_session_bytes,
                                       " bytes for an upload session; post it directly."));
      }
      if (static_cast<uint64_t>(size) > options_.max_attachment_bytes) {
        return GraphError(413, "ErrorMessageSizeExceeded",
                          absl::StrCat("Attachment size ", size, " exceeds the limit of ",
                                       options_.max_attachment_bytes, " bytes."));
      }
      StoredAttachment a{.id = NewId("AAMkAtt"),
                         .name = name,
                         .content_type = json::String(item, "contentType"),
                         .size = static_cast<uint64_t>(size)};
      message->attachments.push_back(a);
      const std::string token = NewId("up");
      const absl::Time now = options_.clock ? options_.clock() : absl::Now();
      uploads_[token] = UploadSession{.user_id = user.id,
                                      .message_id = message->id,
                                      .attachment_id = a.id,
                                      .next = 0,
                                      .hash = std::make_shared<crypto::Sha256>(),
                                      .expires = now + absl::Hours(24)};
      Value out = Value::Object();
      out["@odata.context"] = json::Str(absl::StrCat(kContext, "#microsoft.graph.uploadSession"));
      out["uploadUrl"] = json::Str(absl::StrCat(options_.public_base_url, "/_upload/", token));
      out["expirationDateTime"] = json::Str(FormatGraphTime(now + absl::Hours(24)));
      Value ranges = Value::Array();
      ranges[0] = json::Str("0-");
      out["nextExpectedRanges"] = std::move(ranges);
      return Json(201, out);
    }
  }
  return GraphError(400, "BadRequest",
                    absl::StrCat("The Graph simulator does not serve ", method, " /users/{id}/",
                                 absl::StrJoin(rest, "/")));
}

ServerResponse GraphSimulator::Upload(const ServerRequest& request, absl::string_view token) {
  if (http::FindHeader(request.headers, "Authorization").has_value()) {
    // The upload URL carries its own credential; Outlook refuses a bearer token on it.
    return GraphError(401, "InvalidAuthenticationToken",
                      "Do not send an Authorization header to an upload URL.");
  }
  {
    absl::MutexLock lock(&mu_);
    const int64_t n = ++upload_put_counter_;
    ++stats_.upload_puts;
    if ((options_.fail_upload_put_every > 0 && n % options_.fail_upload_put_every == 0) ||
        (options_.fail_upload_put_at > 0 && n == options_.fail_upload_put_at)) {
      ++stats_.failed_upload_puts;
      return GraphError(503, "ServiceUnavailable",
                        "The service is temporarily unavailable (injected upload failure).");
    }
  }
  const std::string range = http::FindHeader(request.headers, "Content-Range").value_or("");
  uint64_t first = 0, last = 0, total = 0;
  {
    absl::string_view r = range;
    std::vector<absl::string_view> parts;
    const bool ok = absl::ConsumePrefix(&r, "bytes ") &&
                    (parts = absl::StrSplit(r, absl::ByAnyChar("-/"))).size() == 3 &&
                    absl::SimpleAtoi(parts[0], &first) && absl::SimpleAtoi(parts[1], &last) &&
                    absl::SimpleAtoi(parts[2], &total) && first <= last && last < total;
    if (!ok) {
      return GraphError(
          400, "InvalidContentRange",
          absl::StrCat("Content-Range \"", range, "\" is not bytes FIRST-LAST/TOTAL."));
    }
  }
  if (request.body.size() != last - first + 1) {
    return GraphError(400, "InvalidContentRange",
                      absl::StrCat("Content-Range covers ", last - first + 1,
                                   " bytes but the body has ", request.body.size()));
  }
  absl::MutexLock lock(&mu_);
  auto it = uploads_.find(std::string(token));
  if (it == uploads_.end()) {
    return GraphError(404, "ErrorItemNotFound",
                      "The upload session does not exist or has expired.");
  }
  UploadSession& s = it->second;
  const GraphUser* user = directory_.FindUser(s.user_id);
  Mailbox& mailbox = MailboxOf(*user);
  StoredMessage* message = nullptr;
  for (StoredMessage& m : mailbox.messages) {
    if (m.id == s.message_id) message = &m;
  }
  std::vector<StoredAttachment> no_attachments;
  StoredAttachment* attachment = nullptr;
  for (StoredAttachment& a : message == nullptr ? no_attachments : message->attachments) {
    if (a.id == s.attachment_id) attachment = &a;
  }
  if (attachment == nullptr) {
    uploads_.erase(it);
    return GraphError(404, "ErrorItemNotFound", "The upload session's message no longer exists.");
  }
  if (total != attachment->size) {
    return GraphError(400, "InvalidContentRange",
                      absl::StrCat("Content-Range total ", total,
                                   " differs from the session's size ", attachment->size));
  }
  if (first != s.next) {
    return GraphError(416, "ErrorInvalidRange",
                      absl::StrCat("Expected the range starting at ", s.next, ", got ", first));
  }
  if (!ChargeUpload(mailbox, request.body.size())) {
    ++stats_.throttled;
    return GraphError(429, "ApplicationThrottled",
                      "Application is over its MailboxUploadLimit (150 MB per 5 minutes).",
                      {{"Retry-After", absl::StrCat(options_.retry_after_seconds)}});
  }
  s.hash->Update(request.body);
  s.next = last + 1;
  attachment->received = s.next;
  if (s.next == total) {
    attachment->complete = true;
    attachment->sha256 = s.hash->FinishHex();
    ServerResponse r;
    r.status = 201;
    r.headers = {
        {"Location", absl::StrCat(options_.public_base_url, "/v1.0/users/", s.user_id, "/messages/",
                                  s.message_id, "/attachments/", s.attachment_id)}};
    uploads_.erase(it);
    return r;
  }
  Value out = Value::Object();
  out["expirationDateTime"] = json::Str(FormatGraphTime(s.expires));
  Value ranges = Value::Array();
  ranges[0] = json::Str(absl::StrCat(s.next, "-"));
  out["nextExpectedRanges"] = std::move(ranges);
  return Json(200, out);
}

void GraphSimulator::RevokeTokens() {
  absl::MutexLock lock(&mu_);
  tokens_.clear();
}

ServerResponse GraphSimulator::TokenInfo(const ServerRequest& request) {
  const std::optional<std::string> auth = http::FindHeader(request.headers, "Authorization");
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  auto it = (auth.has_value() && absl::StartsWith(*auth, "Bearer "))
                ? tokens_.find(auth->substr(7))
                : tokens_.end();
  if (it == tokens_.end() || now >= it->second.expires) {
    return TokenError(401, "invalid_token", 80049, "The token is unknown, expired or revoked.");
  }
  // An app-only token: the resource is the scope without "/.default"; its roles are the
  // application permissions an admin consented to for that resource.
  const std::string aud(absl::StripSuffix(it->second.scope, "/.default"));
  Value roles = Value::Array();
  if (absl::StartsWith(aud, kExchangeOnlineResource)) {
    roles[0] = json::Str("IMAP.AccessAsApp");
  } else {
    roles[0] = json::Str("User.Read.All");
    roles[1] = json::Str("Mail.ReadWrite");
  }
  Value body = Value::Object();
  body["aud"] = json::Str(aud);
  body["appid"] = json::Str(options_.client_id);
  body["tid"] = json::Str(options_.tenant_id);
  body["roles"] = std::move(roles);
  body["appidacr"] = json::Str(it->second.by_certificate ? "2" : "1");
  body["exp"] = Value::Number(absl::ToUnixSeconds(it->second.expires));
  return Json(200, body);
}

ServerResponse GraphSimulator::Admin(const ServerRequest& request,
                                     const std::vector<std::string>& segments) {
  if (segments.size() == 2 && segments[1] == "token-info" && request.method == "GET") {
    return TokenInfo(request);
  }
  if (segments.size() == 2 && segments[1] == "revoke-tokens" && request.method == "POST") {
    RevokeTokens();
    log::Info(kComponent, "every issued token revoked");
    return Json(200, Value::Object());
  }
  if (segments.size() == 2 && segments[1] == "stats" && request.method == "GET") {
    const GraphSimStats s = Stats();
    Value body = Value::Object();
    body["tokens_issued"] = Value::Number(s.tokens_issued);
    body["http_requests"] = Value::Number(s.http_requests);
    body["graph_requests"] = Value::Number(s.graph_requests);
    body["user_queries"] = Value::Number(s.user_queries);
    body["user_gets"] = Value::Number(s.user_gets);
    body["batches"] = Value::Number(s.batches);
    body["batch_requests"] = Value::Number(s.batch_requests);
    body["max_batch_size"] = Value::Number(s.max_batch_size);
    body["group_member_pages"] = Value::Number(s.group_member_pages);
    body["throttled"] = Value::Number(s.throttled);
    body["mailbox_requests"] = Value::Number(s.mailbox_requests);
    body["upload_puts"] = Value::Number(s.upload_puts);
    body["failed_upload_puts"] = Value::Number(s.failed_upload_puts);
    Value lookups = Value::Object();
    for (const auto& [address, n] : s.address_lookups) lookups[address] = Value::Number(n);
    body["address_lookups"] = std::move(lookups);
    return Json(200, body);
  }
  if (segments.size() == 2 && segments[1] == "throttle" && request.method == "POST") {
    absl::StatusOr<json::Value> req = json::Parse(request.body, "throttle settings");
    if (!req.ok()) return GraphError(400, "BadRequest", req.status().message());
    SetThrottling(static_cast<int>(json::Int(*req, "every_n", 0)),
                  static_cast<int>(json::Int(*req, "per_second", 0)),
                  static_cast<int>(json::Int(*req, "retry_after", 1)));
    log::Info(kComponent, "throttling configured", {{"config", request.body}});
    return Json(200, *req);
  }
  if (segments.size() == 2 && segments[1] == "faults" && request.method == "POST") {
    absl::StatusOr<json::Value> req = json::Parse(request.body, "fault settings");
    if (!req.ok()) return GraphError(400, "BadRequest", req.status().message());
    SetUploadFaults(static_cast<int>(json::Int(*req, "fail_upload_put_every", 0)),
                    static_cast<int>(json::Int(*req, "fail_upload_put_at", 0)));
    const json::Value refuse = json::Object(*req, "refuse_address_lookups");
    if (refuse.IsObject()) {
      std::map<std::string, int> faults;
      for (const auto& [address, status] : refuse.AsObject()) {
        if (status.IsInteger()) faults[absl::AsciiStrToLower(address)] = status.AsInt();
      }
      SetAddressFaults(std::move(faults));
    }
    log::Info(kComponent, "upload faults configured", {{"config", request.body}});
    return Json(200, *req);
  }
  if (segments.size() >= 3 && segments[1] == "mailboxes" && request.method == "GET") {
    const GraphUser* user = directory_.FindUser(segments[2]);
    for (const GraphUser& u : directory_.users) {
      if (user == nullptr && !u.mail.empty() && absl::EqualsIgnoreCase(u.mail, segments[2]))
        user = &u;
    }
    if (user == nullptr) return GraphError(404, "ErrorInvalidUser", "No such user.");
    absl::MutexLock lock(&mu_);
    Mailbox& mailbox = MailboxOf(*user);
    if (segments.size() == 6 && segments[3] == "messages" && segments[5] == "mime") {
      for (const StoredMessage& m : mailbox.messages) {
        if (m.id != segments[4]) continue;
        ServerResponse r;
        r.headers = {{"Content-Type", "message/rfc822"}};
        r.body = m.mime;
        return r;
      }
      return GraphError(404, "ErrorItemNotFound", "No such message.");
    }
    if (segments.size() != 3) return GraphError(404, "BadRequest", "Unknown admin path.");
    auto folder_name = [&](const std::string& id) {
      for (const StoredFolder& f : mailbox.folders) {
        if (f.id == id) return f.display_name;
      }
      return std::string();
    };
    Value folders = Value::Array();
    for (size_t i = 0; i < mailbox.folders.size(); ++i) {
      Value f = Value::Object();
      f["id"] = json::Str(mailbox.folders[i].id);
      f["displayName"] = json::Str(mailbox.folders[i].display_name);
      f["parentFolderId"] = json::Str(mailbox.folders[i].parent_id);
      folders[i] = std::move(f);
    }
    Value messages = Value::Array();
    for (size_t i = 0; i < mailbox.messages.size(); ++i) {
      const StoredMessage& m = mailbox.messages[i];
      Value e = Value::Object();
      e["id"] = json::Str(m.id);
      e["internetMessageId"] = json::Str(m.internet_message_id);
      e["subject"] = json::Str(m.subject);
      e["folder"] = json::Str(folder_name(m.folder_id));
      e["folderId"] = json::Str(m.folder_id);
      e["size"] = Value::Number(static_cast<uint64_t>(m.mime.size()));
      e["sha256"] = json::Str(crypto::Sha256Hex(m.mime));
      e["isDraft"] = Value::Boolean(m.is_draft);
      e["isRead"] = Value::Boolean(m.is_read);
      e["receivedDateTime"] = json::Str(FormatGraphTime(m.received));
      e["createdFrom"] = json::Str(m.mime.empty() ? "json" : "mime");
      Value atts = Value::Array();
      for (size_t j = 0; j < m.attachments.size(); ++j) {
        const StoredAttachment& a = m.attachments[j];
        Value av = Value::Object();
        av["id"] = json::Str(a.id);
        av["name"] = json::Str(a.name);
        av["size"] = Value::Number(a.size);
        av["received"] = Value::Number(a.received);
        av["sha256"] = json::Str(a.sha256);
        av["complete"] = Value::Boolean(a.complete);
        atts[j] = std::move(av);
      }
      e["attachments"] = std::move(atts);
      messages[i] = std::move(e);
    }
    Value body = Value::Object();
    body["user"] = json::Str(user->id);
    body["mail"] = json::Str(user->mail);
    body["folders"] = std::move(folders);
    body["messages"] = std::move(messages);
    return Json(200, body);
  }
  return GraphError(404, "BadRequest",
                    "Admin routes: GET /_sim/stats, POST /_sim/throttle, POST /_sim/faults, "
                    "GET /_sim/mailboxes/{user}");
}

}  // namespace zarc::graph_sim
