#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace zarc::kafka {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A record as consumed. Keys and values are raw bytes (serialized protobuf for zarc's events).
struct Record {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  Headers headers;
  int64_t timestamp_ms = -1;  // -1 when the broker gave none

  // The value of the first header named `name`, if any.
  std::optional<std::string> Header(absl::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

// A record to produce. The key chooses the partition (murmur2, as Java clients do), so events
// about one meeting stay in order.
struct OutgoingRecord {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
};

}  // namespace zarc::kafka
