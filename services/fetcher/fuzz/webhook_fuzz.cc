// libFuzzer target for what the fetcher's webhook handler (Fetcher::HandleWebhook) does with a
// request from outside: the signature check, then the JSON event and its meeting object. The
// input is the x-zm-request-timestamp header, a line break, the x-zm-signature header, a line
// break, then the body. Also replayed over its corpus by fetcher_fuzz_replay_test.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "runtime/json/json.h"
#include "runtime/testing/fuzz/fuzz_support.h"
#include "services/fetcher/zoom_types.h"
#include "services/fetcher/zoom_webhook.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::fetcher;
  using zarc::fuzz::Require;
  constexpr absl::string_view kSecret = "fuzz-webhook-secret-token";
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::string_view timestamp = zarc::fuzz::TakeLine(input);
  const absl::string_view signature = zarc::fuzz::TakeLine(input);
  const absl::string_view body = input;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);

  const std::string right = WebhookSignature(kSecret, timestamp, body);
  const absl::Status verified = VerifyWebhookSignature(kSecret, timestamp, signature, body, now);
  if (verified.ok()) {
    Require(signature == right, "only the body's own signature is accepted");
  } else {
    Require(!verified.message().empty(), "a refusal says why");
    // (Its quote of the timestamp header shows what the sender sent, which may be anything.)
    Require(absl::StrContains(timestamp, kSecret) ||
                !absl::StrContains(verified.message(), kSecret),
            "a refusal never shows the secret");
    Require(!absl::StrContains(verified.message(), right.substr(3)),
            "a refusal never shows the expected signature");
  }
  int64_t seconds = 0;
  if (absl::SimpleAtoi(timestamp, &seconds) && seconds > -1'000'000'000'000 &&
      seconds < 1'000'000'000'000) {
    const absl::Time sent = absl::FromUnixSeconds(seconds);
    Require(VerifyWebhookSignature(kSecret, timestamp, right, body, sent).ok(),
            "a fresh, correctly signed request is accepted");
    Require(!VerifyWebhookSignature(kSecret, timestamp, right, body, sent + absl::Minutes(6)).ok(),
            "a stale request is refused");
    Require(!VerifyWebhookSignature("another-secret", timestamp, right, body, sent).ok(),
            "another secret's signature is refused");
  }
  Require(!VerifyWebhookSignature("", timestamp, right, body, now).ok(),
          "no secret configured refuses everything");

  absl::StatusOr<WebhookEvent> event = ParseWebhookEvent(body);
  if (!event.ok()) {
    Require(!event.status().message().empty(), "a malformed event says why");
    return 0;
  }
  Require(!event->event.empty(), "a parsed event has a name");
  if (event->event == "endpoint.url_validation") {
    Require(!event->plain_token.empty(), "a validation carries its plainToken");
    absl::StatusOr<zarc::json::Value> answer =
        zarc::json::Parse(UrlValidationResponse(kSecret, event->plain_token), "answer");
    Require(answer.ok(), "the validation answer is JSON");
    Require(zarc::json::String(*answer, "plainToken") == event->plain_token,
            "the validation answer echoes the plainToken");
  }
  const ZoomMeeting meeting = MeetingFromJson(event->object);
  Require(meeting.files.size() <= body.size() / 2, "no more files than the body holds");
  for (const ZoomFile& f : meeting.files) Require(!f.StableId().empty(), "every file has an id");
  return 0;
}
