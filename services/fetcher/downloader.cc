#include "services/fetcher/downloader.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/blob/random_id.h"
#include "runtime/log/log.h"

namespace zarc::fetcher {

struct ZoomDownloader::Metrics {
  prometheus::Counter* bytes = nullptr;
  prometheus::Family<prometheus::Counter>* files = nullptr;
};

namespace {

// Passes bytes to the blob writer while counting them and keeping the first few for sniffing.
class CountingSink final : public io::ByteSink {
 public:
  explicit CountingSink(io::ByteSink& inner) : inner_(inner) {}
  absl::Status Write(absl::string_view bytes) override {
    if (head_.size() < 512) {
      head_.append(bytes.data(), std::min(bytes.size(), 512 - head_.size()));
    }
    count_ += bytes.size();
    return inner_.Write(bytes);
  }
  absl::Status Close() override { return absl::OkStatus(); }  // the owner commits the blob
  uint64_t count() const { return count_; }
  const std::string& head() const { return head_; }

 private:
  io::ByteSink& inner_;
  uint64_t count_ = 0;
  std::string head_;
};

bool LooksLikeHtml(absl::string_view head) {
  absl::string_view h = absl::StripLeadingAsciiWhitespace(head);
  const std::string lower = absl::AsciiStrToLower(h.substr(0, 64));
  return absl::StartsWith(lower, "<!doctype html") || absl::StartsWith(lower, "<html");
}

std::string ContentTypeFor(const ZoomFile& f) {
  const std::string ext = absl::AsciiStrToLower(f.file_extension);
  if (ext == "mp4") return "video/mp4";
  if (ext == "m4a") return "audio/mp4";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "vtt") return "text/vtt; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "csv") return "text/csv; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::string ResolveLocation(absl::string_view base, absl::string_view location) {
  if (absl::StrContains(location.substr(0, location.find('/')), ":")) {
    return std::string(location);  // absolute
  }
  const size_t scheme_end = base.find("://");
  const size_t path_start =
      scheme_end == absl::string_view::npos ? absl::string_view::npos : base.find('/', scheme_end + 3);
  const absl::string_view origin = base.substr(0, path_start);
  if (absl::StartsWith(location, "//")) {
    return absl::StrCat(base.substr(0, scheme_end + 1), location);
  }
  if (absl::StartsWith(location, "/")) return absl::StrCat(origin, location);
  absl::string_view dir = base.substr(0, base.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return absl::StrCat(dir, location);
}

ZoomDownloader::ZoomDownloader(http::HttpClient& http, ZoomTokenSource& tokens,
                               const ZoomHostPolicy& hosts, blob::BlobStore& staging,
                               Options options, prometheus::Registry* registry)
    : http_(http),
      tokens_(tokens),
      hosts_(hosts),
      staging_(staging),
      options_(std::move(options)),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->bytes = &prometheus::BuildCounter()
                           .Name("zarc_fetcher_downloaded_bytes_total")
                           .Help("Bytes of Zoom files streamed into the staging store")
                           .Register(*registry)
                           .Add({});
    metrics_->files = &prometheus::BuildCounter()
                           .Name("zarc_fetcher_artifacts_total")
                           .Help("Zoom files downloaded, by outcome")
                           .Register(*registry);
  }
}

ZoomDownloader::~ZoomDownloader() = default;

absl::StatusOr<ZoomDownloader::Result> ZoomDownloader::Download(const ZoomFile& file,
                                                                const std::string& download_token) {
  if (absl::Status s = hosts_.Check(file.download_url); !s.ok()) {
    if (metrics_->files) metrics_->files->Add({{"outcome", "refused_host"}}).Increment();
    return s;
  }
  absl::Status last;
  // A webhook's download_token lasts 24 h; once Zoom refuses it, the OAuth token (which Zoom also
  // accepts for downloads) takes over.
  std::string webhook_token = download_token;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    std::string token = webhook_token;
    if (token.empty()) {
      absl::StatusOr<std::string> t = tokens_.Token();
      if (!t.ok()) return t.status();
      token = *t;
    }
    absl::StatusOr<Result> r = Attempt(file, token);
    if (r.ok()) {
      if (metrics_->files) metrics_->files->Add({{"outcome", "ok"}}).Increment();
      if (metrics_->bytes) metrics_->bytes->Increment(static_cast<double>(r->blob.size));
      return r;
    }
    last = r.status();
    if (last.code() == absl::StatusCode::kUnauthenticated && !webhook_token.empty()) {
      webhook_token.clear();
    } else if (last.code() == absl::StatusCode::kUnauthenticated) {
      tokens_.Invalidate(token);
    } else if (last.code() != absl::StatusCode::kUnavailable &&
               last.code() != absl::StatusCode::kDataLoss) {
      break;  // refused, not found, fingerprint mismatch: trying again will not help
    }
    log::Warn("fetcher", "download attempt failed",
              {{"file_id", file.StableId()}, {"attempt", attempt}, {"error", last}});
    if (attempt < options_.max_attempts) absl::SleepFor(options_.backoff * attempt);
  }
  if (metrics_->files) metrics_->files->Add({{"outcome", "failed"}}).Increment();
  return last;
}

absl::StatusOr<ZoomDownloader::Result> ZoomDownloader::Attempt(const ZoomFile& file,
                                                               const std::string& token) {
  const std::string temp_name =
      absl::StrCat(options_.staging_prefix, "/.incoming/", blob::RandomHex(16));
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      staging_.Create(temp_name, blob::WriteOptions{.content_type = ContentTypeFor(file)});
  if (!writer.ok()) return writer.status();
  CountingSink sink(**writer);

  std::string url = file.download_url;
  http::ClientResponse response;
  for (int hop = 0;; ++hop) {
    http::ClientRequest req;
    req.url = url;
    req.timeout = options_.timeout;
    // The token travels only to allowed Zoom hosts; a redirect elsewhere (cloud storage) gets none.
    if (hosts_.Allows(url)) req.headers.push_back({"Authorization", "Bearer " + token});
    absl::StatusOr<http::ClientResponse> resp = http_.SendStreaming(req, sink);
    if (!resp.ok()) {
      return absl::UnavailableError(absl::StrCat("download of ", file.StableId(), " from ",
                                                 http::RedactUrl(url), " failed: ",
                                                 resp.status().message()));
    }
    response = *std::move(resp);
    if (response.status >= 300 && response.status < 400) {
      std::optional<std::string> location = http::FindHeader(response.headers, "Location");
      if (!location || hop >= options_.max_redirects) {
        return absl::UnavailableError(absl::StrCat("download of ", file.StableId(),
                                                   ": redirect without Location or too many"));
      }
      url = ResolveLocation(url, *location);
      continue;
    }
    break;
  }
  const std::string where = absl::StrCat("download of ", file.StableId(), " (", file.file_type, ")");
  if (response.status == 401) {
    return absl::UnauthenticatedError(absl::StrCat(where, " refused: token not accepted (HTTP 401)"));
  }
  if (response.status == 404) {
    return absl::NotFoundError(absl::StrCat(where, ": Zoom no longer has the file (HTTP 404)"));
  }
  if (response.status == 429 || response.status >= 500) {
    return absl::UnavailableError(absl::StrCat(where, ": HTTP ", response.status));
  }
  if (response.status != 200) {
    return absl::PermissionDeniedError(absl::StrCat(where, " refused with HTTP ", response.status));
  }
  const std::string content_type =
      absl::AsciiStrToLower(http::FindHeader(response.headers, "Content-Type").value_or(""));
  if (absl::StartsWith(content_type, "text/html") || LooksLikeHtml(sink.head())) {
    // Usually an expired or not-yet-valid download link: worth another attempt, and if it persists
    // the meeting is captured without the file, which is named in the item and followed up.
    return absl::UnavailableError(absl::StrCat(
        where, " refused: Zoom answered 200 with an HTML page instead of the file (expired or "
               "unauthorised download; if it persists, check the app's recording scopes)"));
  }
  uint64_t announced = 0;
  if (auto cl = http::FindHeader(response.headers, "Content-Length");
      cl && absl::SimpleAtoi(*cl, &announced) && announced != sink.count()) {
    return absl::DataLossError(absl::StrCat(where, " truncated: got ", sink.count(), " of ",
                                            announced, " bytes"));
  }
  if (absl::Status s = (*writer)->Close(); !s.ok()) return s;
  blob::BlobInfo info = (*writer)->info();
  if (!file.encryption_fingerprint.empty() &&
      absl::AsciiStrToLower(file.encryption_fingerprint) != info.sha256) {
    (void)staging_.Delete(temp_name);
    return absl::DataLossError(absl::StrCat(where, ": SHA-256 ", info.sha256,
                                            " does not match Zoom's encryption_fingerprint ",
                                            file.encryption_fingerprint));
  }
  Result result;
  if (file.file_size > 0 && static_cast<uint64_t>(file.file_size) != info.size) {
    result.problem = absl::StrCat(file.StableId(), ": Zoom listed ", file.file_size,
                                  " bytes, the download had ", info.size);
  }
  const std::string final_name = absl::StrCat(options_.staging_prefix, "/", info.sha256);
  absl::Status moved = staging_.Move(temp_name, final_name);
  if (moved.code() == absl::StatusCode::kAlreadyExists) {
    (void)staging_.Delete(temp_name);  // the same bytes are already staged
  } else if (!moved.ok()) {
    return moved;
  }
  absl::StatusOr<blob::BlobInfo> final_info = staging_.Stat(final_name);
  if (!final_info.ok()) return final_info.status();
  result.blob = *final_info;
  result.uri = staging_.Uri(final_name);
  return result;
}

}  // namespace zarc::fetcher
