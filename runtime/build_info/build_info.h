#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace zarc {

// What the binary was built from, as `zarc --version` prints it and the console shows it.
struct BuildInfo {
  absl::string_view version;  // the CMake project version, e.g. "0.1.0"
  absl::string_view git_sha;  // full commit hash, "-dirty" appended for local changes; or "unknown"
  absl::string_view date;     // the commit's date (ISO 8601), for reproducible builds; or "unknown"
};

const BuildInfo& GetBuildInfo();

// "<program> <version>", then "git commit: <sha>" and "build date: <date>" lines.
std::string VersionLine(absl::string_view program);

}  // namespace zarc
