#include "runtime/blob/local_folder_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/blob/random_id.h"
#include "runtime/crypto/digest.h"

namespace zarc::blob {
namespace {

namespace fs = std::filesystem;

constexpr char kMetaDir[] = ".zarc-meta";
constexpr char kTempDir[] = ".zarc-tmp";
constexpr char kDefaultType[] = "application/octet-stream";
// The blob's SHA-256 and content type ("<hex>\n<type>"), kept on the file itself where the file
// system has user extended attributes: set before the fsync that makes the file durable, so
// the file and its metadata become visible together. Elsewhere (and for blobs written before),
// a sidecar file under .zarc-meta/.
constexpr char kXattr[] = "user.zarc";

absl::Status ErrnoError(int error, absl::string_view what, absl::string_view path) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(
          absl::StrCat(message, "; give the zarc user write access to the blob folder"));
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(absl::StrCat(message, "; free space on the volume"));
    default:
      return absl::InternalError(message);
  }
}

std::string ParentOf(const std::string& path) { return fs::path(path).parent_path().string(); }

absl::Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  // A concurrent Delete may prune a folder above while the ones below are created: again.
  for (int attempt = 0; ec.value() == ENOENT && attempt < 64; ++attempt) {
    ec.clear();
    fs::create_directories(path, ec);
  }
  if (ec) return ErrnoError(ec.value(), "cannot create folder", path);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, absl::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot write", path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// A Delete prunes the folders it leaves empty, so a folder created for a blob can be removed by
// another thread or process before the blob is linked into it. Creating it again and retrying
// wins in practice within a few rounds; the bound only keeps a broken file system from looping.
constexpr int kParentRaceAttempts = 64;

// link() that creates missing parent folders, again if a concurrent Delete removed an empty
// parent in between.
int LinkCreatingParents(const std::string& from, const std::string& to) {
  for (int attempt = 0; attempt < kParentRaceAttempts; ++attempt) {
    if (::link(from.c_str(), to.c_str()) == 0) return 0;
    if (errno != ENOENT) return errno;
    if (::access(from.c_str(), F_OK) != 0) return ENOENT;  // the source is what is missing
    std::error_code ec;
    fs::create_directories(ParentOf(to), ec);
    // ENOENT: a folder above was pruned while the ones below it were being created.
    if (ec && ec.value() != ENOENT) return ec.value();
  }
  return ENOENT;
}

class FileSource final : public io::ByteSource {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    while (true) {
      const ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoError(errno, "cannot read", path_);
    }
  }

 private:
  const int fd_;
  const std::string path_;
};

struct Sidecar {
  std::string sha256;
  std::string content_type;
};

std::string XattrValue(const Sidecar& sidecar) {
  return absl::StrCat(sidecar.sha256, "\n", sidecar.content_type);
}

std::optional<Sidecar> ParseSidecar(absl::string_view text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (lines.size() >= 2 && lines[0].size() == 64) return Sidecar{lines[0], lines[1]};
  return std::nullopt;
}

std::optional<Sidecar> ReadXattr(const std::string& path) {
  char buffer[1024];
  const ssize_t n = ::getxattr(path.c_str(), kXattr, buffer, sizeof buffer);
  if (n <= 0) return std::nullopt;
  return ParseSidecar(absl::string_view(buffer, static_cast<size_t>(n)));
}

// Where a store's files live, and the sidecar protocol over them.
class LocalPaths {
 public:
  explicit LocalPaths(std::string root) : root_(std::move(root)) {}
  std::string Blob(absl::string_view name) const { return absl::StrCat(root_, "/", name); }
  std::string Meta(absl::string_view name) const {
    return absl::StrCat(root_, "/", kMetaDir, "/", name);
  }
  std::string TempFolder() const { return absl::StrCat(root_, "/", kTempDir); }
  std::string NewTemp() const { return absl::StrCat(TempFolder(), "/", RandomHex(12)); }

  // Authoritative: replaces whatever sidecar exists (written by the blob's creator or mover).
  absl::Status WriteSidecar(absl::string_view name, const Sidecar& sidecar) const {
    const std::string path = Meta(name);
    const std::string temp = NewTemp();
    if (absl::Status s = WriteFile(temp, sidecar); !s.ok()) return s;
    // A concurrent Delete may prune the (empty) parent between creating it and the rename:
    // create it again and retry, as LinkCreatingParents does.
    int rc = -1;
    for (int attempt = 0; attempt < kParentRaceAttempts && rc != 0; ++attempt) {
      if (absl::Status s = MakeDirs(ParentOf(path)); !s.ok()) {
        ::unlink(temp.c_str());
        return s;
      }
      rc = ::rename(temp.c_str(), path.c_str());
      if (rc != 0 && errno != ENOENT) break;
    }
    if (rc != 0) {
      const int error = errno;
      ::unlink(temp.c_str());
      return ErrnoError(error, "cannot write blob metadata", path);
    }
    return absl::OkStatus();
  }

  // Reads the sidecar; if missing (a crash between commit and sidecar) recomputes the hash from
  // the immutable file and stores it unless someone else did first.
  absl::StatusOr<Sidecar> ReadOrRepairSidecar(absl::string_view name) const {
    const std::string blob = Blob(name);
    if (std::optional<Sidecar> on_file = ReadXattr(blob)) return *on_file;
    const std::string path = Meta(name);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      FileSource source(fd, path);
      absl::StatusOr<std::string> text = io::ReadAll(source, 4096);
      if (!text.ok()) return text.status();
      if (std::optional<Sidecar> sidecar = ParseSidecar(*text)) return *sidecar;
    }
    const int blob_fd = ::open(blob.c_str(), O_RDONLY | O_CLOEXEC);
    if (blob_fd < 0) return ErrnoError(errno, "cannot open blob", blob);
    FileSource source(blob_fd, blob);
    crypto::Sha256 hash;
    std::vector<char> buffer(1 << 20);
    while (true) {
      absl::StatusOr<size_t> n = source.Read(buffer.data(), buffer.size());
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      hash.Update(absl::string_view(buffer.data(), *n));
    }
    Sidecar sidecar{hash.FinishHex(), kDefaultType};
    const std::string value = XattrValue(sidecar);
    // XATTR_CREATE: the creator's metadata wins over a repair running at the same time.
    if (::setxattr(blob.c_str(), kXattr, value.data(), value.size(), XATTR_CREATE) == 0 ||
        errno == EEXIST) {
      return sidecar;
    }
    if (MakeDirs(ParentOf(path)).ok()) {
      const std::string temp = NewTemp();
      if (WriteFile(temp, sidecar).ok()) {
        ::link(temp.c_str(), path.c_str());  // EEXIST: the creator's sidecar wins
        ::unlink(temp.c_str());
      }
    }
    return sidecar;
  }

  // Removes empty folders from `path`'s parent up to (not including) `top`.
  void PruneEmptyParents(const std::string& path, const std::string& top) const {
    fs::path dir = fs::path(path).parent_path();
    while (dir.string().size() > top.size() && absl::StartsWith(dir.string(), top)) {
      if (::rmdir(dir.c_str()) != 0) break;
      dir = dir.parent_path();
    }
  }

 private:
  static absl::Status WriteFile(const std::string& path, const Sidecar& sidecar) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError(errno, "cannot create", path);
    absl::Status s = WriteAll(fd, absl::StrCat(sidecar.sha256, "\n", sidecar.content_type, "\n"), path);
    if (s.ok() && ::fsync(fd) != 0) s = ErrnoError(errno, "cannot sync", path);
    ::close(fd);
    if (!s.ok()) ::unlink(path.c_str());
    return s;
  }

  const std::string root_;
};

class LocalWriter final : public BlobWriter {
 public:
  LocalWriter(LocalPaths paths, std::string name, std::string content_type, int fd,
              std::string temp)
      : paths_(std::move(paths)), name_(std::move(name)), content_type_(std::move(content_type)), fd_(fd),
        temp_(std::move(temp)) {}
  ~LocalWriter() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(temp_.c_str());
    }
  }

  absl::Status Write(absl::string_view bytes) override {
    if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("blob ", name_, " is closed"));
    if (absl::Status s = WriteAll(fd_, bytes, temp_); !s.ok()) return s;
    hash_.Update(bytes);
    size_ += bytes.size();
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("blob ", name_, " is closed"));
    info_ = BlobInfo{name_, size_, hash_.FinishHex(), content_type_};
    const std::string value = XattrValue(Sidecar{info_.sha256, info_.content_type});
    const bool on_file = ::fsetxattr(fd_, kXattr, value.data(), value.size(), 0) == 0;
    absl::Status synced = ::fsync(fd_) == 0 ? absl::OkStatus() : ErrnoError(errno, "cannot sync", temp_);
    ::close(fd_);
    fd_ = -1;
    if (!synced.ok()) {
      ::unlink(temp_.c_str());
      return synced;
    }
    const std::string target = paths_.Blob(name_);
    const int error = LinkCreatingParents(temp_, target);
    ::unlink(temp_.c_str());
    if (error == EEXIST) return absl::AlreadyExistsError(absl::StrCat("blob ", name_, " exists"));
    if (error != 0) return ErrnoError(error, "cannot commit blob", target);
    SyncDir(ParentOf(target));
    if (on_file) return absl::OkStatus();
    return paths_.WriteSidecar(name_, Sidecar{info_.sha256, info_.content_type});
  }

  const BlobInfo& info() const override { return info_; }

 private:
  const LocalPaths paths_;
  const std::string name_;
  const std::string content_type_;
  int fd_;
  const std::string temp_;
  crypto::Sha256 hash_;
  uint64_t size_ = 0;
  BlobInfo info_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LocalFolderStore>> LocalFolderStore::OpenFolder(std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty() || root.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("blob folder '", root, "' must be an absolute path"));
  }
  for (const std::string& dir : {root, absl::StrCat(root, "/", kMetaDir), absl::StrCat(root, "/", kTempDir)}) {
    if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  }
  return std::unique_ptr<LocalFolderStore>(new LocalFolderStore(std::move(root)));
}

absl::StatusOr<std::unique_ptr<BlobWriter>> LocalFolderStore::Create(absl::string_view name,
                                                                     const WriteOptions& options) {
  if (absl::Status s = ValidateBlobName(name); !s.ok()) return s;
  LocalPaths paths(root_);
  const std::string temp = paths.NewTemp();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, "cannot create temporary file", temp);
  return std::unique_ptr<BlobWriter>(std::make_unique<LocalWriter>(
      std::move(paths), std::string(name), options.content_type, fd, temp));
}

absl::StatusOr<std::unique_ptr<io::ByteSource>> LocalFolderStore::Open(absl::string_view name) {
  if (absl::Status s = ValidateBlobName(name); !s.ok()) return s;
  const std::string path = LocalPaths(root_).Blob(name);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::NotFoundError(absl::StrCat("blob ", name, " not found"));
    return ErrnoError(errno, "cannot open blob", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::NotFoundError(absl::StrCat("blob ", name, " not found (it is a folder)"));
  }
  return std::unique_ptr<io::ByteSource>(std::make_unique<FileSource>(fd, path));
}

absl::StatusOr<BlobInfo> LocalFolderStore::Stat(absl::string_view name) {
  if (absl::Status s = ValidateBlobName(name); !s.ok()) return s;
  LocalPaths paths(root_);
  const std::string path = paths.Blob(name);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat("blob ", name, " not found"));
    }
    return ErrnoError(errno, "cannot stat blob", path);
  }
  if (!S_ISREG(st.st_mode)) return absl::NotFoundError(absl::StrCat("blob ", name, " not found"));
  absl::StatusOr<Sidecar> sidecar = paths.ReadOrRepairSidecar(name);
  if (!sidecar.ok()) return sidecar.status();
  return BlobInfo{std::string(name), static_cast<uint64_t>(st.st_size), sidecar->sha256,
                  sidecar->content_type};
}

absl::StatusOr<std::vector<BlobInfo>> LocalFolderStore::List(absl::string_view prefix) {
  // Walk only the deepest folder the prefix names.
  const size_t slash = prefix.rfind('/');
  const std::string start = slash == absl::string_view::npos
                                ? root_
                                : absl::StrCat(root_, "/", prefix.substr(0, slash));
  std::vector<std::string> names;
  std::error_code ec;
  fs::recursive_directory_iterator it(start, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
      return std::vector<BlobInfo>{};
    }
    return ErrnoError(ec.value(), "cannot list folder", start);
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return ErrnoError(ec.value(), "cannot list folder", start);
    const std::string path = it->path().string();
    const absl::string_view relative = absl::string_view(path).substr(root_.size() + 1);
    if (it.depth() == 0 && start == root_ && absl::StartsWith(relative, ".zarc")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (absl::StartsWith(relative, prefix)) names.emplace_back(relative);
  }
  std::sort(names.begin(), names.end());
  std::vector<BlobInfo> out;
  out.reserve(names.size());
  for (const std::string& name : names) {
    absl::StatusOr<BlobInfo> info = Stat(name);
    if (absl::IsNotFound(info.status())) continue;  // deleted while listing
    if (!info.ok()) return info.status();
    out.push_back(*std::move(info));
  }
  return out;
}

absl::Status LocalFolderStore::Delete(absl::string_view name) {
  if (absl::Status s = ValidateBlobName(name); !s.ok()) return s;
  LocalPaths paths(root_);
  const std::string path = paths.Blob(name);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("blob ", name, " not found"));
  }
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", name, " not found"));
    return ErrnoError(errno, "cannot delete blob", path);
  }
  const std::string meta = paths.Meta(name);
  paths.PruneEmptyParents(path, root_);
  if (::unlink(meta.c_str()) == 0) paths.PruneEmptyParents(meta, absl::StrCat(root_, "/", kMetaDir));
  return absl::OkStatus();
}

absl::Status LocalFolderStore::Move(absl::string_view from, absl::string_view to) {
  if (absl::Status s = ValidateBlobName(from); !s.ok()) return s;
  if (absl::Status s = ValidateBlobName(to); !s.ok()) return s;
  LocalPaths paths(root_);
  absl::StatusOr<Sidecar> sidecar = paths.ReadOrRepairSidecar(from);
  if (absl::IsNotFound(sidecar.status())) {
    return absl::NotFoundError(absl::StrCat("blob ", from, " not found"));
  }
  if (!sidecar.ok()) return sidecar.status();
  const std::string target = paths.Blob(to);
  const int error = LinkCreatingParents(paths.Blob(from), target);
  if (error == EEXIST) return absl::AlreadyExistsError(absl::StrCat("blob ", to, " exists"));
  if (error == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", from, " not found"));
  if (error != 0) return ErrnoError(error, "cannot move blob to", target);
  SyncDir(ParentOf(target));
  // A hard link: metadata kept on the file moved with it.
  if (!ReadXattr(target).has_value()) {
    if (absl::Status s = paths.WriteSidecar(to, *sidecar); !s.ok()) return s;
  }
  return Delete(from);
}

std::string LocalFolderStore::Uri(absl::string_view name) const {
  return absl::StrCat("file://", root_, "/", name);
}

}  // namespace zarc::blob
