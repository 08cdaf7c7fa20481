#include "runtime/json/json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace zarc::json {

namespace {

const Value& NullValue() {
  static const Value* const kNull = new Value();
  return *kNull;
}

}  // namespace

// ---- Value ----

Value Value::Object() {
  Value v;
  v.data_ = ObjectType();
  return v;
}

Value Value::Object(std::initializer_list<std::pair<std::string, Value>> members) {
  Value v = Object();
  for (const auto& [key, member] : members) v[key] = member;
  return v;
}

Value Value::Array(size_t size) {
  Value v;
  v.data_ = ArrayType(size);
  return v;
}

Value Value::Boolean(bool b) {
  Value v;
  v.data_ = b;
  return v;
}

Value Value::Number(int64_t n) {
  Value v;
  v.data_ = n;
  return v;
}

Value Value::Number(uint64_t n) {
  Value v;
  if (n <= static_cast<uint64_t>(INT64_MAX)) {
    v.data_ = static_cast<int64_t>(n);
  } else {
    v.data_ = n;
  }
  return v;
}

Value Value::Number(double d) {
  Value v;
  v.data_ = d;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.data_ = std::move(s);
  return v;
}

bool Value::AsBool() const {
  const bool* b = std::get_if<bool>(&data_);
  return b != nullptr && *b;
}

int64_t Value::AsInt64() const {
  if (const int64_t* i = std::get_if<int64_t>(&data_)) return *i;
  if (const uint64_t* u = std::get_if<uint64_t>(&data_)) return static_cast<int64_t>(*u);
  if (const double* d = std::get_if<double>(&data_)) {
    // Converting a double outside int64 is undefined behaviour.
    if (*d >= -9.2e18 && *d <= 9.2e18) return static_cast<int64_t>(*d);
  }
  return 0;
}

uint64_t Value::AsUint64() const {
  if (const uint64_t* u = std::get_if<uint64_t>(&data_)) return *u;
  return static_cast<uint64_t>(AsInt64());
}

double Value::AsDouble() const {
  if (const double* d = std::get_if<double>(&data_)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&data_)) return static_cast<double>(*i);
  if (const uint64_t* u = std::get_if<uint64_t>(&data_)) return static_cast<double>(*u);
  return 0;
}

const std::string& Value::AsString() const {
  static const std::string* const kEmpty = new std::string();
  const std::string* s = std::get_if<std::string>(&data_);
  return s != nullptr ? *s : *kEmpty;
}

const Value::ArrayType& Value::AsArray() const {
  static const ArrayType* const kEmpty = new ArrayType();
  const ArrayType* a = std::get_if<ArrayType>(&data_);
  return a != nullptr ? *a : *kEmpty;
}

const Value::ObjectType& Value::AsObject() const {
  static const ObjectType* const kEmpty = new ObjectType();
  const ObjectType* o = std::get_if<ObjectType>(&data_);
  return o != nullptr ? *o : *kEmpty;
}

size_t Value::size() const {
  if (const ArrayType* a = std::get_if<ArrayType>(&data_)) return a->size();
  if (const ObjectType* o = std::get_if<ObjectType>(&data_)) return o->size();
  return 0;
}

const Value* Value::Find(absl::string_view key) const {
  const ObjectType* o = std::get_if<ObjectType>(&data_);
  if (o == nullptr) return nullptr;
  auto it = o->find(key);
  return it == o->end() ? nullptr : &it->second;
}

bool Value::HasString(absl::string_view key) const {
  const Value* v = Find(key);
  return v != nullptr && v->IsString();
}

bool Value::HasInteger(absl::string_view key) const {
  const Value* v = Find(key);
  return v != nullptr && v->IsInteger();
}

bool Value::HasArray(absl::string_view key) const {
  const Value* v = Find(key);
  return v != nullptr && v->IsArray();
}

bool Value::HasObject(absl::string_view key) const {
  const Value* v = Find(key);
  return v != nullptr && v->IsObject();
}

const Value& Value::at(absl::string_view key) const {
  const Value* v = Find(key);
  return v != nullptr ? *v : NullValue();
}

const Value& Value::at(size_t index) const {
  const ArrayType* a = std::get_if<ArrayType>(&data_);
  return a != nullptr && index < a->size() ? (*a)[index] : NullValue();
}

Value& Value::operator[](absl::string_view key) {
  if (!IsObject()) data_ = ObjectType();
  ObjectType& o = std::get<ObjectType>(data_);
  auto it = o.find(key);
  if (it == o.end()) it = o.emplace(std::string(key), Value()).first;
  return it->second;
}

Value& Value::operator[](size_t index) {
  if (!IsArray()) data_ = ArrayType();
  ArrayType& a = std::get<ArrayType>(data_);
  if (index >= a.size()) a.resize(index + 1);
  return a[index];
}

void Value::erase(absl::string_view key) {
  if (ObjectType* o = std::get_if<ObjectType>(&data_)) {
    auto it = o->find(key);
    if (it != o->end()) o->erase(it);
  }
}

void Value::push_back(Value v) {
  if (!IsArray()) data_ = ArrayType();
  std::get<ArrayType>(data_).push_back(std::move(v));
}

// ---- Serialize ----

namespace {

// RFC 8259 section 7: the quote, the backslash and control characters are escaped; every other
// byte is written as it is (the text is UTF-8 already).
void AppendQuoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string Value::Serialize() const {
  struct Writer {
    std::string* out;
    void operator()(std::monostate) const { out->append("null"); }
    void operator()(bool b) const { out->append(b ? "true" : "false"); }
    void operator()(int64_t i) const { absl::StrAppend(out, i); }
    void operator()(uint64_t u) const { absl::StrAppend(out, u); }
    void operator()(double d) const {
      // JSON has no infinity or NaN.
      if (!std::isfinite(d)) {
        out->append("null");
        return;
      }
      // 17 significant digits: the double reads back unchanged.
      char buf[32];
      const int n = std::snprintf(buf, sizeof buf, "%.17g", d);
      out->append(buf, n > 0 ? static_cast<size_t>(n) : 0);
    }
    void operator()(const std::string& s) const { AppendQuoted(s, out); }
    void operator()(const ArrayType& a) const {
      out->push_back('[');
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out->push_back(',');
        std::visit(*this, a[i].data_);
      }
      out->push_back(']');
    }
    void operator()(const ObjectType& o) const {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, v] : o) {
        if (!first) out->push_back(',');
        first = false;
        AppendQuoted(key, out);
        out->push_back(':');
        std::visit(*this, v.data_);
      }
      out->push_back('}');
    }
  };
  std::string out;
  std::visit(Writer{&out}, data_);
  return out;
}

std::string Serialize(const Value& value) { return value.Serialize(); }

// ---- Parse ----

namespace {

// nlohmann-json with a long double for numbers with a fraction or exponent: 1e400 then reads as a
// finite number (and becomes infinity as a double here) instead of stopping the parse, as senders
// do write such numbers in fields nobody reads.
using SaxJson = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t,
                                     std::uint64_t, long double>;

// Builds a Value from nlohmann's SAX events and refuses nesting past the limit before it builds
// anything deeper.
class Builder {
 public:
  explicit Builder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Put(Value()); }
  bool boolean(bool b) { return Put(Value::Boolean(b)); }
  bool number_integer(SaxJson::number_integer_t n) { return Put(Value::Number(int64_t{n})); }
  bool number_unsigned(SaxJson::number_unsigned_t n) { return Put(Value::Number(uint64_t{n})); }
  bool number_float(SaxJson::number_float_t d, const std::string& /*text*/) {
    return Put(Value::Number(static_cast<double>(d)));
  }
  bool string(std::string& s) { return Put(Value::String(std::move(s))); }
  bool binary(SaxJson::binary_t& /*b*/) { return false; }  // not produced by the JSON format
  bool start_object(size_t /*size*/) { return Open(Value::Object()); }
  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(size_t /*size*/) { return Open(Value::Array()); }
  bool end_array() { return Close(); }
  bool parse_error(size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    // The token and e.what() may quote the document: only the position and the kind are kept.
    error_position_ = position;
    error_id_ = e.id;
    return false;
  }

  Value& root() { return root_; }
  bool too_deep() const { return too_deep_; }
  size_t error_position() const { return error_position_; }
  int error_id() const { return error_id_; }

 private:
  // Where the next value goes: the root, the end of the open array, or the open object's key.
  Value* Slot() {
    if (open_.empty()) return &root_;
    Value* top = open_.back();
    if (top->IsArray()) {
      top->push_back(Value());
      return &(*top)[top->size() - 1];
    }
    return &(*top)[key_];
  }
  bool Put(Value v) {
    *Slot() = std::move(v);
    return true;
  }
  bool Open(Value container) {
    if (static_cast<int>(open_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    Value* slot = Slot();
    *slot = std::move(container);
    // Stays valid: only the innermost open container grows, and it is never an element of a
    // container that grows while it is open.
    open_.push_back(slot);
    return true;
  }
  bool Close() {
    open_.pop_back();
    return true;
  }

  int max_depth_;
  Value root_;
  std::vector<Value*> open_;
  std::string key_;
  bool too_deep_ = false;
  size_t error_position_ = 0;
  int error_id_ = 0;
};

std::string Where(absl::string_view text, size_t position) {
  // nlohmann counts the byte it stopped at; report the byte before it (0-based) like an offset.
  const size_t offset = std::min(text.size(), position > 0 ? position - 1 : 0);
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::StrCat(" near byte ", offset, " (line ", line, ", column ", column, ")");
}

}  // namespace

absl::StatusOr<Value> Parse(absl::string_view text, absl::string_view what, int max_depth) {
  // The text is never quoted in the error: documents parsed here include token responses, and
  // errors end up in logs and status replies.
  Builder builder(max_depth);
  bool ok = false;
  try {
    ok = SaxJson::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception&) {
    ok = false;  // nlohmann reports through parse_error; nothing is expected here
  }
  if (ok) return std::move(builder.root());
  if (builder.too_deep()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON (nested deeper than ",
                                                   max_depth, " levels in ", text.size(),
                                                   " bytes; content not shown)"));
  }
  const size_t position = builder.error_position();
  const char* reason = builder.error_id() == 406 ? "number out of range"
                       : position >= text.size() ? "unexpected end of the document"
                                                 : "syntax error";
  return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON (", reason,
                                                 Where(text, position), " of ", text.size(),
                                                 " bytes; content not shown)"));
}

Value ParseOrNull(absl::string_view text) {
  absl::StatusOr<Value> v = Parse(text, "document");
  return v.ok() ? *std::move(v) : Value();
}

// ---- Field readers ----

bool Has(const Value& object, absl::string_view key) {
  const Value* f = object.Find(key);
  return f != nullptr && !f->IsNull();
}

std::string String(const Value& object, absl::string_view key, absl::string_view fallback) {
  const Value* f = object.Find(key);
  if (f == nullptr) return std::string(fallback);
  if (f->IsString()) return f->AsString();
  if (f->IsNumber()) return f->Serialize();
  if (f->IsBool()) return f->AsBool() ? "true" : "false";
  return std::string(fallback);
}

int64_t Int(const Value& object, absl::string_view key, int64_t fallback) {
  const Value* f = object.Find(key);
  if (f == nullptr) return fallback;
  if (f->IsInt64()) return f->AsInt64();
  // Past int64 (a uint64 above it, 3e51, 1e400 read as infinity): not a count or size any sender
  // means, and converting it would be undefined behaviour (found by fuzzing).
  if (f->IsInteger()) return fallback;
  if (f->IsDouble()) {
    const double d = f->AsDouble();
    if (!(d >= -9.2e18 && d <= 9.2e18)) return fallback;
    return static_cast<int64_t>(d);
  }
  if (f->IsString()) {
    int64_t v = 0;
    if (absl::SimpleAtoi(f->AsString(), &v)) return v;
  }
  return fallback;
}

bool Bool(const Value& object, absl::string_view key, bool fallback) {
  const Value* f = object.Find(key);
  if (f == nullptr) return fallback;
  if (f->IsBool()) return f->AsBool();
  if (f->IsString()) return f->AsString() == "true";
  return fallback;
}

std::vector<Value> Array(const Value& object, absl::string_view key) {
  const Value* f = object.Find(key);
  if (f == nullptr || !f->IsArray()) return {};
  return f->AsArray();
}

Value Object(const Value& object, absl::string_view key) {
  const Value* f = object.Find(key);
  return f != nullptr && f->IsObject() ? *f : Value();
}

absl::StatusOr<std::string> RequiredString(const Value& object, absl::string_view key,
                                           absl::string_view what) {
  std::string s = String(object, key);
  if (s.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " has no \"", key, "\""));
  }
  return s;
}

Value Str(absl::string_view s) { return Value::String(std::string(s)); }

}  // namespace zarc::json
