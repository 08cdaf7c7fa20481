#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/pipeline.h"

namespace zarc::cli {

// One check of `zarc doctor`: what was checked, and if it failed, why and how to fix it.
struct CheckResult {
  std::string name;
  absl::Status status;
  std::string fix;      // what to do when status is not OK
  bool skipped = false; // not configured, so not checked (said plainly, not counted as a problem)
  std::string detail;   // what a passing check found, when that is worth saying
};

// Runs every check that applies to `config` (the same options `zarc run` and the services take).
std::vector<CheckResult> RunChecks(const RunConfig& config);
// The Microsoft 365 side: Graph token and permissions (mapper), IMAP login and folder (importer).
std::vector<CheckResult> MailChecks(const RunConfig& config);
std::string FormatChecks(const std::vector<CheckResult>& results);

}  // namespace zarc::cli
