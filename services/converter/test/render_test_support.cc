#include "services/converter/test/render_test_support.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "runtime/testing/subprocess.h"

namespace zarc::converter::testing {
namespace {

class FileSource final : public io::ByteSource {
 public:
  explicit FileSource(const std::string& path) : in_(path, std::ios::binary) {}
  bool ok() const { return in_.is_open(); }
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    in_.read(buffer, static_cast<std::streamsize>(size));
    if (in_.bad()) return absl::DataLossError("read error");
    return static_cast<size_t>(in_.gcount());
  }

 private:
  std::ifstream in_;
};

class OwningStringSource final : public io::ByteSource {
 public:
  explicit OwningStringSource(absl::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    return source_.Read(buffer, size);
  }

 private:
  absl::string_view data_;
  io::StringSource source_{data_};
};

std::string FindPython() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "" : path, ':')) {
    const std::string candidate = absl::StrCat(dir, "/python3");
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/python3";
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status WriteFile(const std::string& path, absl::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string JsonString(absl::string_view utf8) {
  std::string out = "\"";
  for (char c : utf8) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7F) {
      absl::StrAppendFormat(&out, "\\u%04x", u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

ArtifactOpener DirectoryOpener(std::string dir) {
  return [dir](const v1::BlobRef& blob) -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
    auto source = std::make_unique<FileSource>(absl::StrCat(dir, "/", blob.name()));
    if (!source->ok()) return absl::NotFoundError(absl::StrCat("no blob ", blob.name()));
    return std::unique_ptr<io::ByteSource>(std::move(source));
  };
}

ArtifactOpener MapOpener(const std::map<std::string, std::string>* blobs) {
  return [blobs](const v1::BlobRef& blob) -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
    auto it = blobs->find(blob.name());
    if (it == blobs->end()) return absl::NotFoundError(absl::StrCat("no blob ", blob.name()));
    return std::unique_ptr<io::ByteSource>(std::make_unique<OwningStringSource>(it->second));
  };
}

absl::StatusOr<VerifyResult> RunVerifier(const std::string& manifest_path) {
  zarc::testing::Subprocess::Options options;
  options.argv = {FindPython(), zarc::testing::SourcePath("services/converter/test/verify_eml.py"),
                  manifest_path};
  options.merge_stderr = true;
  absl::StatusOr<std::unique_ptr<zarc::testing::Subprocess>> child =
      zarc::testing::Subprocess::Start(options);
  if (!child.ok()) return child.status();
  VerifyResult result;
  (*child)->ReadRemaining(absl::Seconds(170));
  absl::StatusOr<int> code = (*child)->Wait(absl::Seconds(10));
  if (!code.ok()) return code.status();
  result.exit_code = *code;
  result.output = (*child)->output();
  return result;
}

}  // namespace zarc::converter::testing
