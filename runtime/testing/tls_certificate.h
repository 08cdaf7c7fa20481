#pragma once

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace zarc::testing {

// Writes, with openssl, a self-signed server certificate for `subject_alt_names` (openssl's
// syntax, "DNS:zoom.sim.invalid,IP:127.0.0.1") into `dir`: NAME.crt (also its own CA) and
// NAME.key. For tests only: fresh keys each run.
inline absl::Status MakeServerCertificate(const std::string& dir, const std::string& name,
                                          const std::string& subject_alt_names) {
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "'; exec 2>>openssl.log; openssl req -x509 -newkey rsa:2048 -nodes",
      " -keyout ", name, ".key -out ", name, ".crt -days 1 -subj /CN=", name,
      " -addext subjectAltName=", subject_alt_names);
  if (std::system(script.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("openssl failed; see ", dir, "/openssl.log"));
  }
  return absl::OkStatus();
}

}  // namespace zarc::testing
