#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/json/json.h"

namespace zarc::fetcher {

// Zoom webhook verification (Zoom "Verify webhook events"): x-zm-signature is
// "v0=" + hex(HMAC-SHA256(secret token, "v0:{x-zm-request-timestamp}:{raw body}")). A request whose
// timestamp is further than `tolerance` from `now` is refused as a replay.
absl::Status VerifyWebhookSignature(absl::string_view secret, absl::string_view timestamp_header,
                                    absl::string_view signature_header, absl::string_view body,
                                    absl::Time now, absl::Duration tolerance = absl::Minutes(5));

// The signature Zoom would send, for tests and the simulator's self-check.
std::string WebhookSignature(absl::string_view secret, absl::string_view timestamp,
                             absl::string_view body);

// The answer to endpoint.url_validation: {"plainToken": p, "encryptedToken": hex(HMAC(secret, p))}.
std::string UrlValidationResponse(absl::string_view secret, absl::string_view plain_token);

struct WebhookEvent {
  std::string event;          // recording.completed, meeting.ended, ...
  int64_t event_ts = 0;       // milliseconds
  std::string account_id;
  json::Value object;         // payload.object
  std::string download_token; // top-level, recording events only (a secret: never logged)
  std::string plain_token;    // endpoint.url_validation only
};

absl::StatusOr<WebhookEvent> ParseWebhookEvent(absl::string_view body);

}  // namespace zarc::fetcher
