#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/http/http_client.h"

namespace zarc::blob {

// The Shared Key string-to-sign for the Blob service, version 2015-02-21 and later ("Authorize
// with Shared Key", learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key):
// VERB, Content-Encoding, Content-Language, Content-Length (empty when 0), Content-MD5,
// Content-Type, Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range, each
// followed by '\n'; then the canonicalized x-ms- headers ("name:value\n", lowercase names, sorted);
// then "/ACCOUNT" + the URL's encoded path, and for each query parameter, sorted by lowercase
// name, "\nname:value" (values decoded, several values sorted and comma-joined).
// Content-Length is the request body's size, as the HTTP client sends it.
std::string SharedKeyStringToSign(absl::string_view account, const http::ClientRequest& request);

// "SharedKey ACCOUNT:BASE64(HMAC-SHA256(key, string-to-sign))". InvalidArgument if the key is not
// base64 (the message never shows the key).
absl::StatusOr<std::string> SharedKeyAuthorization(absl::string_view account,
                                                   absl::string_view base64_key,
                                                   const http::ClientRequest& request);

// RFC 1123 date as x-ms-date wants it: "Sun, 11 Oct 2009 21:49:13 GMT".
std::string FormatHttpDate(absl::Time time);

// A service SAS for a whole container ("Create a service SAS", signed version 2020-12-06 and
// later, for which the string-to-sign is sp, st, se, /blob/ACCOUNT/CONTAINER, si, sip, spr, sv, sr,
// snapshot time, ses, rscc, rscd, rsce, rscl, rsct joined by '\n').
struct ContainerSasOptions {
  std::string permissions = "racwdl";
  std::optional<absl::Time> start;
  absl::Time expiry;
  std::string version = "2021-08-06";
  std::string protocol;  // "https" or "https,http"; empty: not restricted
};
std::string ContainerSasStringToSign(absl::string_view account, absl::string_view container,
                                     const ContainerSasOptions& options);
// The token (query string without '?'), e.g. "sv=...&sr=c&sp=...&se=...&sig=...".
absl::StatusOr<std::string> ContainerSasToken(absl::string_view account,
                                              absl::string_view container,
                                              absl::string_view base64_key,
                                              const ContainerSasOptions& options);

}  // namespace zarc::blob
