#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/testing/subprocess.h"

namespace zarc::blob {

// Azurite's published development account.
inline constexpr char kAzuriteAccount[] = "devstoreaccount1";
inline constexpr char kAzuriteKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// Azurite's blob service from tools/node_modules/.bin/azurite-blob (under ZARC_SOURCE_DIR), on
// 127.0.0.1 with a port it picks, storing in a temporary folder, telemetry off. Killed and its
// folder removed on destruction.
struct AzuriteOptions {
  // HTTPS with a self-signed certificate for 127.0.0.1 (ca_file()) and `--oauth basic`: bearer
  // tokens are accepted besides SharedKey and SAS, checked by their claims (issuer, audience,
  // lifetime) as Azurite does, not by signature.
  bool oauth = false;
};

class AzuriteProcess {
 public:
  // FailedPrecondition naming scripts/install-deps.sh if Azurite is not installed.
  static absl::StatusOr<std::unique_ptr<AzuriteProcess>> Start(const AzuriteOptions& options = {});

  // Path-style endpoint: "http://127.0.0.1:PORT/devstoreaccount1" (https with oauth).
  const std::string& endpoint() const { return endpoint_; }
  // The certificate to trust with oauth; empty otherwise.
  const std::string& ca_file() const { return ca_file_; }

  // Stops Azurite (SIGTERM, which it answers by saving its metadata, then waits for the exit);
  // Restart() starts it again on the same port with the same stored blobs, as a storage outage
  // that ends would.
  absl::Status Stop();
  absl::Status Restart();

 private:
  AzuriteProcess() = default;
  // Starts argv_ and reads the port Azurite listens on from its output.
  absl::Status Launch();
  std::vector<std::string> argv_;
  std::string scheme_;
  std::string port_;
  std::unique_ptr<testing::TempDir> location_;
  std::unique_ptr<testing::Subprocess> process_;
  std::string endpoint_;
  std::string ca_file_;
};

}  // namespace zarc::blob
