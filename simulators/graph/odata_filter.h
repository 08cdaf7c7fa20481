#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zarc::graph_sim {

// One comparison of an OData $filter: `property eq 'value'`, or for a collection
// `property/any(p:p eq 'value')`.
struct FilterTerm {
  std::string property;  // as written, e.g. "mail", "proxyAddresses", "displayName"
  bool any = false;      // the lambda form over a collection
  std::string value;     // the literal with '' unescaped

  friend bool operator==(const FilterTerm&, const FilterTerm&) = default;
};

// Parses the subset of OData v4 $filter the simulator supports: terms joined by `or`. String
// literals use single quotes with '' for a quote (OData ABNF, SQUOTE-in-string). Anything else is
// an error naming the position, which the simulator answers with 400 Request_UnsupportedQuery.
absl::StatusOr<std::vector<FilterTerm>> ParseFilter(absl::string_view filter);

// The literal form of `value` for a $filter: quoted, quotes doubled.
std::string QuoteODataString(absl::string_view value);

}  // namespace zarc::graph_sim
