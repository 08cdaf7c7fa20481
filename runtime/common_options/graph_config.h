#pragma once

#include <string>

#include "absl/time/time.h"

namespace zarc::common_options {

// graph.*: Microsoft Graph and the app registration its tokens are asked for with (a client secret
// or a certificate credential). The mapper and the importer's Graph target share it.
struct GraphConfig {
  std::string login_url;
  std::string api_url;
  std::string tenant_id;
  std::string client_id;
  std::string client_secret;            // secret
  std::string client_certificate_file;  // PEM: RSA private key + the certificate registered on the app
  std::string client_assertion_algorithm;
  std::string ca_file;
  absl::Duration patience;

  // The tenant, the app and one credential are given.
  bool HasCredentials() const {
    return !tenant_id.empty() && !client_id.empty() &&
           (!client_secret.empty() || !client_certificate_file.empty());
  }
};

}  // namespace zarc::common_options
