#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/blob/blob_store.h"
#include "runtime/entra/token_source.h"
#include "runtime/http/http_client.h"
#include "runtime/http/retrying_client.h"

namespace zarc::blob {

// Azure Blob Storage over its REST API (x-ms-version 2021-08-06), with SharedKey, SAS or Entra ID
// bearer auth and transient failures retried. Blobs are block blobs, created once with If-None-Match: *: small ones
// with one Put Blob, larger ones with Put Block per block_size and a final Put Block List. Each
// blob's SHA-256 is kept as the metadata x-ms-meta-sha256. Thread-safe.
class AzureBlobStore final : public BlobStore {
 public:
  static constexpr char kApiVersion[] = "2021-08-06";
  static constexpr int kMaxBlocks = 50000;

  // `client`: the HTTP client to use (not owned, must outlive the store); null for an own one.
  static absl::StatusOr<std::unique_ptr<AzureBlobStore>> Connect(
      const AzureBlobOptions& options, http::HttpClient* client = nullptr,
      http::RetryPolicy retry = {});

  // Create Container; an existing container is fine.
  absl::Status EnsureContainer();

  absl::StatusOr<std::unique_ptr<BlobWriter>> Create(absl::string_view name,
                                                     const WriteOptions& options) override;
  absl::StatusOr<std::unique_ptr<io::ByteSource>> Open(absl::string_view name) override;
  absl::StatusOr<BlobInfo> Stat(absl::string_view name) override;
  absl::StatusOr<std::vector<BlobInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view name) override;
  absl::Status Move(absl::string_view from, absl::string_view to) override;
  std::string Uri(absl::string_view name) const override;

  // Adds x-ms-version, x-ms-date and authorization to `request` and sends it (with retries).
  // Used by the store's writers and sources too.
  absl::StatusOr<http::ClientResponse> Call(http::ClientRequest& request);
  absl::StatusOr<http::ClientResponse> CallStreaming(http::ClientRequest& request, io::ByteSink& sink);
  // URL of a blob (or of the container for an empty name) with `query` ("a=b&c=d") and the SAS.
  std::string Url(absl::string_view name, absl::string_view query) const;
  const AzureBlobOptions& options() const { return options_; }

  struct Properties {
    BlobInfo info;
    std::string etag;
    std::string copy_status;
  };
  absl::StatusOr<Properties> GetProperties(absl::string_view name);

 private:
  AzureBlobStore(AzureBlobOptions options, std::unique_ptr<http::HttpClient> owned,
                 http::HttpClient* client, http::RetryPolicy retry);

  // The bearer token sent, if any, for a 401 to drop it.
  absl::Status Authorize(http::ClientRequest& request, std::string* bearer) const;
  void Answered(const absl::StatusOr<http::ClientResponse>& response, const std::string& bearer);

  const AzureBlobOptions options_;
  const std::unique_ptr<http::HttpClient> owned_client_;
  http::RetryingHttpClient client_;
  std::unique_ptr<http::HttpClient> token_client_;
  std::unique_ptr<entra::TokenSource> tokens_;  // Entra ID auth only
};

// Entra ID credentials for `options` (its identity and entra fields, the environment filling
// what is empty, through `getenv`); InvalidArgument naming what is missing.
absl::StatusOr<entra::Credentials> AzureEntraCredentials(
    const AzureBlobOptions& options, const std::function<const char*(const char*)>& getenv);
inline constexpr char kAzureStorageScope[] = "https://storage.azure.com/.default";

// Turns an unexpected Azure answer into a Status: the operation, the blob, the HTTP status and
// Azure's x-ms-error-code, with a hint. Never includes the URL's query (SAS) or headers.
absl::Status AzureError(const http::ClientResponse& response, absl::string_view operation,
                        absl::string_view name);

// Parses one page of List Blobs XML: the blobs and the NextMarker ("" on the last page).
struct ListPage {
  std::vector<BlobInfo> blobs;
  std::string next_marker;
};
absl::StatusOr<ListPage> ParseListBlobs(absl::string_view xml);

}  // namespace zarc::blob
