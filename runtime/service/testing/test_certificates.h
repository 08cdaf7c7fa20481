#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace zarc::service::testing {

// Writes, with openssl, into `dir`: ca.pem/ca.key (a CA), server.pem/server.key (signed by it,
// for 127.0.0.1 and localhost, server and client use), client.pem/client.key (signed by it),
// other-ca.pem and rogue.pem/rogue.key (a client certificate signed by that other CA), and
// token (`token` and a newline). For tests only: the keys are fresh each run.
inline absl::Status MakeTestCertificates(const std::string& dir, const std::string& token) {
  std::ofstream(dir + "/san.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                     "extendedKeyUsage=serverAuth,clientAuth\n";
  std::ofstream(dir + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  std::ofstream(dir + "/token") << token << "\n";
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "'; exec 2>openssl.log;",
      "openssl req -x509 ", key, " -keyout ca.key -out ca.pem -days 2 -subj /CN=zarc-test-ca;",
      "openssl req -x509 ", key, " -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca;",
      "openssl req ", key, " -keyout server.key -out server.csr -subj /CN=zarc-test-server;",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 ",
      "-extfile san.ext -out server.pem;",
      "openssl req ", key, " -keyout client.key -out client.csr -subj /CN=zarc-test-client;",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 ",
      "-extfile client.ext -out client.pem;",
      "openssl req ", key, " -keyout rogue.key -out rogue.csr -subj /CN=rogue-client;",
      "openssl x509 -req -in rogue.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial ",
      "-days 2 -extfile client.ext -out rogue.pem");
  if (std::system(script.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("openssl failed; see ", dir, "/openssl.log"));
  }
  return absl::OkStatus();
}

}  // namespace zarc::service::testing
