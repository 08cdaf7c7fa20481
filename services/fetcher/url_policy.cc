#include "services/fetcher/url_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zarc::fetcher {

UrlParts SplitUrl(absl::string_view url) {
  UrlParts p;
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return p;
  p.scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (p.scheme != "http" && p.scheme != "https") return {};
  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  // Userinfo ("user@host") is a classic way to disguise a host: take what follows the last '@'.
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest[0] == '[') {  // IPv6 literal
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return {};
    p.host = absl::AsciiStrToLower(rest.substr(0, close + 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') p.port = std::string(rest.substr(close + 2));
    return p;
  }
  const size_t colon = rest.find(':');
  p.host = absl::AsciiStrToLower(rest.substr(0, colon));
  if (colon != absl::string_view::npos) p.port = std::string(rest.substr(colon + 1));
  return p;
}

ZoomHostPolicy::ZoomHostPolicy(std::vector<std::string> allowed) : allowed_(std::move(allowed)) {
  for (std::string& a : allowed_) a = absl::AsciiStrToLower(a);
}

bool ZoomHostPolicy::Allows(absl::string_view url) const {
  const UrlParts p = SplitUrl(url);
  if (p.host.empty()) return false;
  for (const std::string& entry : allowed_) {
    absl::string_view host = entry;
    absl::string_view port;
    if (size_t colon = entry.rfind(':'); colon != std::string::npos && entry.back() != ']') {
      host = absl::string_view(entry).substr(0, colon);
      port = absl::string_view(entry).substr(colon + 1);
    }
    if (!port.empty() && port != p.port) continue;
    if (p.host == host) return true;
    if (p.host.size() > host.size() + 1 && absl::EndsWith(p.host, host) &&
        p.host[p.host.size() - host.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

absl::Status ZoomHostPolicy::Check(absl::string_view url) const {
  if (Allows(url)) return absl::OkStatus();
  const UrlParts p = SplitUrl(url);
  return absl::PermissionDeniedError(absl::StrCat(
      "refusing to send the Zoom token to host \"", p.host.empty() ? "(not an http URL)" : p.host,
      "\": it is not among the configured Zoom domains (fetcher.zoom_domains)"));
}

}  // namespace zarc::fetcher
