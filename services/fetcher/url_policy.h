#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/http/http_types.h"

namespace zarc::fetcher {

// Which URLs may receive a Zoom token (zoom-api/README.md, "Downloading files"). A download_url
// and a redirect's Location are data from outside, so the token goes only
//  - to a host equal to, or a subdomain of, a `domains` entry ("zoom.us" allows
//    "us06web.zoom.us"), over https on port 443: never in clear text, never to another port;
//  - or to exactly the scheme, host and port of an `exact_urls` entry (the configured API and
//    OAuth URLs: regional hosts, and the simulator on http://127.0.0.1:PORT in tests).
class ZoomHostPolicy {
 public:
  explicit ZoomHostPolicy(std::vector<std::string> domains,
                          const std::vector<std::string>& exact_urls = {});
  bool Allows(absl::string_view url) const;
  // OK, or PermissionDenied naming the scheme, host and port (never the URL's path or query,
  // which may hold a token).
  absl::Status Check(absl::string_view url) const;
  const std::vector<std::string>& domains() const { return domains_; }

 private:
  std::vector<std::string> domains_;
  std::vector<http::UrlOrigin> exact_;
};

// Whether `domain` is usable as a zoom.domains entry: a bare host name, no scheme, port or path.
absl::Status CheckZoomDomain(absl::string_view domain);

}  // namespace zarc::fetcher
