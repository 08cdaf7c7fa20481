#include "runtime/kafka/devbroker.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace zarc::kafka {
namespace {

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(what, "; see zarc-devbroker --help"));
}

}  // namespace

std::string DevbrokerUsage() {
  return "usage: zarc-devbroker [--brokers N] [--topic NAME:PARTITIONS]... [--bootstrap-file "
         "PATH]\n"
         "\n"
         "Runs librdkafka's mock Kafka cluster on 127.0.0.1 (random ports, in memory) with zarc's\n"
         "topics until SIGINT or SIGTERM. Prints bootstrap.servers=HOST:PORT,... on stdout.\n"
         "\n"
         "  --brokers N                 number of brokers, 1..64 (default 1)\n"
         "  --topic NAME:PARTITIONS     create another topic (repeatable); naming one of zarc's\n"
         "                              topics changes its partition count\n"
         "  --bootstrap-file PATH       also write the bootstrap list to PATH\n"
         "  --help                      show this text\n";
}

absl::StatusOr<DevbrokerOptions> ParseDevbrokerArgs(const std::vector<std::string>& args) {
  DevbrokerOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      continue;
    }
    // Accept both "--flag value" and "--flag=value".
    std::string name(arg);
    std::string value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (name == "--brokers" || name == "--topic" || name == "--bootstrap-file") {
      if (i + 1 >= args.size()) return Bad(absl::StrCat(name, " needs a value"));
      value = args[++i];
    }
    if (name == "--brokers") {
      if (!absl::SimpleAtoi(value, &options.brokers) || options.brokers < 1 ||
          options.brokers > 64) {
        return Bad(absl::StrCat("--brokers ", value, " is not a number from 1 to 64"));
      }
    } else if (name == "--topic") {
      const size_t colon = value.rfind(':');
      TopicSpec spec;
      if (colon == std::string::npos || colon == 0 ||
          !absl::SimpleAtoi(absl::string_view(value).substr(colon + 1), &spec.partitions) ||
          spec.partitions < 1) {
        return Bad(
            absl::StrCat("--topic ", value, " is not NAME:PARTITIONS with at least 1 partition"));
      }
      spec.name = value.substr(0, colon);
      auto it = std::find_if(options.topics.begin(), options.topics.end(),
                             [&](const TopicSpec& t) { return t.name == spec.name; });
      if (it != options.topics.end()) {
        *it = spec;
      } else {
        options.topics.push_back(spec);
      }
    } else if (name == "--bootstrap-file") {
      if (value.empty()) return Bad("--bootstrap-file needs a path");
      options.bootstrap_file = value;
    } else {
      return Bad(absl::StrCat("unknown argument \"", arg, "\""));
    }
  }
  return options;
}

}  // namespace zarc::kafka
