#include "runtime/entra/token_source.h"

#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/crypto/jws.h"
#include "runtime/json/json.h"
#include "runtime/log/log.h"

namespace zarc::entra {
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
  if (!v.ok() || !v->is_object()) return absl::StrCat(body.size(), " bytes that are not JSON");
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
  json::Value header = json::Value::object();
  header["alg"] = json::Str(crypto::JwsAlgorithmName(*alg));
  header["typ"] = json::Str("JWT");
  header["x5t#S256"] = json::Str(crypto::Base64UrlEncode((*cert)->Sha256Thumbprint()));
  if (*alg == crypto::JwsAlgorithm::kRs256) {
    header["x5t"] = json::Str(crypto::Base64UrlEncode((*cert)->Sha1Thumbprint()));
  }
  const int64_t seconds = absl::ToUnixSeconds(now);
  json::Value claims = json::Value::object();
  claims["aud"] = json::Str(TokenEndpoint(c));
  claims["iss"] = json::Str(c.client_id);
  claims["sub"] = json::Str(c.client_id);
  claims["jti"] = json::Str(RandomGuid());
  claims["nbf"] = json::Value::number(seconds);
  claims["iat"] = json::Value::number(seconds);
  claims["exp"] = json::Value::number(seconds + absl::ToInt64Seconds(kAssertionLifetime));
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

absl::StatusOr<std::string> TokenSource::Token() {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = now_ ? now_() : absl::Now();
  if (!token_.empty() && now + absl::Minutes(5) < expires_) return token_;
  const std::string url = TokenEndpoint(credentials_);
  http::ClientRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  std::string credential;
  if (!credentials_.certificate_file.empty()) {
    absl::StatusOr<std::string> assertion = ClientAssertion(credentials_, now);
    if (!assertion.ok()) {
      return absl::UnavailableError(absl::StrCat("no client assertion for the token request: ",
                                                 assertion.status().message(),
                                                 "; retried until it can be made"));
    }
    credential = absl::StrCat(
        "&client_assertion_type=",
        http::PercentEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        "&client_assertion=", *assertion);
  } else {
    credential = absl::StrCat("&client_secret=", http::PercentEncode(credentials_.client_secret));
  }
  req.body = absl::StrCat("client_id=", http::PercentEncode(credentials_.client_id), credential,
                          "&scope=", http::PercentEncode(scope_),
                          "&grant_type=client_credentials");
  req.timeout = absl::Seconds(30);
  absl::StatusOr<http::ClientResponse> resp = http_.Send(req);
  if (!resp.ok()) {
    return absl::UnavailableError(absl::StrCat("Microsoft identity platform unreachable at ",
                                               http::RedactUrl(url), ": ",
                                               resp.status().message()));
  }
  if (resp->status != 200) {
    const std::string detail = ErrorSummary(resp->body);
    if (resp->status >= 500 || resp->status == 429) {
      return absl::UnavailableError(absl::StrCat("the token endpoint answered HTTP ", resp->status,
                                                 " (", detail, "); it will be retried"));
    }
    // An expired or wrong secret or certificate is the deployment's problem, never an item's:
    // UNAVAILABLE, so work waits for the fix instead of failing.
    return absl::UnavailableError(absl::StrCat(
        "the token endpoint refused the app's credentials for ", scope_, " (HTTP ", resp->status,
        ", ", detail, "); check ", CredentialSettings(credentials_, "graph"),
        "; retried until they work"));
  }
  absl::StatusOr<json::Value> body = json::Parse(resp->body, "token response");
  if (!body.ok()) return absl::UnavailableError(body.status().message());
  std::string token = json::String(*body, "access_token");
  if (token.empty()) return absl::UnavailableError("the token response has no access_token");
  token_ = std::move(token);
  expires_ = now + absl::Seconds(json::Int(*body, "expires_in", 3599));
  log::Info(kComponent, "token refreshed",
            {{"scope", scope_},
             {"credential", credentials_.certificate_file.empty() ? "secret" : "certificate"},
             {"expires_in_s", json::Int(*body, "expires_in", 3599)}});
  return token_;
}

void TokenSource::Invalidate(const std::string& token) {
  absl::MutexLock lock(&mutex_);
  if (token == token_) token_.clear();
}

}  // namespace zarc::entra
