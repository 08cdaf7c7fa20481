#include "services/fetcher/url_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/fetcher/fetcher_config.h"

namespace zarc::fetcher {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ZoomHostPolicyTest, AllowsZoomDomainsAndTheirSubdomainsOnly) {
  ZoomHostPolicy policy({"zoom.us", "zoom.com"});
  EXPECT_TRUE(policy.Allows("https://zoom.us/rec/download/x"));
  EXPECT_TRUE(policy.Allows("https://us06web.ZOOM.us/rec/download/x?access_token=y"));
  EXPECT_TRUE(policy.Allows("https://zoom.com:443/rec/download/x"));
  EXPECT_FALSE(policy.Allows("https://evilzoom.us/x"));
  EXPECT_FALSE(policy.Allows("https://zoom.us.evil.com/x"));
  EXPECT_FALSE(policy.Allows("https://zoom.us@evil.com/x"));
  EXPECT_FALSE(policy.Allows("https://evil.com\\@zoom.us/x"));
  EXPECT_FALSE(policy.Allows("ftp://zoom.us/x"));
  EXPECT_FALSE(policy.Allows("not a url"));
}

TEST(ZoomHostPolicyTest, ZoomDomainsGetTheTokenOnlyOverTlsOnTheDefaultPort) {
  ZoomHostPolicy policy({"zoom.us"});
  EXPECT_FALSE(policy.Allows("http://zoom.us/rec/download/x"));
  EXPECT_FALSE(policy.Allows("http://us06web.zoom.us/rec/download/x"));
  EXPECT_FALSE(policy.Allows("https://zoom.us:8443/rec/download/x"));
  EXPECT_FALSE(policy.Allows("https://us06web.zoom.us:80/rec/download/x"));
}

TEST(ZoomHostPolicyTest, ConfiguredUrlsAreAllowedExactlyAsConfigured) {
  FetcherConfig config;
  config.zoom_domains = {"zoom.us"};
  config.zoom_api_url = "http://127.0.0.1:8080/v2";
  config.zoom_oauth_url = "https://login.zoomgov.example/oauth/token";
  const ZoomHostPolicy policy = ZoomHostsFor(config);
  EXPECT_TRUE(policy.Allows("http://127.0.0.1:8080/rec/download/1"));
  EXPECT_FALSE(policy.Allows("http://127.0.0.1:9090/rec/download/1"));
  EXPECT_FALSE(policy.Allows("https://127.0.0.1:8080/rec/download/1"));
  EXPECT_TRUE(policy.Allows("https://login.zoomgov.example/oauth/token"));
  EXPECT_FALSE(policy.Allows("http://login.zoomgov.example/oauth/token"));
  EXPECT_FALSE(policy.Allows("https://sub.login.zoomgov.example/x")) << "exact, not subdomains";
}

TEST(ZoomHostPolicyTest, RefusalNamesTheHostButNotTheQuery) {
  ZoomHostPolicy policy({"zoom.us"});
  absl::Status s = policy.Check("https://storage.example.net/f?token=SECRET");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("storage.example.net"));
  EXPECT_THAT(s.message(), Not(HasSubstr("SECRET")));
  s = policy.Check("http://zoom.us/rec/download/x?access_token=SECRET");
  EXPECT_THAT(s.message(), HasSubstr("http://zoom.us:80"));
  EXPECT_THAT(s.message(), Not(HasSubstr("SECRET")));
}

TEST(ZoomHostPolicyTest, AZoomDomainWithAPortOrSchemeIsAConfigurationError) {
  EXPECT_TRUE(CheckZoomDomain("zoom.us").ok());
  EXPECT_THAT(CheckZoomDomain("127.0.0.1:8080").message(), HasSubstr("zoom.api_url"));
  EXPECT_FALSE(CheckZoomDomain("https://zoom.us").ok());
  config::Sources sources{.args = {"--zoom.domains=zoom.us,127.0.0.1:8080"}};
  absl::StatusOr<FetcherConfig> loaded = FetcherSchema().Load(sources);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("127.0.0.1:8080"));
}

}  // namespace
}  // namespace zarc::fetcher
