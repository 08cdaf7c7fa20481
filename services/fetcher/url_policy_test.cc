#include "services/fetcher/url_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc::fetcher {
namespace {

TEST(ZoomHostPolicyTest, AllowsZoomDomainsAndTheirSubdomainsOnly) {
  ZoomHostPolicy policy({"zoom.us", "zoom.com", "127.0.0.1:8080"});
  EXPECT_TRUE(policy.Allows("https://zoom.us/rec/download/x"));
  EXPECT_TRUE(policy.Allows("https://us06web.ZOOM.us/rec/download/x?access_token=y"));
  EXPECT_TRUE(policy.Allows("http://127.0.0.1:8080/rec/download/1"));
  EXPECT_FALSE(policy.Allows("http://127.0.0.1:9090/rec/download/1"));
  EXPECT_FALSE(policy.Allows("https://evilzoom.us/x"));
  EXPECT_FALSE(policy.Allows("https://zoom.us.evil.com/x"));
  EXPECT_FALSE(policy.Allows("https://zoom.us@evil.com/x"));
  EXPECT_FALSE(policy.Allows("ftp://zoom.us/x"));
  EXPECT_FALSE(policy.Allows("not a url"));
}

TEST(ZoomHostPolicyTest, RefusalNamesTheHostButNotTheQuery) {
  ZoomHostPolicy policy({"zoom.us"});
  absl::Status s = policy.Check("https://storage.example.net/f?token=SECRET");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("storage.example.net"));
  EXPECT_THAT(s.message(), ::testing::Not(::testing::HasSubstr("SECRET")));
}

}  // namespace
}  // namespace zarc::fetcher
