#include "runtime/json/json.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc::json {
namespace {

using ::testing::HasSubstr;

TEST(JsonTest, ReadsFieldsOfEitherTypeWithoutThrowing) {
  absl::StatusOr<Value> v = Parse(R"({"id": 123, "size": "456", "name": "Zoë", "flag": true,
                                      "list": [1, 2], "obj": {"a": "b"}})", "test");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(Int(*v, "id"), 123);
  EXPECT_EQ(Int(*v, "size"), 456);
  EXPECT_EQ(String(*v, "id"), "123");
  EXPECT_EQ(String(*v, "name"), "Zoë");
  EXPECT_TRUE(Bool(*v, "flag"));
  EXPECT_EQ(Array(*v, "list").size(), 2u);
  EXPECT_EQ(String(Object(*v, "obj"), "a"), "b");
  EXPECT_EQ(String(*v, "missing", "dflt"), "dflt");
  EXPECT_EQ(Int(*v, "name", -1), -1);
  EXPECT_TRUE(Array(*v, "name").empty());
  EXPECT_TRUE(Object(*v, "list").is_null());
}

// Found by mapper_graph_fuzz: {"expires_in": 3e51} was converted to int64 (undefined behaviour;
// INT64_MIN on x86, so a token looked expired at once).
TEST(JsonTest, IntOutsideInt64GivesTheFallback) {
  absl::StatusOr<Value> v = Parse(R"({"huge": 3e51, "neg": -3e51, "big": 18446744073709551615,
                                      "max": 9223372036854775807, "frac": 12.9, "inf": 1e400})",
                                  "test");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(Int(*v, "huge", 7), 7);
  EXPECT_EQ(Int(*v, "neg", 7), 7);
  EXPECT_EQ(Int(*v, "big", 7), 7);
  EXPECT_EQ(Int(*v, "inf", 7), 7);
  EXPECT_EQ(Int(*v, "max", 7), INT64_MAX);
  EXPECT_EQ(Int(*v, "frac", 7), 12);
}

TEST(JsonTest, MalformedJsonNeverQuotesItsContent) {
  const std::string secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.sig";
  const std::string text =
      "{\"access_token\": \"" + secret + "\", \"token_type\": \"bearer\",\n \"expires_in\": 36oo}";
  absl::StatusOr<Value> v = Parse(text, "Zoom token response");
  ASSERT_FALSE(v.ok());
  const std::string message(v.status().message());
  EXPECT_THAT(message, HasSubstr("Zoom token response is not valid JSON"));
  EXPECT_THAT(message, HasSubstr(absl::StrCat(text.size(), " bytes")));
  EXPECT_THAT(message, HasSubstr("line 2"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr(secret.substr(0, 12))));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("access_token")));
  // A document cut short (a truncated answer) says so without quoting it either.
  v = Parse(text.substr(0, 40), "Zoom token response");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), ::testing::Not(HasSubstr("eyJhbGci")));
}

TEST(JsonTest, MalformedJsonNamesTheDocument) {
  absl::StatusOr<Value> v = Parse("{\"a\": ", "webhook body");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("webhook body is not valid JSON"));
  absl::StatusOr<std::string> s = RequiredString(Value::object(), "uuid", "meeting");
  EXPECT_THAT(s.status().message(), HasSubstr("meeting has no \"uuid\""));
}

}  // namespace
}  // namespace zarc::json
