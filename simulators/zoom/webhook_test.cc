#include "simulators/zoom/webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace zarc::zoom_sim {
namespace {

// HMAC-SHA256 through OpenSSL directly, independent of zarc's crypto wrapper.
std::string IndependentHmacHex(const std::string& key, const std::string& message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(byte, sizeof(byte), "%02x", out[i]);
    hex += byte;
  }
  return hex;
}

TEST(WebhookTest, SignatureMatchesAnIndependentHmac) {
  const std::string body = R"({"event":"meeting.ended","payload":{"object":{"topic":"Zoë"}}})";
  const absl::Time now = absl::FromUnixSeconds(1709546400);
  WebhookRequest request = SignWebhook("http://127.0.0.1:1/hook", "s3cret", body, now);
  EXPECT_EQ(request.body, body);
  EXPECT_EQ(request.url, "http://127.0.0.1:1/hook");
  EXPECT_EQ(http::FindHeader(request.headers, "x-zm-request-timestamp"), "1709546400");
  EXPECT_EQ(http::FindHeader(request.headers, "x-zm-signature"),
            "v0=" + IndependentHmacHex("s3cret", "v0:1709546400:" + body));
  EXPECT_TRUE(absl::StartsWith(*http::FindHeader(request.headers, "Content-Type"),
                               "application/json"));
  // A different secret or timestamp gives a different signature.
  EXPECT_NE(WebhookSignature("other", 1709546400, body), WebhookSignature("s3cret", 1709546400, body));
  EXPECT_NE(WebhookSignature("s3cret", 1709546401, body), WebhookSignature("s3cret", 1709546400, body));
}

TEST(WebhookTest, UrlValidationBodyAndReplyCheck) {
  const std::string body = UrlValidationBody("plain123", absl::FromUnixSeconds(1709546400));
  EXPECT_TRUE(absl::StrContains(body, R"("event":"endpoint.url_validation")"));
  EXPECT_TRUE(absl::StrContains(body, R"("plainToken":"plain123")"));
  const std::string good = R"({"plainToken":"plain123","encryptedToken":")" +
                           IndependentHmacHex("s3cret", "plain123") + "\"}";
  EXPECT_TRUE(CheckUrlValidationReply("s3cret", "plain123", 200, good).ok());
  EXPECT_FALSE(CheckUrlValidationReply("wrong", "plain123", 200, good).ok());
  EXPECT_FALSE(CheckUrlValidationReply("s3cret", "plain123", 401, good).ok());
  EXPECT_FALSE(CheckUrlValidationReply("s3cret", "other", 200, good).ok());
  EXPECT_FALSE(CheckUrlValidationReply("s3cret", "plain123", 200, "not json").ok());
  EXPECT_FALSE(CheckUrlValidationReply("s3cret", "plain123", 200, R"({"plainToken":"plain123"})").ok());
}

}  // namespace
}  // namespace zarc::zoom_sim
