// How fast the converter renders a message, against the cost of the work it cannot avoid: one
// base64 pass over the same attachment bytes (absl::Base64Escape, in memory). The ratio
// render / reference is what to watch: it says how much the MIME writing, hashing and streaming
// add on top of the encoding itself, independent of the machine's speed.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "runtime/crypto/digest.h"
#include "bench/bench_support.h"
#include "runtime/io/byte_stream.h"
#include "services/converter/renderer.h"

namespace {

constexpr size_t kAttachment = 16 << 20;

const std::string& Attachment() {
  static const std::string* bytes = new std::string(zarc::bench::RandomBytes(kAttachment));
  return *bytes;
}

using zarc::bench::NullSink;

zarc::v1::MeetingCaptured Meeting() {
  zarc::v1::MeetingCaptured m;
  m.mutable_meeting()->set_account_id("bench");
  m.mutable_meeting()->set_uuid("bench-uuid==");
  m.mutable_meeting()->set_topic("Benchmark meeting");
  m.mutable_meeting()->set_host_email("host@corp.example");
  m.mutable_meeting()->mutable_start_time()->set_seconds(1709546400);
  m.mutable_meeting()->mutable_end_time()->set_seconds(1709550000);
  m.set_version(1);
  for (int i = 0; i < 20; ++i) {
    auto* p = m.add_participants();
    p->set_name("Participant " + std::to_string(i));
    p->set_email("p" + std::to_string(i) + "@corp.example");
  }
  auto* a = m.add_artifacts();
  a->set_file_id("video");
  a->set_kind(zarc::v1::ARTIFACT_KIND_VIDEO);
  a->set_file_name("video.mp4");
  a->mutable_blob()->set_name("video");
  a->mutable_blob()->set_size(kAttachment);
  a->mutable_blob()->set_sha256(zarc::crypto::Sha256Hex(Attachment()));
  return m;
}

void BM_RenderMessage(benchmark::State& state) {
  const zarc::v1::MeetingCaptured meeting = Meeting();
  const zarc::converter::ArtifactOpener opener = [](const zarc::v1::BlobRef&) {
    return absl::StatusOr<std::unique_ptr<zarc::io::ByteSource>>(
        std::make_unique<zarc::io::StringSource>(Attachment()));
  };
  for (auto _ : state) {
    NullSink sink;
    auto rendered = zarc::converter::RenderMessage(meeting, {}, opener, sink);
    if (!rendered.ok()) state.SkipWithError(std::string(rendered.status().message()).c_str());
    benchmark::DoNotOptimize(sink.written);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kAttachment);
}
BENCHMARK(BM_RenderMessage)->Unit(benchmark::kMillisecond);

void BM_Base64Reference(benchmark::State& state) {
  for (auto _ : state) {
    std::string out = absl::Base64Escape(Attachment());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kAttachment);
}
BENCHMARK(BM_Base64Reference)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
