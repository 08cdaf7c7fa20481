#include "runtime/json/json.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace zarc::json {

namespace {

// Where parsing stopped. cpprestsdk gives the position only in its exception text
// ("* Line 1, Column 7 Syntax error: Malformed token"): only the two numbers are taken from it,
// so nothing of the document itself can reach an error.
std::string Position(const std::string& text) {
  try {
    (void)Value::parse(text);
  } catch (const std::exception& e) {
    int line = 0;
    int column = 0;
    if (std::sscanf(e.what(), "* Line %d, Column %d", &line, &column) == 2 && line > 0) {
      size_t offset = 0;
      for (int l = 1; l < line && offset < text.size(); ++l) {
        const size_t nl = text.find('\n', offset);
        offset = nl == std::string::npos ? text.size() : nl + 1;
      }
      offset = std::min(text.size(), offset + static_cast<size_t>(std::max(column - 1, 0)));
      return absl::StrCat(" near byte ", offset, " (line ", line, ", column ", column, ")");
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<Value> Parse(absl::string_view text, absl::string_view what) {
  // The text is never quoted in the error: documents parsed here include token responses, and
  // errors end up in logs and status replies.
  const std::string copy(text);
  std::error_code ec;
  try {
    Value v = Value::parse(copy, ec);
    if (!ec) return v;
  } catch (const std::exception&) {
    ec = std::make_error_code(std::errc::invalid_argument);
  }
  return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON (", ec.message(),
                                                 Position(copy), " of ", text.size(),
                                                 " bytes; content not shown)"));
}

std::string Serialize(const Value& value) { return value.serialize(); }

namespace {
const Value* Field(const Value& object, absl::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto& obj = object.as_object();
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &it->second;
}
}  // namespace

bool Has(const Value& object, absl::string_view key) {
  const Value* f = Field(object, key);
  return f != nullptr && !f->is_null();
}

std::string String(const Value& object, absl::string_view key, absl::string_view fallback) {
  const Value* f = Field(object, key);
  if (f == nullptr) return std::string(fallback);
  if (f->is_string()) return f->as_string();
  if (f->is_number()) return f->serialize();
  if (f->is_boolean()) return f->as_bool() ? "true" : "false";
  return std::string(fallback);
}

int64_t Int(const Value& object, absl::string_view key, int64_t fallback) {
  const Value* f = Field(object, key);
  if (f == nullptr) return fallback;
  if (f->is_number()) {
    const auto& n = f->as_number();
    if (n.is_int64()) return n.to_int64();
    // Past int64 (a uint64 above it, 3e51, 1e400 read as infinity): not a count or size any sender
    // means, and converting it would be undefined behaviour (found by fuzzing).
    if (n.is_uint64()) return fallback;
    const double d = f->as_double();
    if (!(d >= -9.2e18 && d <= 9.2e18)) return fallback;
    return static_cast<int64_t>(d);
  }
  if (f->is_string()) {
    int64_t v = 0;
    if (absl::SimpleAtoi(f->as_string(), &v)) return v;
  }
  return fallback;
}

bool Bool(const Value& object, absl::string_view key, bool fallback) {
  const Value* f = Field(object, key);
  if (f == nullptr) return fallback;
  if (f->is_boolean()) return f->as_bool();
  if (f->is_string()) return f->as_string() == "true";
  return fallback;
}

std::vector<Value> Array(const Value& object, absl::string_view key) {
  const Value* f = Field(object, key);
  std::vector<Value> out;
  if (f == nullptr || !f->is_array()) return out;
  for (const Value& v : f->as_array()) out.push_back(v);
  return out;
}

Value Object(const Value& object, absl::string_view key) {
  const Value* f = Field(object, key);
  return f != nullptr && f->is_object() ? *f : Value::null();
}

absl::StatusOr<std::string> RequiredString(const Value& object, absl::string_view key,
                                           absl::string_view what) {
  std::string s = String(object, key);
  if (s.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " has no \"", key, "\""));
  }
  return s;
}

Value Str(absl::string_view s) { return Value::string(std::string(s)); }

}  // namespace zarc::json
