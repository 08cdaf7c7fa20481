#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/io/byte_stream.h"

namespace zarc::blob {

struct BlobInfo {
  std::string name;
  uint64_t size = 0;
  std::string sha256;  // lowercase hex, computed while the blob was written
  std::string content_type;
};

struct WriteOptions {
  std::string content_type = "application/octet-stream";
};

// Write() chunks; Close() commits create-once. Destroying a writer without Close() abandons the
// blob: nothing becomes visible. Not thread-safe.
class BlobWriter : public io::ByteSink {
 public:
  // Valid after a successful Close().
  virtual const BlobInfo& info() const = 0;
};

// A flat namespace of immutable blobs; names use '/' as a folder separator. Implementations are
// thread-safe; writers and sources they hand out are not.
class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Create-once: Close() of the writer returns absl::AlreadyExistsError("blob NAME exists") if the
  // name is taken (also when another writer won a race). Nothing is visible before Close().
  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> Create(absl::string_view name,
                                                             const WriteOptions& options) = 0;
  // NotFound if absent. Reads in bounded chunks.
  virtual absl::StatusOr<std::unique_ptr<io::ByteSource>> Open(absl::string_view name) = 0;
  // NotFound if absent (this is also the existence check).
  virtual absl::StatusOr<BlobInfo> Stat(absl::string_view name) = 0;
  // Blobs whose name starts with `prefix` (a plain string prefix), sorted by name.
  virtual absl::StatusOr<std::vector<BlobInfo>> List(absl::string_view prefix) = 0;
  // NotFound if absent.
  virtual absl::Status Delete(absl::string_view name) = 0;
  // Create-once rename: AlreadyExists if `to` exists (then `from` is left as it was), NotFound if
  // `from` is absent. The blob keeps its SHA-256 and content type.
  virtual absl::Status Move(absl::string_view from, absl::string_view to) = 0;
  // Where the blob lives, for events and logs (never carries credentials).
  virtual std::string Uri(absl::string_view name) const = 0;
};

// Whether a store error is the store's trouble rather than a problem of what was asked for:
// unreachable or busy (UNAVAILABLE), timed out (DEADLINE_EXCEEDED), credentials refused
// (PERMISSION_DENIED, UNAUTHENTICATED: Azure's 403 AuthorizationFailure while a key is being
// rotated, a SAS token that expired, EACCES), an I/O error (INTERNAL: EIO), an unclassified
// answer (UNKNOWN), a blob that changed while being read (ABORTED), a full volume
// (RESOURCE_EXHAUSTED). NOT_FOUND, INVALID_ARGUMENT, DATA_LOSS, ALREADY_EXISTS and the rest are
// about the blob itself.
bool IsTransientStoreError(const absl::Status& status);
// For a stage handler: `status` as UNAVAILABLE (prefixed with `what`) when IsTransientStoreError,
// so the stage runner waits and retries instead of dead-lettering the record; otherwise as it
// is (RESOURCE_EXHAUSTED stays itself: the runner already waits on it).
absl::Status TransientStoreErrorAsUnavailable(const absl::Status& status, absl::string_view what);

// Names are relative, '/'-separated, with no empty, "." or ".." segment, no control characters,
// at most 1024 bytes, and not under the reserved top-level folders starting with ".zarc".
absl::Status ValidateBlobName(absl::string_view name);

// Streams `source` into `<prefix>/<sha256>` (content addressed: the same bytes are stored once):
// writes under a temporary name while hashing, then moves it to its final name; if that name exists
// already the temporary is deleted and the existing blob returned. Bounded memory. An empty prefix
// stores at `<sha256>`.
absl::StatusOr<BlobInfo> PutContentAddressed(BlobStore& store, absl::string_view prefix,
                                             io::ByteSource& source, const WriteOptions& options);

struct AzureBlobOptions {
  std::string account;    // e.g. "zarcarchive" or "devstoreaccount1"
  std::string container;  // e.g. "zarc-staging"
  // Blob service endpoint without the container: "https://ACCOUNT.blob.core.windows.net", or
  // Azurite's path-style "http://127.0.0.1:10000/devstoreaccount1". Empty: the public cloud URL.
  std::string endpoint;
  // At most one of: the base64 account key (SharedKey auth) or a SAS token (query string, with or
  // without the leading '?'). Neither: Entra ID bearer tokens (below).
  std::string shared_key;
  std::string sas_token;
  // Entra ID, when neither key nor SAS is given (regulated tenants turn shared keys off): bearer
  // tokens for https://storage.azure.com/.default, sent over HTTPS only; the identity needs the
  // "Storage Blob Data Contributor" role on the container. `identity` picks the source:
  //  "auto": workload identity when AZURE_FEDERATED_TOKEN_FILE is set, client credentials when
  //          AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is, else the managed identity;
  //  "workload-identity": AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID
  //          (AZURE_AUTHORITY_HOST), as the AKS workload identity webhook sets them;
  //  "managed-identity": the instance metadata service (AZURE_CLIENT_ID for a user-assigned one);
  //  "client-credentials": AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or
  //          AZURE_CLIENT_CERTIFICATE_PATH (a PEM with the key and the certificate).
  // The environment fills whichever of the fields below is empty.
  std::string identity = "auto";
  struct Entra {
    std::string authority_host;  // default https://login.microsoftonline.com
    std::string tenant_id;
    std::string client_id;
    std::string client_secret;  // secret
    std::string certificate_file;
    std::string federated_token_file;
    std::string imds_endpoint;  // default http://169.254.169.254/metadata/identity/oauth2/token
  } entra;
  // Put Block size; objects up to one block go up in a single Put Blob. At most 50,000 blocks.
  size_t block_size = 8 * 1024 * 1024;
  // Size of each ranged Get Blob when reading.
  size_t read_chunk_size = 4 * 1024 * 1024;
  // Extra PEM CA file for the HTTPS endpoint (tests).
  std::string ca_file;
};

struct BlobStoreConfig {
  // "file:///var/lib/zarc/blobs" for a local folder store; empty for Azure (fields below).
  std::string url;
  AzureBlobOptions azure;
  // Azure only: create the container at start-up if it does not exist.
  bool create_container = true;
};

absl::StatusOr<std::unique_ptr<BlobStore>> OpenBlobStore(const BlobStoreConfig& config);

}  // namespace zarc::blob
