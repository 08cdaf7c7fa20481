#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/kafka/topics.h"

namespace zarc::kafka {

// Command line of zarc-devbroker: a standalone mock Kafka cluster for scripts and local runs.
struct DevbrokerOptions {
  int brokers = 1;
  std::vector<TopicSpec> topics = DefaultTopics();  // --topic adds to (or resizes) these
  std::string bootstrap_file;                       // empty: do not write one
  bool help = false;
};

// Parses argv[1..]. Errors name the bad argument and point at --help.
absl::StatusOr<DevbrokerOptions> ParseDevbrokerArgs(const std::vector<std::string>& args);

std::string DevbrokerUsage();

}  // namespace zarc::kafka
