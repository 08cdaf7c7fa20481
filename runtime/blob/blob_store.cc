#include "runtime/blob/blob_store.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/blob/azure_blob_store.h"
#include "runtime/blob/local_folder_store.h"
#include "runtime/blob/random_id.h"
#include "runtime/http/http_types.h"

namespace zarc::blob {

absl::Status ValidateBlobName(absl::string_view name) {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blob name '", absl::CHexEscape(name), "' is not allowed: ", why,
        "; use a relative path like 'meetings/2024/abc.mp4'"));
  };
  if (name.empty()) return refuse("it is empty");
  if (name.size() > 1024) return refuse("it is longer than 1024 bytes");
  if (name.front() == '/') return refuse("it is absolute");
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') {
      return refuse("it contains a control character or a backslash");
    }
  }
  bool first = true;
  for (absl::string_view segment : absl::StrSplit(name, '/')) {
    if (segment.empty()) return refuse("it has an empty path segment");
    if (segment == "." || segment == "..") return refuse("it has a '.' or '..' segment");
    if (first && absl::StartsWith(segment, ".zarc")) {
      return refuse("top-level folders starting with '.zarc' are reserved");
    }
    first = false;
  }
  return absl::OkStatus();
}

absl::StatusOr<BlobInfo> PutContentAddressed(BlobStore& store, absl::string_view prefix,
                                             io::ByteSource& source, const WriteOptions& options) {
  const std::string folder = prefix.empty() ? "" : absl::StrCat(prefix, "/");
  const std::string temporary = absl::StrCat(folder, ".incoming/", RandomHex(16));
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store.Create(temporary, options);
  if (!writer.ok()) return writer.status();
  absl::StatusOr<uint64_t> copied = io::Copy(source, **writer);  // Copy closes: commits
  if (!copied.ok()) {
    // A failure after commit leaves the temporary behind; remove it if it exists.
    store.Delete(temporary).IgnoreError();
    return copied.status();
  }
  const std::string final_name = absl::StrCat(folder, (*writer)->info().sha256);
  absl::Status moved = store.Move(temporary, final_name);
  if (absl::IsAlreadyExists(moved)) {
    if (absl::Status deleted = store.Delete(temporary); !deleted.ok()) return deleted;
    return store.Stat(final_name);
  }
  if (!moved.ok()) {
    store.Delete(temporary).IgnoreError();
    return moved;
  }
  BlobInfo info = (*writer)->info();
  info.name = final_name;
  return info;
}

absl::StatusOr<std::unique_ptr<BlobStore>> OpenBlobStore(const BlobStoreConfig& config) {
  if (absl::StartsWith(config.url, "file://")) {
    const absl::string_view path = absl::string_view(config.url).substr(7);
    if (path.empty() || path.front() != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          "blob store URL '", config.url, "' needs an absolute path, like file:///var/lib/zarc/blobs"));
    }
    absl::StatusOr<std::unique_ptr<LocalFolderStore>> store = LocalFolderStore::OpenFolder(std::string(path));
    if (!store.ok()) return store.status();
    return std::unique_ptr<BlobStore>(std::move(*store));
  }
  if (!config.url.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blob store URL '", http::RedactUrl(config.url),
        "' is not supported: use file:///path for a local folder, or leave it empty and set the "
        "Azure account, container and key or SAS"));
  }
  absl::StatusOr<std::unique_ptr<AzureBlobStore>> store = AzureBlobStore::Connect(config.azure);
  if (!store.ok()) return store.status();
  if (config.create_container) {
    if (absl::Status s = (*store)->EnsureContainer(); !s.ok()) return s;
  }
  return std::unique_ptr<BlobStore>(std::move(*store));
}

bool IsTransientStoreError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

absl::Status TransientStoreErrorAsUnavailable(const absl::Status& status, absl::string_view what) {
  if (!IsTransientStoreError(status) || absl::IsResourceExhausted(status) ||
      absl::IsUnavailable(status)) {
    return status;
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", status.message(),
                                             " (a store problem, not the item's: retried)"));
}

}  // namespace zarc::blob
