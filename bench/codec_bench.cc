// Micro-benchmarks of the converter's encoders and of the parsers of outside data, in MB/s. Each
// has a reference in the same binary doing the part of the work that cannot be avoided, so the
// ratio (zarc / reference) compares across machines:
//   base64 line sink  vs  absl::Base64Escape of the same bytes (one in-memory pass)
//   SHA-256           vs  memcpy of the same bytes (reading them once)
//   header encoding   vs  copying the header text
//   chat TXT, VTT     vs  splitting the same text into lines
//   archived chat     vs  absl::Base64Unescape of the same payload (its fields are base64)
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "runtime/crypto/digest.h"
#include "bench/bench_support.h"
#include "runtime/io/byte_stream.h"
#include "services/converter/base64_stream.h"
#include "services/converter/chat_json.h"
#include "services/converter/chat_txt.h"
#include "services/converter/mime_header.h"
#include "services/converter/vtt.h"

namespace {

constexpr size_t kBinary = 16 << 20;
constexpr size_t kChunk = 64 << 10;

const std::string& Binary() {
  static const std::string* bytes = new std::string(zarc::bench::RandomBytes(kBinary));
  return *bytes;
}

using zarc::bench::NullSink;

const char* kNames[] = {"Ann Lee", "Björn Ångström", "渡辺 美咲", "José Núñez", "Zoë O'Brien"};

// A cloud-recording chat file: `HH:MM:SS\tName:\ttext`, some messages continued on a second line.
const std::string& ChatTxt() {
  static const std::string* text = [] {
    auto* s = new std::string;
    for (int i = 0; s->size() < (4 << 20); ++i) {
      absl::StrAppend(s, absl::StrFormat("%02d:%02d:%02d", i / 3600 % 24, i / 60 % 60, i % 60), "\t",
                      kNames[i % 5], ":\t", "Message number ", i, " about the quarterly numbers, "
                      "café ☕ and the follow-up\n");
      if (i % 7 == 0) absl::StrAppend(s, "a second line of the same message\n");
    }
    return s;
  }();
  return *text;
}

const std::string& Vtt() {
  static const std::string* text = [] {
    auto* s = new std::string("WEBVTT\n\n");
    for (int i = 0; s->size() < (4 << 20); ++i) {
      absl::StrAppend(s, i + 1, "\n",
                      absl::StrFormat("%02d:%02d:%02d.%03d --> %02d:%02d:%02d.%03d", i / 3600, i / 60 % 60,
                                      i % 60, 0, i / 3600, i / 60 % 60, i % 60, 900),
                      "\n", kNames[i % 5], ": and so we agreed to move the review to Thursday\n\n");
    }
    return s;
  }();
  return *text;
}

const std::string& ChatJson() {
  static const std::string* text = [] {
    auto* s = new std::string("{\"uuid\":\"bench==\",\"messages\":[");
    for (int i = 0; s->size() < (4 << 20); ++i) {
      if (i > 0) s->push_back(',');
      absl::StrAppend(s, "{\"msg_type\":", 1 + i % 7, ",\"e_time\":", 1709546400000LL + i * 1000,
                      ",\"msg_id\":\"m", i, "\",\"original_msg_id\":\"m", i / 2, "\",\"parent_msg_id\":\"\",",
                      "\"s_name\":\"", absl::Base64Escape(kNames[i % 5]), "\",\"s_email\":\"",
                      absl::Base64Escape(absl::StrCat("user", i % 5, "@corp.example")),
                      "\",\"r_name\":\"\",\"r_email\":\"\",\"msg_content\":\"",
                      absl::Base64Escape(absl::StrCat("Message ", i, ": the numbers look fine, café ☕")),
                      "\",\"files\":[]}");
    }
    s->append("]}");
    return s;
  }();
  return *text;
}

void BM_Base64LineSink(benchmark::State& state) {
  for (auto _ : state) {
    NullSink out;
    zarc::converter::Base64LineSink sink(out);
    for (size_t at = 0; at < kBinary; at += kChunk) {
      (void)sink.Write(absl::string_view(Binary()).substr(at, kChunk));
    }
    (void)sink.Close();
    benchmark::DoNotOptimize(out.written);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBinary));
}
BENCHMARK(BM_Base64LineSink)->Unit(benchmark::kMillisecond);

void BM_Base64Reference(benchmark::State& state) {
  for (auto _ : state) {
    std::string out = absl::Base64Escape(Binary());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBinary));
}
BENCHMARK(BM_Base64Reference)->Unit(benchmark::kMillisecond);

void BM_Sha256(benchmark::State& state) {
  for (auto _ : state) {
    zarc::crypto::Sha256 sha;
    for (size_t at = 0; at < kBinary; at += kChunk) sha.Update(absl::string_view(Binary()).substr(at, kChunk));
    std::string hex = sha.FinishHex();
    benchmark::DoNotOptimize(hex.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBinary));
}
BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);

void BM_MemcpyReference(benchmark::State& state) {
  std::string copy(kBinary, '\0');
  for (auto _ : state) {
    std::memcpy(copy.data(), Binary().data(), kBinary);
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBinary));
}
BENCHMARK(BM_MemcpyReference)->Unit(benchmark::kMillisecond);

// Subject lines as meetings name them: ASCII, Latin with accents, CJK (encoded-words, folding).
const std::vector<std::string>& Topics() {
  static const auto* topics = new std::vector<std::string>{
      "Quarterly review with the Frankfurt desk", "Besprechung: Überprüfung der Kundenkonten für Q3",
      "四半期レビュー（東京オフィス）と次のステップについての打ち合わせ",
      "Réunion de conformité — révision des procédures, café et croissants"};
  return *topics;
}

void BM_UnstructuredHeader(benchmark::State& state) {
  int64_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& t : Topics()) {
      std::string h = zarc::converter::UnstructuredHeader("Subject", t);
      benchmark::DoNotOptimize(h.data());
      bytes += static_cast<int64_t>(t.size());
    }
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_UnstructuredHeader);

void BM_HeaderCopyReference(benchmark::State& state) {
  int64_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& t : Topics()) {
      std::string h = absl::StrCat("Subject: ", t, "\r\n");
      benchmark::DoNotOptimize(h.data());
      bytes += static_cast<int64_t>(t.size());
    }
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_HeaderCopyReference);

void BM_ParseChatTxt(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = zarc::converter::ParseChatTxt(ChatTxt(), "chat.txt");
    if (!parsed.ok()) state.SkipWithError(std::string(parsed.status().message()).c_str());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * ChatTxt().size()));
}
BENCHMARK(BM_ParseChatTxt)->Unit(benchmark::kMillisecond);

void BM_ParseVtt(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = zarc::converter::ParseVtt(Vtt(), "transcript.vtt");
    if (!parsed.ok()) state.SkipWithError(std::string(parsed.status().message()).c_str());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Vtt().size()));
}
BENCHMARK(BM_ParseVtt)->Unit(benchmark::kMillisecond);

// Reading the text once, line by line: what any line parser must do.
void BM_LineSplitReference(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<absl::string_view> lines = absl::StrSplit(ChatTxt(), '\n');
    benchmark::DoNotOptimize(lines.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * ChatTxt().size()));
}
BENCHMARK(BM_LineSplitReference)->Unit(benchmark::kMillisecond);

void BM_ParseChatJson(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = zarc::converter::ParseChatJson(ChatJson(), "chat.json");
    if (!parsed.ok()) state.SkipWithError(std::string(parsed.status().message()).c_str());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * ChatJson().size()));
}
BENCHMARK(BM_ParseChatJson)->Unit(benchmark::kMillisecond);

void BM_Base64DecodeReference(benchmark::State& state) {
  const std::string payload = absl::Base64Escape(ChatJson());
  for (auto _ : state) {
    std::string out;
    absl::Base64Unescape(payload, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * ChatJson().size()));
}
BENCHMARK(BM_Base64DecodeReference)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
