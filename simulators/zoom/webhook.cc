#include "simulators/zoom/webhook.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "cpprest/json.h"
#include "runtime/crypto/digest.h"

namespace zarc::zoom_sim {

using web::json::value;

std::string WebhookSignature(absl::string_view secret, int64_t timestamp_s,
                             absl::string_view body) {
  return absl::StrCat("v0=",
                      crypto::HmacSha256Hex(secret, absl::StrCat("v0:", timestamp_s, ":", body)));
}

WebhookRequest SignWebhook(absl::string_view url, absl::string_view secret,
                           absl::string_view body, absl::Time now) {
  const int64_t ts = absl::ToUnixSeconds(now);
  WebhookRequest request;
  request.url = std::string(url);
  request.body = std::string(body);
  request.headers = {{"Content-Type", "application/json; charset=utf-8"},
                     {"User-Agent", "Zoom Marketplace/1.0a"},
                     {"x-zm-request-timestamp", absl::StrCat(ts)},
                     {"x-zm-signature", WebhookSignature(secret, ts, body)}};
  return request;
}

std::string UrlValidationBody(absl::string_view plain_token, absl::Time now) {
  value payload = value::object();
  payload["plainToken"] = value::string(std::string(plain_token));
  value root = value::object();
  root["payload"] = std::move(payload);
  root["event_ts"] = value::number(absl::ToUnixMillis(now));
  root["event"] = value::string("endpoint.url_validation");
  return root.serialize();
}

absl::Status CheckUrlValidationReply(absl::string_view secret, absl::string_view plain_token,
                                     int status, absl::string_view reply_body) {
  if (status != 200) {
    return absl::FailedPreconditionError(absl::StrCat(
        "endpoint.url_validation: the endpoint answered HTTP ", status, ", Zoom requires 200"));
  }
  value reply;
  try {
    reply = value::parse(std::string(reply_body));
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat(
        "endpoint.url_validation: the answer is not JSON (", e.what(), ")"));
  }
  if (!reply.is_object() || !reply.has_string_field("plainToken") ||
      !reply.has_string_field("encryptedToken")) {
    return absl::FailedPreconditionError(
        "endpoint.url_validation: the answer must be {\"plainToken\": ..., \"encryptedToken\": "
        "...}");
  }
  if (reply.at("plainToken").as_string() != plain_token) {
    return absl::FailedPreconditionError(
        "endpoint.url_validation: plainToken in the answer differs from the one sent");
  }
  const std::string expected = crypto::HmacSha256Hex(secret, plain_token);
  if (!crypto::ConstantTimeEquals(reply.at("encryptedToken").as_string(), expected)) {
    return absl::FailedPreconditionError(
        "endpoint.url_validation: encryptedToken is not hex(HMAC-SHA256(secret, plainToken)); "
        "check the endpoint's webhook secret token");
  }
  return absl::OkStatus();
}

}  // namespace zarc::zoom_sim
