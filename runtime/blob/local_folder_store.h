#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/blob/blob_store.h"

namespace zarc::blob {

// A folder laid out like the blob store: blob NAME is the file ROOT/NAME ('/' makes subfolders).
// Each blob's SHA-256 and content type are kept on its file as the extended attribute
// user.zarc, or, where the file system has no user extended attributes (and for blobs written
// before zarc kept them there), in a sidecar under ROOT/.zarc-meta/, which List() skips. Create-once through a temporary file in ROOT/.zarc-tmp/, fsync, then link(), which fails
// if the name exists: a crash never leaves a half-written blob visible. Safe to share between
// processes on one file system.
class LocalFolderStore final : public BlobStore {
 public:
  // Creates `root` (and its hidden folders) if needed. `root` must be absolute.
  static absl::StatusOr<std::unique_ptr<LocalFolderStore>> OpenFolder(std::string root);

  absl::StatusOr<std::unique_ptr<BlobWriter>> Create(absl::string_view name,
                                                     const WriteOptions& options) override;
  absl::StatusOr<std::unique_ptr<io::ByteSource>> Open(absl::string_view name) override;
  absl::StatusOr<BlobInfo> Stat(absl::string_view name) override;
  absl::StatusOr<std::vector<BlobInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view name) override;
  absl::Status Move(absl::string_view from, absl::string_view to) override;
  std::string Uri(absl::string_view name) const override;

  const std::string& root() const { return root_; }

 private:
  explicit LocalFolderStore(std::string root) : root_(std::move(root)) {}

  const std::string root_;
};

}  // namespace zarc::blob
