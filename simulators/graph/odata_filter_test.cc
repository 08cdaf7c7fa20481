#include "simulators/graph/odata_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zarc::graph_sim {
namespace {

using ::testing::ElementsAre;

TEST(ODataFilterTest, ParsesMailOrProxyAddressForm) {
  absl::StatusOr<std::vector<FilterTerm>> terms =
      ParseFilter("mail eq 'a@x.com' or proxyAddresses/any(p:p eq 'smtp:a@x.com')");
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_THAT(*terms, ElementsAre(FilterTerm{"mail", false, "a@x.com"},
                                  FilterTerm{"proxyAddresses", true, "smtp:a@x.com"}));
}

TEST(ODataFilterTest, UnescapesDoubledQuotes) {
  absl::StatusOr<std::vector<FilterTerm>> terms = ParseFilter("mail eq 'o''brien@x.com'");
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ((*terms)[0].value, "o'brien@x.com");
  EXPECT_EQ(QuoteODataString("o'brien@x.com"), "'o''brien@x.com'");
}

TEST(ODataFilterTest, RejectsWhatItDoesNotSupport) {
  EXPECT_FALSE(ParseFilter("startswith(mail,'a')").ok());
  EXPECT_FALSE(ParseFilter("mail ne 'a'").ok());
  EXPECT_FALSE(ParseFilter("mail eq 'a' and mail eq 'b'").ok());
  EXPECT_FALSE(ParseFilter("mail eq 'unterminated").ok());
  EXPECT_FALSE(ParseFilter("proxyAddresses/all(p:p eq 'x')").ok());
}

}  // namespace
}  // namespace zarc::graph_sim
