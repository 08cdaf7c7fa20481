#pragma once

// Safe access to cpprestsdk's web::json for data from outside (Zoom, Graph, webhooks): parsing and
// field reads never throw, a missing or mistyped field gives the caller's default or a Status that
// names the field. Numbers are also accepted as strings and vice versa, as Zoom mixes them.

#include <cpprest/json.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zarc::json {

using Value = web::json::value;

// Parses UTF-8 JSON text. `what` names the document in the error ("users page", "webhook body");
// the error gives the reason, where parsing stopped and the size, never any of the text (it may be
// a token response).
absl::StatusOr<Value> Parse(absl::string_view text, absl::string_view what);
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

// Builders that keep callers free of utility::conversions.
Value Str(absl::string_view s);

}  // namespace zarc::json
