#pragma once

// Which proxy an outbound connection uses: one set of rules for the HTTP client (Zoom, Graph,
// Azure, the identity platform) and the IMAP client's CONNECT tunnel.

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace zarc::http {

// Reads an environment variable the way proxies are looked up: the lower-case name first, then
// the upper-case one (curl and wget do the same); empty when neither is set. `getenv` is for
// tests (null: std::getenv).
std::string ProxyEnvironment(const char* lower, const char* upper,
                             const std::function<const char*(const char*)>& getenv);

// NO_PROXY, matched by zarc rather than by libcurl so the rules do not change with its version:
// comma- (or space-) separated entries; "*" alone matches every host; a name matches itself and
// its subdomains, with or without a leading "." or "*." ("corp.example", ".corp.example" and
// "*.corp.example" all cover "a.corp.example" and "corp.example"); an IP address matches itself,
// and CIDR ("10.0.0.0/8", "fd00::/8") matches IP literals in the range. A ":port" on a name is
// ignored. Names are not resolved: an IP range never matches a host name. Case-insensitive.
bool NoProxyMatches(absl::string_view no_proxy, absl::string_view host);

// The proxy for an https (TLS) connection to `host`: `explicit_proxy` when set ("none": no
// proxy), else HTTPS_PROXY or ALL_PROXY unless NO_PROXY exempts the host; "" for none.
std::string HttpsProxyFor(absl::string_view host, const std::string& explicit_proxy,
                          const std::function<const char*(const char*)>& getenv = nullptr);

}  // namespace zarc::http
