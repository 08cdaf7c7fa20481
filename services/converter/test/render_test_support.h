#pragma once

// Helpers shared by the converter's rendering tests: fixture files, openers over folders and
// in-memory blobs, JSON sidecars and the independent Python MIME check.

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/converter/renderer.h"

namespace zarc::converter::testing {

absl::StatusOr<std::string> ReadFile(const std::string& path);
absl::Status WriteFile(const std::string& path, absl::string_view data);

// A JSON string literal (quotes included) for UTF-8 text; control characters are \u-escaped.
std::string JsonString(absl::string_view utf8);

// Opens blob.name inside `dir`, streaming the file in chunks.
ArtifactOpener DirectoryOpener(std::string dir);
// Opens blob.name from a map the caller keeps alive.
ArtifactOpener MapOpener(const std::map<std::string, std::string>* blobs);

struct VerifyResult {
  int exit_code = -1;
  std::string output;
};
// Runs services/converter/test/verify_eml.py on a manifest with python3 (found on PATH).
absl::StatusOr<VerifyResult> RunVerifier(const std::string& manifest_path);

}  // namespace zarc::converter::testing
