#include "runtime/http/http_types.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(HttpTypesTest, FindHeaderIgnoresCaseAndReturnsFirst) {
  const Headers headers = {{"Content-Type", "a"}, {"X-Repeat", "1"}, {"x-repeat", "2"}};
  EXPECT_EQ(FindHeader(headers, "content-type"), "a");
  EXPECT_EQ(FindHeader(headers, "X-REPEAT"), "1");
  EXPECT_EQ(FindHeader(headers, "missing"), std::nullopt);
}

TEST(HttpTypesTest, ParseQueryDecodesPairs) {
  EXPECT_THAT(ParseQuery("a=1&b=x%20y&c=p+q&flag&&d="),
              ElementsAre(Pair("a", "1"), Pair("b", "x y"), Pair("c", "p q"), Pair("flag", ""),
                          Pair("d", "")));
  EXPECT_EQ(QueryParam("a=1&next_page_token=abc%3D", "next_page_token"), "abc=");
  EXPECT_EQ(QueryParam("a=1", "b"), std::nullopt);
}

TEST(HttpTypesTest, PercentDecodeKeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("%2Fa%2fb"), "/a/b");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
}

TEST(HttpTypesTest, PercentEncodeLeavesOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("a b/c+d=\xC3\xA9"), "a%20b%2Fc%2Bd%3D%C3%A9");
  EXPECT_EQ(PercentDecode(PercentEncode("/x==/y")), "/x==/y");
}

TEST(HttpTypesTest, ParseOriginGivesSchemeHostAndEffectivePort) {
  std::optional<UrlOrigin> o = ParseOrigin("HTTPS://Graph.Microsoft.com/v1.0/users?$top=1");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(FormatOrigin(*o), "https://graph.microsoft.com:443");
  EXPECT_EQ(ParseOrigin("https://graph.microsoft.com:443/x"), o);
  EXPECT_NE(ParseOrigin("http://graph.microsoft.com/x"), o);
  EXPECT_NE(ParseOrigin("https://graph.microsoft.com:8443/x"), o);
  EXPECT_EQ(ParseOrigin("http://127.0.0.1:8080")->port, 8080);
  EXPECT_EQ(ParseOrigin("http://[::1]:9000/a")->host, "[::1]");
  // Ambiguous or not http(s): no origin, so no credential goes there.
  EXPECT_FALSE(ParseOrigin("https://graph.microsoft.com@evil.test/").has_value());
  EXPECT_FALSE(ParseOrigin("https://evil.test\\@graph.microsoft.com/").has_value());
  EXPECT_FALSE(ParseOrigin("https://graph.microsoft.com:443x/").has_value());
  EXPECT_FALSE(ParseOrigin("https://graph.microsoft.com:0/").has_value());
  EXPECT_FALSE(ParseOrigin("ftp://graph.microsoft.com/").has_value());
  EXPECT_FALSE(ParseOrigin("/v1.0/users").has_value());
  EXPECT_FALSE(ParseOrigin("https:///path").has_value());
}

}  // namespace
}  // namespace zarc::http
