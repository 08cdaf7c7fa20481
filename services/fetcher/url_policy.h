#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace zarc::fetcher {

// Which hosts may receive a Zoom token. A download_url is data from outside: the token goes only
// to a host equal to, or a subdomain of, an allowed entry ("zoom.us" allows "us06web.zoom.us").
// Entries may carry a port ("127.0.0.1:8080") for simulators; then the port must match too.
class ZoomHostPolicy {
 public:
  explicit ZoomHostPolicy(std::vector<std::string> allowed);
  bool Allows(absl::string_view url) const;
  // OK, or PermissionDenied naming the host (never the URL's query, which may hold a token).
  absl::Status Check(absl::string_view url) const;
  const std::vector<std::string>& allowed() const { return allowed_; }

 private:
  std::vector<std::string> allowed_;
};

// Scheme, host (lowercased) and port of an absolute http(s) URL; empty host if it is not one.
struct UrlParts {
  std::string scheme;
  std::string host;
  std::string port;  // empty when the URL has none
};
UrlParts SplitUrl(absl::string_view url);

}  // namespace zarc::fetcher
