#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace zarc::cli {

// Parses `--name=value`, `--name value` and bare `--switch` for the small client commands
// (sync, log): `allowed` maps each flag to whether it takes a value. Unknown flags are an error
// that lists the allowed ones. Positional arguments are refused.
// `-h` means `--help` where `help` is allowed.
absl::StatusOr<std::map<std::string, std::string>> ParseFlags(
    const std::vector<std::string>& args, const std::map<std::string, bool>& allowed);

}  // namespace zarc::cli
