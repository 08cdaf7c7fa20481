// Renders a message whose one attachment is FILE, as the converter does (MIME, base64 lines of 76,
// SHA-256, streaming), into nothing, and prints the bytes written. For bench/render_file_bench.sh,
// which times it against `sha256sum FILE` plus `base64 -w 76 FILE` and reads its peak RSS.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "bench/bench_support.h"
#include "runtime/io/byte_stream.h"
#include "services/converter/renderer.h"

namespace {

class FileSource final : public zarc::io::ByteSource {
 public:
  explicit FileSource(std::FILE* f) : f_(f) {}
  ~FileSource() override { std::fclose(f_); }
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    const size_t n = std::fread(buffer, 1, size, f_);
    if (n == 0 && std::ferror(f_)) return absl::DataLossError("read error");
    return n;
  }

 private:
  std::FILE* f_;
};

using zarc::bench::NullSink;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: render_file FILE SHA256\n");
    return 2;
  }
  const std::string path = argv[1];
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (probe == nullptr) {
    std::fprintf(stderr, "render_file: cannot open %s\n", path.c_str());
    return 1;
  }
  std::fseek(probe, 0, SEEK_END);
  const long size = std::ftell(probe);
  std::fclose(probe);

  zarc::v1::MeetingCaptured m;
  m.mutable_meeting()->set_account_id("bench");
  m.mutable_meeting()->set_uuid("bench-uuid==");
  m.mutable_meeting()->set_topic("Benchmark meeting");
  m.mutable_meeting()->set_host_email("host@corp.example");
  m.mutable_meeting()->mutable_start_time()->set_seconds(1709546400);
  m.mutable_meeting()->mutable_end_time()->set_seconds(1709550000);
  m.set_version(1);
  auto* a = m.add_artifacts();
  a->set_file_id("video");
  a->set_kind(zarc::v1::ARTIFACT_KIND_VIDEO);
  a->set_file_name("video.mp4");
  a->mutable_blob()->set_name("video");
  a->mutable_blob()->set_size(static_cast<uint64_t>(size));
  a->mutable_blob()->set_sha256(argv[2]);
  const zarc::converter::ArtifactOpener opener = [&](const zarc::v1::BlobRef&) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return absl::StatusOr<std::unique_ptr<zarc::io::ByteSource>>(absl::NotFoundError(path));
    return absl::StatusOr<std::unique_ptr<zarc::io::ByteSource>>(std::make_unique<FileSource>(f));
  };
  zarc::converter::RenderOptions options;
  options.message_size_limit = UINT64_MAX;  // attach it, whatever its size
  NullSink sink;
  auto rendered = zarc::converter::RenderMessage(m, options, opener, sink);
  if (!rendered.ok()) {
    std::fprintf(stderr, "render_file: %s\n", std::string(rendered.status().message()).c_str());
    return 1;
  }
  std::printf("%llu\n", static_cast<unsigned long long>(sink.written));
  return 0;
}
