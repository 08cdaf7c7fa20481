#pragma once

// zarc's JSON value and safe access to it for data from outside (Zoom, Graph, webhooks): parsing
// and field reads never throw, a missing or mistyped field gives the caller's default or a Status
// that names the field. Numbers are also accepted as strings and vice versa, as Zoom mixes them.
//
// The parser (nlohmann-json, SAX) lives in json.cc only, so this header stays light.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zarc::json {

// A JSON document or a part of one. A plain value type: copies are deep. Reads never throw: a
// read of the wrong type gives an empty string, zero, false or a null value.
class Value {
 public:
  using ArrayType = std::vector<Value>;
  // Keys sorted, as serialized.
  using ObjectType = std::map<std::string, Value, std::less<>>;

  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Object();
  static Value Object(std::initializer_list<std::pair<std::string, Value>> members);
  static Value Array(size_t size = 0);
  static Value Boolean(bool b);
  static Value Number(int n) { return Number(static_cast<int64_t>(n)); }
  static Value Number(unsigned n) { return Number(static_cast<int64_t>(n)); }
  static Value Number(int64_t n);
  static Value Number(uint64_t n);
  static Value Number(double d);
  static Value String(std::string s);

  bool IsNull() const { return std::holds_alternative<std::monostate>(data_); }
  bool IsBool() const { return std::holds_alternative<bool>(data_); }
  // An integer (int64 or, past it, uint64), as opposed to a number with a fraction or exponent.
  bool IsInteger() const {
    return std::holds_alternative<int64_t>(data_) || std::holds_alternative<uint64_t>(data_);
  }
  bool IsInt64() const { return std::holds_alternative<int64_t>(data_); }
  bool IsDouble() const { return std::holds_alternative<double>(data_); }
  bool IsNumber() const { return IsInteger() || IsDouble(); }
  bool IsString() const { return std::holds_alternative<std::string>(data_); }
  bool IsArray() const { return std::holds_alternative<ArrayType>(data_); }
  bool IsObject() const { return std::holds_alternative<ObjectType>(data_); }

  bool AsBool() const;
  // A fraction is truncated; a double outside int64 (or a non-number) gives 0.
  int64_t AsInt64() const;
  int AsInt() const { return static_cast<int>(AsInt64()); }
  uint64_t AsUint64() const;
  double AsDouble() const;
  const std::string& AsString() const;
  const ArrayType& AsArray() const;
  const ObjectType& AsObject() const;

  // Elements of an array or members of an object; 0 for anything else.
  size_t size() const;

  // Object members. Has*: the member is present (and, for the typed ones, of that type).
  bool Has(absl::string_view key) const { return Find(key) != nullptr; }
  bool HasString(absl::string_view key) const;
  bool HasInteger(absl::string_view key) const;
  bool HasArray(absl::string_view key) const;
  bool HasObject(absl::string_view key) const;
  // The member, or nullptr if absent or this is not an object.
  const Value* Find(absl::string_view key) const;
  // The member, or a null value.
  const Value& at(absl::string_view key) const;
  // The array element, or a null value.
  const Value& at(size_t index) const;

  // Writers. operator[] turns a null into an object (or array) and adds the member (or grows the
  // array to the index); on a value of another type it replaces it.
  Value& operator[](absl::string_view key);
  Value& operator[](const char* key) { return (*this)[absl::string_view(key)]; }
  Value& operator[](size_t index);
  Value& operator[](int index) { return (*this)[static_cast<size_t>(index)]; }
  void erase(absl::string_view key);
  void push_back(Value v);

  std::string Serialize() const;

  friend bool operator==(const Value& a, const Value& b) { return a.data_ == b.data_; }

 private:
  std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string, ArrayType, ObjectType>
      data_;
};

// Nesting deeper than this is refused by Parse: deep documents are not what any sender means, and
// the values are walked recursively.
inline constexpr int kDefaultMaxDepth = 64;

// Parses UTF-8 JSON text. `what` names the document in the error ("users page", "webhook body");
// the error gives the reason, where parsing stopped and the size, never any of the text (it may be
// a token response).
absl::StatusOr<Value> Parse(absl::string_view text, absl::string_view what,
                            int max_depth = kDefaultMaxDepth);
// For text zarc wrote itself and for tests: a document that is not valid JSON gives null.
Value ParseOrNull(absl::string_view text);
std::string Serialize(const Value& value);

bool Has(const Value& object, absl::string_view key);
std::string String(const Value& object, absl::string_view key, absl::string_view fallback = "");
// Int: a fraction is truncated; a number outside int64 gives the fallback.
int64_t Int(const Value& object, absl::string_view key, int64_t fallback = 0);
bool Bool(const Value& object, absl::string_view key, bool fallback = false);
// The array at `key`, or an empty vector if absent or not an array.
std::vector<Value> Array(const Value& object, absl::string_view key);
// The object at `key`, or null.
Value Object(const Value& object, absl::string_view key);

// A required string field: an error naming the field and the document if absent or empty.
absl::StatusOr<std::string> RequiredString(const Value& object, absl::string_view key,
                                           absl::string_view what);

Value Str(absl::string_view s);

}  // namespace zarc::json
