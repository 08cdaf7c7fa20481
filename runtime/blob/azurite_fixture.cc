#include "runtime/blob/azurite_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace zarc::blob {

absl::StatusOr<std::unique_ptr<AzuriteProcess>> AzuriteProcess::Start(const AzuriteOptions& options) {
  const std::string binary = testing::SourcePath("tools/node_modules/.bin/azurite-blob");
  if (::access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Azurite is not installed at ", binary, "; run scripts/install-deps.sh"));
  }
  auto azurite = std::unique_ptr<AzuriteProcess>(new AzuriteProcess());
  azurite->location_ = std::make_unique<testing::TempDir>();
  std::vector<std::string> argv = {binary, "--blobHost", "127.0.0.1", "--blobPort", "0",
                                   "--location", azurite->location_->path(), "--disableTelemetry",
                                   "--skipApiVersionCheck", "--silent"};
  const std::string scheme = options.oauth ? "https" : "http";
  if (options.oauth) {
    const std::string dir = azurite->location_->path();
    const std::string make_cert = absl::StrCat(
        "cd '", dir, "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout tls-key.pem -out "
        "tls-cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
        "2>openssl.log");
    if (std::system(make_cert.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("openssl failed; see ", dir, "/openssl.log"));
    }
    azurite->ca_file_ = dir + "/tls-cert.pem";
    for (const std::string& a : {std::string("--cert"), dir + "/tls-cert.pem", std::string("--key"),
                                 dir + "/tls-key.pem", std::string("--oauth"), std::string("basic")}) {
      argv.push_back(a);
    }
  }
  azurite->argv_ = std::move(argv);
  azurite->scheme_ = scheme;
  if (absl::Status s = azurite->Launch(); !s.ok()) return s;
  azurite->endpoint_ = absl::StrCat(scheme, "://127.0.0.1:", azurite->port_, "/", kAzuriteAccount);
  return azurite;
}

absl::Status AzuriteProcess::Launch() {
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> process =
      testing::Subprocess::Start({.argv = argv_, .merge_stderr = true});
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  const std::string kNeedle = absl::StrCat("successfully listens on ", scheme_, "://127.0.0.1:");
  absl::StatusOr<std::string> line = process_->WaitForLine(kNeedle, absl::Seconds(60));
  if (!line.ok()) return line.status();
  const size_t at = line->find(kNeedle);
  std::string port;
  for (size_t i = at + kNeedle.size(); i < line->size() && isdigit(static_cast<unsigned char>((*line)[i])); ++i) {
    port.push_back((*line)[i]);
  }
  if (port.empty()) {
    return absl::InternalError(absl::StrCat("cannot read Azurite's port from: ", *line));
  }
  if (!port_.empty() && port != port_) {
    return absl::InternalError(absl::StrCat("Azurite came back on port ", port, ", not ", port_));
  }
  port_ = port;
  return absl::OkStatus();
}

absl::Status AzuriteProcess::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  process_->Signal(SIGTERM);
  absl::StatusOr<int> code = process_->Wait(absl::Seconds(30));
  if (!code.ok()) {
    process_->Signal(SIGKILL);
    (void)process_->Wait(absl::Seconds(10));
  }
  process_.reset();
  return code.ok() ? absl::OkStatus() : code.status();
}

absl::Status AzuriteProcess::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  // The same port, so clients configured with endpoint() find it again.
  for (size_t i = 0; i + 1 < argv_.size(); ++i) {
    if (argv_[i] == "--blobPort") argv_[i + 1] = port_;
  }
  return Launch();
}

}  // namespace zarc::blob
