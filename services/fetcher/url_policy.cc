#include "services/fetcher/url_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zarc::fetcher {

ZoomHostPolicy::ZoomHostPolicy(std::vector<std::string> domains,
                               const std::vector<std::string>& exact_urls)
    : domains_(std::move(domains)) {
  for (std::string& d : domains_) d = absl::AsciiStrToLower(d);
  for (const std::string& url : exact_urls) {
    if (std::optional<http::UrlOrigin> o = http::ParseOrigin(url)) exact_.push_back(*o);
  }
}

bool ZoomHostPolicy::Allows(absl::string_view url) const {
  const std::optional<http::UrlOrigin> o = http::ParseOrigin(url);
  if (!o) return false;
  for (const http::UrlOrigin& exact : exact_) {
    if (*o == exact) return true;
  }
  if (o->scheme != "https" || o->port != 443) return false;
  for (const std::string& domain : domains_) {
    if (domain.empty()) continue;
    if (o->host == domain) return true;
    if (o->host.size() > domain.size() + 1 && absl::EndsWith(o->host, domain) &&
        o->host[o->host.size() - domain.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

absl::Status ZoomHostPolicy::Check(absl::string_view url) const {
  if (Allows(url)) return absl::OkStatus();
  const std::optional<http::UrlOrigin> o = http::ParseOrigin(url);
  return absl::PermissionDeniedError(absl::StrCat(
      "refusing to send the Zoom token to ",
      o ? absl::StrCat("host \"", o->host, "\" (", http::FormatOrigin(*o), ")")
        : std::string("a URL that is not a plain http(s) URL"),
      ": a token goes only to hosts in zoom.domains over https on port 443, or to exactly the "
      "scheme, host and port of zoom.api_url and zoom.oauth_url"));
}

absl::Status CheckZoomDomain(absl::string_view domain) {
  if (domain.empty() || domain.find_first_of(":/@?#[] \\") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zoom.domains entry \"", domain,
        "\" is not a bare host name; Zoom domains are reached over https on port 443 only (a "
        "simulator or a regional host on another scheme or port belongs in zoom.api_url)"));
  }
  return absl::OkStatus();
}

}  // namespace zarc::fetcher
