#include "runtime/http/http_types.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace zarc::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> FindHeader(const Headers& headers, absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      out.emplace_back(PercentDecode(part, /*plus_is_space=*/true), "");
    } else {
      out.emplace_back(PercentDecode(part.substr(0, eq), true),
                       PercentDecode(part.substr(eq + 1), true));
    }
  }
  return out;
}

std::optional<std::string> QueryParam(absl::string_view query, absl::string_view name) {
  for (auto& [key, value] : ParseQuery(query)) {
    if (key == name) return std::move(value);
  }
  return std::nullopt;
}

std::string PercentDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

std::optional<UrlOrigin> ParseOrigin(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return std::nullopt;
  UrlOrigin origin;
  origin.scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (origin.scheme == "http") {
    origin.port = 80;
  } else if (origin.scheme == "https") {
    origin.port = 443;
  } else {
    return std::nullopt;
  }
  absl::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.find_first_of("@\\ \t\r\n") != absl::string_view::npos) return std::nullopt;
  absl::string_view host = authority;
  absl::string_view port;
  if (!authority.empty() && authority[0] == '[') {  // IPv6 literal
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    absl::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) return std::nullopt;
    port = rest;
  } else if (const size_t colon = authority.find(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  if (!port.empty()) {
    int n = 0;
    if (port.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(port, &n) || n < 1 || n > 65535) {
      return std::nullopt;
    }
    origin.port = n;
  }
  origin.host = absl::AsciiStrToLower(host);
  return origin;
}

std::string FormatOrigin(const UrlOrigin& origin) {
  return absl::StrCat(origin.scheme, "://", origin.host, ":", origin.port);
}

absl::Status CheckSameOrigin(absl::string_view link, absl::string_view configured,
                             absl::string_view what, absl::string_view configured_key) {
  const std::optional<UrlOrigin> want = ParseOrigin(configured);
  const std::optional<UrlOrigin> got = ParseOrigin(link);
  if (want && got && *want == *got) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      what, " points to ",
      got ? absl::StrCat("host \"", got->host, "\" (", FormatOrigin(*got), ")")
          : std::string("something that is not a plain http(s) URL"),
      ", not to ", want ? FormatOrigin(*want) : std::string(configured), " (", configured_key,
      "); not followed, so the access token is not sent there"));
}

}  // namespace zarc::http
