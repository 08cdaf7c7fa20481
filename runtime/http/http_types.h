#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/io/byte_stream.h"

namespace zarc::http {

// Header names compare case-insensitively (RFC 9110 section 5.1); order and repeats are kept.
using Headers = std::vector<std::pair<std::string, std::string>>;

// The first value of `name`, or nullopt.
std::optional<std::string> FindHeader(const Headers& headers, absl::string_view name);

// A request as the server hands it to a handler. `path` is the raw, still percent-encoded path
// (a handler that needs Zoom's double-encoded UUIDs must see exactly what was sent).
struct ServerRequest {
  std::string method;
  std::string path;
  std::string query;  // raw, without '?'
  Headers headers;
  std::string body;
  std::string remote_address;
};

// What a handler answers. Either `body`, or `body_stream` for large bodies: the server pulls from
// the stream chunk by chunk, so a multi-GB answer costs no memory. With `body_stream`,
// `content_length` should be set; a stream that ends early makes a truncated response.
struct ServerResponse {
  int status = 200;
  Headers headers;
  std::string body;
  std::unique_ptr<io::ByteSource> body_stream;
  std::optional<uint64_t> content_length;
};

// Parses "a=1&b=x%20y" into decoded pairs.
std::vector<std::pair<std::string, std::string>> ParseQuery(absl::string_view query);
std::optional<std::string> QueryParam(absl::string_view query, absl::string_view name);
// Percent-decoding (RFC 3986 section 2.1); '+' is left alone unless `plus_is_space`.
std::string PercentDecode(absl::string_view text, bool plus_is_space = false);
// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncode(absl::string_view text);

// Scheme, host and port of an absolute http(s) URL (RFC 6454 origin): where a request goes, and
// so whether a credential may go with it.
struct UrlOrigin {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-cased; an IPv6 literal keeps its brackets
  int port = 0;        // the scheme's default (80, 443) when the URL has none
  bool operator==(const UrlOrigin& other) const {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
  bool operator!=(const UrlOrigin& other) const { return !(*this == other); }
};
// The origin of `url`, or nullopt if it is not an absolute http(s) URL or is ambiguous about its
// host: userinfo ("a@b"), a backslash or a bad port are refused, since clients disagree on them.
std::optional<UrlOrigin> ParseOrigin(absl::string_view url);
// "https://host:port", for errors and logs (never a path or query).
std::string FormatOrigin(const UrlOrigin& origin);

// For links a server hands back (Graph's @odata.nextLink): OK if `link` has exactly the origin
// of `configured` (scheme, host and port), so a bearer token may follow it; otherwise
// FAILED_PRECONDITION naming `what`, the link's host and `configured_key`, never the link's path
// or query.
absl::Status CheckSameOrigin(absl::string_view link, absl::string_view configured,
                             absl::string_view what, absl::string_view configured_key);

}  // namespace zarc::http
