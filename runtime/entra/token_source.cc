#include "runtime/entra/token_source.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/common_options/graph_config.h"
#include "runtime/crypto/digest.h"
#include "runtime/crypto/jws.h"
#include "runtime/json/json.h"
#include "runtime/log/log.h"

namespace zarc::entra {

Credentials CredentialsOf(const common_options::GraphConfig& graph) {
  return Credentials{.login_url = graph.login_url,
                     .tenant_id = graph.tenant_id,
                     .client_id = graph.client_id,
                     .client_secret = graph.client_secret,
                     .certificate_file = graph.client_certificate_file,
                     .assertion_algorithm = graph.client_assertion_algorithm};
}

namespace {

constexpr absl::string_view kComponent = "entra";
constexpr absl::Duration kAssertionLifetime = absl::Minutes(10);

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// error: error_description of an identity platform answer; never the body itself when it is not
// that shape (it may be anything a proxy returns).
std::string ErrorSummary(const std::string& body) {
  absl::StatusOr<json::Value> v = json::Parse(body, "token error");
  if (!v.ok() || !v->IsObject()) return absl::StrCat(body.size(), " bytes that are not JSON");
  return absl::StrCat(json::String(*v, "error"), ": ",
                      json::String(*v, "error_description").substr(0, 300));
}

std::string RandomGuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng(), b = rng();
  const std::string hex = crypto::HexEncode(
      absl::StrCat(std::string(reinterpret_cast<const char*>(&a), 8),
                   std::string(reinterpret_cast<const char*>(&b), 8)));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

}  // namespace

std::string CredentialSettings(const Credentials& c, absl::string_view prefix) {
  if (!c.certificate_file.empty()) {
    return absl::StrCat(prefix, ".tenant_id, ", prefix, ".client_id and ", prefix,
                        ".client_certificate_file (its certificate must be registered on the app)");
  }
  return absl::StrCat(prefix, ".tenant_id, ", prefix, ".client_id and ", prefix, ".client_secret");
}

std::string TokenEndpoint(const Credentials& c) {
  return absl::StrCat(TrimSlash(c.login_url), "/", http::PercentEncode(c.tenant_id),
                      "/oauth2/v2.0/token");
}

absl::StatusOr<std::string> ClientAssertion(const Credentials& c, absl::Time now) {
  absl::StatusOr<crypto::JwsAlgorithm> alg = crypto::ParseJwsAlgorithm(c.assertion_algorithm);
  if (!alg.ok()) return alg.status();
  absl::StatusOr<std::unique_ptr<crypto::SigningCertificate>> cert =
      crypto::SigningCertificate::FromPemFile(c.certificate_file);
  if (!cert.ok()) return cert.status();
  json::Value header = json::Value::Object();
  header["alg"] = json::Str(crypto::JwsAlgorithmName(*alg));
  header["typ"] = json::Str("JWT");
  header["x5t#S256"] = json::Str(crypto::Base64UrlEncode((*cert)->Sha256Thumbprint()));
  if (*alg == crypto::JwsAlgorithm::kRs256) {
    header["x5t"] = json::Str(crypto::Base64UrlEncode((*cert)->Sha1Thumbprint()));
  }
  const int64_t seconds = absl::ToUnixSeconds(now);
  json::Value claims = json::Value::Object();
  claims["aud"] = json::Str(TokenEndpoint(c));
  claims["iss"] = json::Str(c.client_id);
  claims["sub"] = json::Str(c.client_id);
  claims["jti"] = json::Str(RandomGuid());
  claims["nbf"] = json::Value::Number(seconds);
  claims["iat"] = json::Value::Number(seconds);
  claims["exp"] = json::Value::Number(seconds + absl::ToInt64Seconds(kAssertionLifetime));
  const std::string input = absl::StrCat(crypto::Base64UrlEncode(json::Serialize(header)), ".",
                                         crypto::Base64UrlEncode(json::Serialize(claims)));
  absl::StatusOr<std::string> signature = (*cert)->Sign(*alg, input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(input, ".", crypto::Base64UrlEncode(*signature));
}

TokenSource::TokenSource(http::HttpClient& http, Credentials credentials, std::string scope,
                         std::function<absl::Time()> now)
    : http_(http),
      credentials_(std::move(credentials)),
      scope_(std::move(scope)),
      now_(std::move(now)) {}

TokenSource::~TokenSource() = default;

namespace {

std::string Settings(const Credentials& c) {
  return c.settings.empty() ? CredentialSettings(c, "graph") : c.settings;
}

const char* CredentialKind(const Credentials& c) {
  if (c.managed_identity) return "managed identity";
  if (!c.federated_token_file.empty()) return "federated token";
  return c.certificate_file.empty() ? "secret" : "certificate";
}

// The token request for `c`: the IMDS GET for a managed identity, else the client credentials
// grant with a secret, a client assertion of our own, or the platform's federated token.
absl::StatusOr<http::ClientRequest> TokenRequest(const Credentials& c, absl::string_view scope,
                                                 absl::Time now) {
  http::ClientRequest req;
  req.timeout = absl::Seconds(30);
  if (c.managed_identity) {
    // IMDS names the resource, not a scope.
    req.url = absl::StrCat(c.imds_endpoint, "?api-version=2018-02-01&resource=",
                           http::PercentEncode(absl::StripSuffix(scope, "/.default")));
    if (!c.client_id.empty()) absl::StrAppend(&req.url, "&client_id=", http::PercentEncode(c.client_id));
    req.headers = {{"Metadata", "true"}};
    return req;
  }
  req.method = "POST";
  req.url = TokenEndpoint(c);
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  std::string credential;
  if (!c.certificate_file.empty() || !c.federated_token_file.empty()) {
    absl::StatusOr<std::string> assertion;
    if (!c.federated_token_file.empty()) {
      assertion = ReadFederatedToken(c.federated_token_file);
    } else {
      assertion = ClientAssertion(c, now);
    }
    if (!assertion.ok()) {
      return absl::UnavailableError(absl::StrCat("no client assertion for the token request: ",
                                                 assertion.status().message(),
                                                 "; retried until it can be made"));
    }
    credential = absl::StrCat(
        "&client_assertion_type=",
        http::PercentEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        "&client_assertion=", http::PercentEncode(*assertion));
  } else {
    credential = absl::StrCat("&client_secret=", http::PercentEncode(c.client_secret));
  }
  req.body = absl::StrCat("client_id=", http::PercentEncode(c.client_id), credential,
                          "&scope=", http::PercentEncode(scope), "&grant_type=client_credentials");
  return req;
}

}  // namespace

absl::StatusOr<std::string> ReadFederatedToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::UnavailableError(absl::StrCat("cannot read the federated token file \"", path,
                                               "\" (AZURE_FEDERATED_TOKEN_FILE)"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(text.str()));
  if (token.empty()) {
    return absl::UnavailableError(absl::StrCat("the federated token file \"", path,
                                               "\" is empty (being rotated?)"));
  }
  return token;
}

absl::StatusOr<std::string> TokenSource::Token() {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = now_ ? now_() : absl::Now();
  if (!token_.empty() && now + absl::Minutes(5) < expires_) return token_;
  absl::StatusOr<http::ClientRequest> req = TokenRequest(credentials_, scope_, now);
  if (!req.ok()) return req.status();
  const std::string where = credentials_.managed_identity ? "the managed identity endpoint"
                                                          : "Microsoft identity platform";
  absl::StatusOr<http::ClientResponse> resp = http_.Send(*req);
  if (!resp.ok()) {
    return absl::UnavailableError(absl::StrCat(where, " unreachable at ", http::RedactUrl(req->url),
                                               ": ", resp.status().message()));
  }
  if (resp->status != 200) {
    const std::string detail = ErrorSummary(resp->body);
    if (resp->status >= 500 || resp->status == 429) {
      return absl::UnavailableError(absl::StrCat(where, " answered HTTP ", resp->status, " (",
                                                 detail, "); it will be retried"));
    }
    // An expired or wrong secret or certificate is the deployment's problem, never an item's:
    // UNAVAILABLE, so work waits for the fix instead of failing.
    return absl::UnavailableError(absl::StrCat(
        where, " refused the app's credentials for ", scope_, " (HTTP ", resp->status, ", ", detail,
        "); check ", Settings(credentials_), "; retried until they work"));
  }
  absl::StatusOr<json::Value> body = json::Parse(resp->body, "token response");
  if (!body.ok()) return absl::UnavailableError(body.status().message());
  std::string token = json::String(*body, "access_token");
  if (token.empty()) return absl::UnavailableError("the token response has no access_token");
  // The token endpoint gives expires_in as a number, IMDS as a string.
  int64_t expires_in = json::Int(*body, "expires_in", 0);
  if (expires_in <= 0 && !absl::SimpleAtoi(json::String(*body, "expires_in"), &expires_in)) {
    expires_in = 3599;
  }
  token_ = std::move(token);
  expires_ = now + absl::Seconds(expires_in);
  log::Info(kComponent, "token refreshed",
            {{"scope", scope_}, {"credential", CredentialKind(credentials_)},
             {"expires_in_s", expires_in}});
  return token_;
}

void TokenSource::Invalidate(const std::string& token) {
  absl::MutexLock lock(&mutex_);
  if (token == token_) token_.clear();
}

}  // namespace zarc::entra
