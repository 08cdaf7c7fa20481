#include "services/fetcher/zoom_webhook.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"

namespace zarc::fetcher {
namespace {

using ::testing::HasSubstr;

constexpr char kSecret[] = "whsec-test";
constexpr char kBody[] = R"({"event":"recording.completed","event_ts":1700000000000,"payload":{"account_id":"acc","object":{"uuid":"u1"}},"download_token":"dt"})";

TEST(ZoomWebhookTest, AcceptsZoomsSignatureComputedIndependently) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  // Computed by hand from Zoom's rule: v0= hex(HMAC-SHA256(secret, "v0:{ts}:{body}")).
  const std::string sig =
      "v0=" + crypto::HmacSha256Hex(kSecret, std::string("v0:1700000000:") + kBody);
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, "1700000000", sig, kBody, now).ok());
  EXPECT_EQ(WebhookSignature(kSecret, "1700000000", kBody), sig);
}

TEST(ZoomWebhookTest, RejectsForgedAlteredAndStaleEvents) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  const std::string good = WebhookSignature(kSecret, "1700000000", kBody);
  absl::Status forged = VerifyWebhookSignature(kSecret, "1700000000",
                                               WebhookSignature("other", "1700000000", kBody), kBody, now);
  EXPECT_EQ(forged.code(), absl::StatusCode::kUnauthenticated);
  std::string altered = kBody;
  altered[10] = 'X';
  EXPECT_EQ(VerifyWebhookSignature(kSecret, "1700000000", good, altered, now).code(),
            absl::StatusCode::kUnauthenticated);
  absl::Status stale = VerifyWebhookSignature(
      kSecret, "1700000000", good, kBody, now + absl::Minutes(6));
  EXPECT_THAT(stale.message(), HasSubstr("stale"));
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "abc", good, kBody, now).ok());
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "1700000000", "", kBody, now).ok());
  EXPECT_EQ(VerifyWebhookSignature("", "1700000000", good, kBody, now).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ZoomWebhookTest, UrlValidationAnswersWithHmacOfPlainToken) {
  const std::string answer = UrlValidationResponse(kSecret, "qgg8vlvZRS6UYooatFL8Aw");
  EXPECT_THAT(answer, HasSubstr("\"plainToken\":\"qgg8vlvZRS6UYooatFL8Aw\""));
  EXPECT_THAT(answer, HasSubstr(crypto::HmacSha256Hex(kSecret, "qgg8vlvZRS6UYooatFL8Aw")));
}

TEST(ZoomWebhookTest, ParsesEventsAndRefusesMalformedOnes) {
  absl::StatusOr<WebhookEvent> e = ParseWebhookEvent(kBody);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->event, "recording.completed");
  EXPECT_EQ(e->account_id, "acc");
  EXPECT_EQ(e->download_token, "dt");
  EXPECT_EQ(json::String(e->object, "uuid"), "u1");
  EXPECT_FALSE(ParseWebhookEvent("{not json").ok());
  EXPECT_FALSE(ParseWebhookEvent(R"({"payload":{}})").ok());
  EXPECT_FALSE(ParseWebhookEvent(R"({"event":"endpoint.url_validation","payload":{}})").ok());
}

}  // namespace
}  // namespace zarc::fetcher
