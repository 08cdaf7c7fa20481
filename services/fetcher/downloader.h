#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "runtime/http/http_client.h"
#include "services/fetcher/url_policy.h"
#include "services/fetcher/zoom_client.h"
#include "services/fetcher/zoom_types.h"

namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

// Streams Zoom files into the staging blob store under their SHA-256 (content addressed, so a file
// seen twice is stored once), never holding a file in memory.
//
// Zoom's download rules (zoom-api/README.md, "Downloading files"): the token (OAuth, or a
// webhook's download_token) goes in `Authorization: Bearer`, redirects are followed by hand and the
// header is kept only while the host is an allowed Zoom host; a refusal can come back as 200 with
// an HTML page; the size may differ from file_size, but a given encryption_fingerprint must match.
class ZoomDownloader {
 public:
  struct Options {
    std::string staging_prefix = "staging/sha256";
    int max_redirects = 5;
    int max_attempts = 4;
    absl::Duration backoff = absl::Seconds(1);
    absl::Duration timeout = absl::Hours(2);  // a multi-GB recording on a slow link
  };
  struct Result {
    blob::BlobInfo blob;
    std::string uri;      // where the staged file lives (no credentials)
    std::string problem;  // e.g. a size that differs from Zoom's listing; empty if none
  };

  ZoomDownloader(http::HttpClient& http, ZoomTokenSource& tokens, const ZoomHostPolicy& hosts,
                 blob::BlobStore& staging, Options options, prometheus::Registry* metrics);
  ~ZoomDownloader();

  // `download_token`, when not empty, is used instead of the OAuth token (webhook downloads).
  absl::StatusOr<Result> Download(const ZoomFile& file, const std::string& download_token);

 private:
  absl::StatusOr<Result> Attempt(const ZoomFile& file, const std::string& token);

  struct Metrics;
  http::HttpClient& http_;
  ZoomTokenSource& tokens_;
  const ZoomHostPolicy& hosts_;
  blob::BlobStore& staging_;
  const Options options_;
  std::unique_ptr<Metrics> metrics_;
};

// Resolves a Location header against the URL it came from.
std::string ResolveLocation(absl::string_view base, absl::string_view location);

}  // namespace zarc::fetcher
