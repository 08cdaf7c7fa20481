#include "runtime/blob/azure_auth.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/crypto/digest.h"

namespace zarc::blob {
namespace {

std::string HeaderOrEmpty(const http::ClientRequest& request, absl::string_view name) {
  return http::FindHeader(request.headers, name).value_or("");
}

// Collapses runs of whitespace to one space and trims, as canonicalized headers require.
std::string UnfoldValue(absl::string_view value) {
  std::string out;
  bool space = false;
  for (const char c : absl::StripAsciiWhitespace(value)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string FormatSasTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

}  // namespace

std::string SharedKeyStringToSign(absl::string_view account, const http::ClientRequest& request) {
  std::string out = absl::StrCat(request.method, "\n");
  absl::StrAppend(&out, HeaderOrEmpty(request, "Content-Encoding"), "\n",
                  HeaderOrEmpty(request, "Content-Language"), "\n",
                  request.body.empty() ? "" : absl::StrCat(request.body.size()), "\n",
                  HeaderOrEmpty(request, "Content-MD5"), "\n",
                  HeaderOrEmpty(request, "Content-Type"), "\n", HeaderOrEmpty(request, "Date"),
                  "\n", HeaderOrEmpty(request, "If-Modified-Since"), "\n",
                  HeaderOrEmpty(request, "If-Match"), "\n", HeaderOrEmpty(request, "If-None-Match"),
                  "\n", HeaderOrEmpty(request, "If-Unmodified-Since"), "\n",
                  HeaderOrEmpty(request, "Range"), "\n");

  std::map<std::string, std::string> ms_headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower = absl::AsciiStrToLower(name);
    if (!absl::StartsWith(lower, "x-ms-")) continue;
    std::string& slot = ms_headers[lower];
    slot = slot.empty() ? UnfoldValue(value) : absl::StrCat(slot, ",", UnfoldValue(value));
  }
  for (const auto& [name, value] : ms_headers) absl::StrAppend(&out, name, ":", value, "\n");

  absl::string_view url = request.url;
  const size_t scheme = url.find("://");
  absl::string_view rest = scheme == absl::string_view::npos ? url : url.substr(scheme + 3);
  const size_t slash = rest.find('/');
  rest = slash == absl::string_view::npos ? absl::string_view("/") : rest.substr(slash);
  const size_t question = rest.find('?');
  const absl::string_view path = rest.substr(0, question);
  absl::StrAppend(&out, "/", account, path);
  if (question != absl::string_view::npos) {
    std::map<std::string, std::vector<std::string>> params;
    for (auto& [name, value] : http::ParseQuery(rest.substr(question + 1))) {
      params[absl::AsciiStrToLower(name)].push_back(std::move(value));
    }
    for (auto& [name, values] : params) {
      std::sort(values.begin(), values.end());
      absl::StrAppend(&out, "\n", name, ":", absl::StrJoin(values, ","));
    }
  }
  return out;
}

absl::StatusOr<std::string> SharedKeyAuthorization(absl::string_view account,
                                                   absl::string_view base64_key,
                                                   const http::ClientRequest& request) {
  absl::StatusOr<std::string> key = crypto::Base64Decode(base64_key);
  if (!key.ok() || key->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the storage account key for ", account,
        " is not valid base64; copy key1 or key2 from the storage account's Access keys"));
  }
  return absl::StrCat("SharedKey ", account, ":",
                      crypto::Base64Encode(crypto::HmacSha256(*key, SharedKeyStringToSign(account, request))));
}

std::string FormatHttpDate(absl::Time time) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", time, absl::UTCTimeZone());
}

std::string ContainerSasStringToSign(absl::string_view account, absl::string_view container,
                                     const ContainerSasOptions& options) {
  return absl::StrJoin(
      {options.permissions, options.start ? FormatSasTime(*options.start) : std::string(),
       FormatSasTime(options.expiry), absl::StrCat("/blob/", account, "/", container),
       std::string() /*si*/, std::string() /*sip*/, options.protocol, options.version,
       std::string("c"), std::string() /*snapshot*/, std::string() /*ses*/,
       std::string() /*rscc*/, std::string() /*rscd*/, std::string() /*rsce*/,
       std::string() /*rscl*/, std::string() /*rsct*/},
      "\n");
}

absl::StatusOr<std::string> ContainerSasToken(absl::string_view account,
                                              absl::string_view container,
                                              absl::string_view base64_key,
                                              const ContainerSasOptions& options) {
  absl::StatusOr<std::string> key = crypto::Base64Decode(base64_key);
  if (!key.ok() || key->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the storage account key for ", account, " is not valid base64; cannot sign a SAS"));
  }
  const std::string signature = crypto::Base64Encode(
      crypto::HmacSha256(*key, ContainerSasStringToSign(account, container, options)));
  std::string token = absl::StrCat("sv=", options.version, "&sr=c&sp=", options.permissions);
  if (options.start) absl::StrAppend(&token, "&st=", http::PercentEncode(FormatSasTime(*options.start)));
  absl::StrAppend(&token, "&se=", http::PercentEncode(FormatSasTime(options.expiry)));
  if (!options.protocol.empty()) absl::StrAppend(&token, "&spr=", http::PercentEncode(options.protocol));
  absl::StrAppend(&token, "&sig=", http::PercentEncode(signature));
  return token;
}

}  // namespace zarc::blob
