#include "services/fetcher/zoom_webhook.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "runtime/crypto/digest.h"

namespace zarc::fetcher {

std::string WebhookSignature(absl::string_view secret, absl::string_view timestamp,
                             absl::string_view body) {
  return absl::StrCat("v0=", crypto::HmacSha256Hex(secret, absl::StrCat("v0:", timestamp, ":", body)));
}

absl::Status VerifyWebhookSignature(absl::string_view secret, absl::string_view timestamp_header,
                                    absl::string_view signature_header, absl::string_view body,
                                    absl::Time now, absl::Duration tolerance) {
  if (secret.empty()) {
    return absl::FailedPreconditionError(
        "webhook secret token is not configured (fetcher.webhook_secret): refusing every event");
  }
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(timestamp_header, &seconds)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "x-zm-request-timestamp \"", timestamp_header.substr(0, 32), "\" is not a number of seconds"));
  }
  const absl::Duration skew = absl::AbsDuration(now - absl::FromUnixSeconds(seconds));
  if (skew > tolerance) {
    return absl::UnauthenticatedError(absl::StrCat("stale webhook: x-zm-request-timestamp is ",
                                                   absl::FormatDuration(skew), " away from now"));
  }
  if (!absl::StartsWith(signature_header, "v0=")) {
    return absl::UnauthenticatedError("x-zm-signature is missing or not of the form v0=HEX");
  }
  if (!crypto::ConstantTimeEquals(WebhookSignature(secret, timestamp_header, body),
                                  signature_header)) {
    return absl::UnauthenticatedError("x-zm-signature does not match the body: forged or altered");
  }
  return absl::OkStatus();
}

std::string UrlValidationResponse(absl::string_view secret, absl::string_view plain_token) {
  json::Value v = json::Value::Object();
  v["plainToken"] = json::Str(plain_token);
  v["encryptedToken"] = json::Str(crypto::HmacSha256Hex(secret, plain_token));
  return json::Serialize(v);
}

absl::StatusOr<WebhookEvent> ParseWebhookEvent(absl::string_view body) {
  absl::StatusOr<json::Value> v = json::Parse(body, "webhook body");
  if (!v.ok()) return v.status();
  WebhookEvent e;
  e.event = json::String(*v, "event");
  if (e.event.empty()) return absl::InvalidArgumentError("webhook body has no \"event\"");
  e.event_ts = json::Int(*v, "event_ts");
  e.download_token = json::String(*v, "download_token");
  const json::Value payload = json::Object(*v, "payload");
  e.account_id = json::String(payload, "account_id");
  e.object = json::Object(payload, "object");
  e.plain_token = json::String(payload, "plainToken");
  if (e.event == "endpoint.url_validation" && e.plain_token.empty()) {
    return absl::InvalidArgumentError("endpoint.url_validation without payload.plainToken");
  }
  return e;
}

}  // namespace zarc::fetcher
