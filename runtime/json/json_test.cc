#include "runtime/json/json.h"

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

TEST(JsonTest, MalformedJsonNamesTheDocument) {
  absl::StatusOr<Value> v = Parse("{\"a\": ", "webhook body");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("webhook body is not valid JSON"));
  absl::StatusOr<std::string> s = RequiredString(Value::object(), "uuid", "meeting");
  EXPECT_THAT(s.status().message(), HasSubstr("meeting has no \"uuid\""));
}

}  // namespace
}  // namespace zarc::json
