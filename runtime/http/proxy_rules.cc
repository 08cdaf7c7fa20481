#include "runtime/http/proxy_rules.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace zarc::http {

std::string ProxyEnvironment(const char* lower, const char* upper,
                             const std::function<const char*(const char*)>& getenv) {
  for (const char* name : {lower, upper}) {
    const char* value = getenv ? getenv(name) : std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "";
}

namespace {

std::optional<std::vector<unsigned char>> ParseIp(absl::string_view text) {
  std::string literal(absl::StripPrefix(absl::StripSuffix(text, "]"), "["));
  unsigned char bytes[16];
  if (inet_pton(AF_INET, literal.c_str(), bytes) == 1) return std::vector<unsigned char>(bytes, bytes + 4);
  if (inet_pton(AF_INET6, literal.c_str(), bytes) == 1) return std::vector<unsigned char>(bytes, bytes + 16);
  return std::nullopt;
}

bool NoProxyEntryMatches(absl::string_view entry, const std::string& host) {
  if (entry == "*") return true;
  const std::optional<std::vector<unsigned char>> host_ip = ParseIp(host);
  if (const size_t slash = entry.find('/'); slash != absl::string_view::npos) {
    const std::optional<std::vector<unsigned char>> net = ParseIp(entry.substr(0, slash));
    int bits = 0;
    if (!host_ip || !net || host_ip->size() != net->size() ||
        !absl::SimpleAtoi(entry.substr(slash + 1), &bits) || bits < 0 ||
        bits > static_cast<int>(net->size() * 8)) {
      return false;
    }
    for (int i = 0; i < bits; ++i) {
      const int mask = 0x80 >> (i % 8);
      if (((*host_ip)[i / 8] & mask) != ((*net)[i / 8] & mask)) return false;
    }
    return true;
  }
  if (const auto entry_ip = ParseIp(entry)) return host_ip && *host_ip == *entry_ip;
  if (host_ip) return false;
  if (!absl::ConsumePrefix(&entry, "*.")) absl::ConsumePrefix(&entry, ".");
  if (const size_t colon = entry.rfind(':'); colon != absl::string_view::npos) {
    entry = entry.substr(0, colon);
  }
  if (entry.empty()) return false;
  return host == entry ||
         (host.size() > entry.size() && absl::EndsWith(host, entry) &&
          host[host.size() - entry.size() - 1] == '.');
}

}  // namespace

bool NoProxyMatches(absl::string_view list, absl::string_view host_in) {
  const std::string host = absl::AsciiStrToLower(host_in);
  for (absl::string_view entry : absl::StrSplit(list, absl::ByAnyChar(", \t"), absl::SkipEmpty())) {
    if (NoProxyEntryMatches(absl::AsciiStrToLower(entry), host)) return true;
  }
  return false;
}


std::string HttpsProxyFor(absl::string_view host, const std::string& explicit_proxy,
                          const std::function<const char*(const char*)>& getenv) {
  if (explicit_proxy == "none") return "";
  if (!explicit_proxy.empty()) return explicit_proxy;
  std::string proxy = ProxyEnvironment("https_proxy", "HTTPS_PROXY", getenv);
  if (proxy.empty()) proxy = ProxyEnvironment("all_proxy", "ALL_PROXY", getenv);
  if (proxy.empty() || NoProxyMatches(ProxyEnvironment("no_proxy", "NO_PROXY", getenv), host)) {
    return "";
  }
  return proxy;
}

}  // namespace zarc::http
