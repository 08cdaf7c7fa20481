#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/http/http_types.h"

namespace zarc::zoom_sim {

// A webhook POST as Zoom sends it (README "Webhooks"): JSON body, `x-zm-request-timestamp` in
// seconds and `x-zm-signature: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))`.
struct WebhookRequest {
  std::string url;
  http::Headers headers;
  std::string body;
};

std::string WebhookSignature(absl::string_view secret, int64_t timestamp_s,
                             absl::string_view body);
WebhookRequest SignWebhook(absl::string_view url, absl::string_view secret,
                           absl::string_view body, absl::Time now);

// The body of `endpoint.url_validation` for `plain_token`.
std::string UrlValidationBody(absl::string_view plain_token, absl::Time now);
// Checks the endpoint's answer: JSON with the same plainToken and
// encryptedToken = hex(HMAC-SHA256(secret, plainToken)).
absl::Status CheckUrlValidationReply(absl::string_view secret, absl::string_view plain_token,
                                     int status, absl::string_view reply_body);

}  // namespace zarc::zoom_sim
