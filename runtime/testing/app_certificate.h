#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace zarc::testing {

// Writes, with openssl, an app registration's certificate credential into `dir`: NAME.pem (the
// RSA private key and the self-signed certificate in one file, as zarc reads it) and NAME.crt
// (the certificate alone, as it is registered on the app). For tests only: fresh keys each run.
inline absl::Status MakeAppCertificate(const std::string& dir, const std::string& name) {
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "'; exec 2>>openssl.log;",
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ", name, ".key -out ", name,
      ".crt -days 2 -subj /CN=", name, ";",
      "cat ", name, ".key ", name, ".crt > ", name, ".pem; rm ", name, ".key");
  if (std::system(script.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("openssl failed; see ", dir, "/openssl.log"));
  }
  return absl::OkStatus();
}

// The text of a file MakeAppCertificate wrote (or any small file), empty when it cannot be read.
inline std::string ReadCredentialFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace zarc::testing
