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
  EXPECT_TRUE(Object(*v, "list").IsNull());
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
  absl::StatusOr<std::string> s = RequiredString(Value::Object(), "uuid", "meeting");
  EXPECT_THAT(s.status().message(), HasSubstr("meeting has no \"uuid\""));
}


TEST(JsonTest, NestingPastTheLimitIsRefusedNamingTheDepthNotTheContent) {
  const auto nested = [](int depth, const std::string& inner) {
    std::string text;
    for (int i = 0; i < depth; ++i) text += "[";
    text += inner;
    for (int i = 0; i < depth; ++i) text += "]";
    return text;
  };
  absl::StatusOr<Value> ok = Parse(nested(kDefaultMaxDepth, "\"deep\""), "chat file");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->at(0).size(), 1u);

  const std::string too_deep = nested(kDefaultMaxDepth + 1, "\"s3cr3t\"");
  absl::StatusOr<Value> v = Parse(too_deep, "chat file");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("chat file is not valid JSON"));
  EXPECT_THAT(v.status().message(), HasSubstr("nested deeper than 64 levels"));
  EXPECT_THAT(v.status().message(), ::testing::Not(HasSubstr("s3cr3t")));

  // Objects count as levels too, and a caller may set its own limit.
  EXPECT_TRUE(Parse(R"({"a": {"b": [1]}})", "test", 3).ok());
  v = Parse(R"({"a": {"b": [1]}})", "test", 2);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("nested deeper than 2 levels"));

  // A million levels ends with the same error, not a stack overflow.
  EXPECT_FALSE(Parse(std::string(1000000, '['), "test").ok());
}

TEST(JsonTest, BuiltValuesSerializeWithSortedKeysAndEscapesAndReadBack) {
  Value v = Value::Object();
  v["name"] = Str("Zoë \"quoted\"\n\x01");
  v["count"] = Value::Number(int64_t{42});
  v["big"] = Value::Number(uint64_t{18446744073709551615u});
  v["ratio"] = Value::Number(1.5);
  v["flag"] = Value::Boolean(false);
  v["none"] = Value::Null();
  v["list"][2] = Str("c");  // a null becomes an array, grown to the index
  v["list"][0] = Value::Number(1);
  v["nested"]["inner"] = Str("x");
  EXPECT_EQ(Serialize(v),
            "{\"big\":18446744073709551615,\"count\":42,\"flag\":false,\"list\":[1,null,\"c\"],"
            "\"name\":\"Zo\xC3\xAB \\\"quoted\\\"\\n\\u0001\",\"nested\":{\"inner\":\"x\"},"
            "\"none\":null,\"ratio\":1.5}");
  absl::StatusOr<Value> back = Parse(Serialize(v), "test");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == v);
  EXPECT_EQ(back->at("big").AsUint64(), 18446744073709551615u);
  EXPECT_EQ(Value::Number(0.1).Serialize(), "0.10000000000000001");
  v.erase("nested");
  EXPECT_FALSE(v.Has("nested"));
}

TEST(JsonTest, ReadsOfTheWrongTypeGiveEmptyValues) {
  absl::StatusOr<Value> v = Parse(R"({"n": 7, "s": "text", "a": [1], "o": {}})", "test");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->at("n").AsString(), "");
  EXPECT_EQ(v->at("s").AsInt64(), 0);
  EXPECT_TRUE(v->at("s").AsArray().empty());
  EXPECT_TRUE(v->at("a").AsObject().empty());
  EXPECT_TRUE(v->at("missing").IsNull());
  EXPECT_TRUE(v->at("a").at(5).IsNull());
  EXPECT_TRUE(v->HasString("s"));
  EXPECT_FALSE(v->HasString("n"));
  EXPECT_TRUE(v->HasInteger("n"));
  EXPECT_TRUE(v->HasArray("a"));
  EXPECT_TRUE(v->HasObject("o"));
  EXPECT_EQ(v->size(), 4u);
  EXPECT_TRUE(ParseOrNull("{not json").IsNull());
}

}  // namespace
}  // namespace zarc::json
