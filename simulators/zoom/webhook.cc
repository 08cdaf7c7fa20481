#include "simulators/zoom/webhook.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {

using json::Value;

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
  Value payload = Value::Object();
  payload["plainToken"] = json::Str(std::string(plain_token));
  Value root = Value::Object();
  root["payload"] = std::move(payload);
  root["event_ts"] = Value::Number(absl::ToUnixMillis(now));
  root["event"] = json::Str("endpoint.url_validation");
  return root.Serialize();
}

absl::Status CheckUrlValidationReply(absl::string_view secret, absl::string_view plain_token,
                                     int status, absl::string_view reply_body) {
  if (status != 200) {
    return absl::FailedPreconditionError(absl::StrCat(
        "endpoint.url_validation: the endpoint answered HTTP ", status, ", Zoom requires 200"));
  }
  Value reply;
  absl::StatusOr<Value> parsed = json::Parse(reply_body, "the answer");
  if (!parsed.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("endpoint.url_validation: ", parsed.status().message()));
  }
  reply = *std::move(parsed);
  if (!reply.IsObject() || !reply.HasString("plainToken") ||
      !reply.HasString("encryptedToken")) {
    return absl::FailedPreconditionError(
        "endpoint.url_validation: the answer must be {\"plainToken\": ..., \"encryptedToken\": "
        "...}");
  }
  if (reply.at("plainToken").AsString() != plain_token) {
    return absl::FailedPreconditionError(
        "endpoint.url_validation: plainToken in the answer differs from the one sent");
  }
  const std::string expected = crypto::HmacSha256Hex(secret, plain_token);
  if (!crypto::ConstantTimeEquals(reply.at("encryptedToken").AsString(), expected)) {
    return absl::FailedPreconditionError(
        "endpoint.url_validation: encryptedToken is not hex(HMAC-SHA256(secret, plainToken)); "
        "check the endpoint's webhook secret token");
  }
  return absl::OkStatus();
}

}  // namespace zarc::zoom_sim
