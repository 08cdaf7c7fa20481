// libFuzzer target for ParseVtt; also replayed over its corpus by converter_fuzz_replay_test.
#include <cstddef>
#include <cstdint>

#include "services/converter/fuzz/fuzz_checks.h"
#include "services/converter/vtt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::converter;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ParsedVtt> vtt = ParseVtt(input, "transcript.vtt");
  if (!vtt.ok()) {
    fuzz::Require(!vtt.status().message().empty());
    return 0;
  }
  for (const VttCue& cue : vtt->cues) {
    fuzz::RequireUtf8(cue.speaker);
    fuzz::RequireUtf8(cue.text);
    fuzz::Require(cue.start >= absl::ZeroDuration() && cue.end >= absl::ZeroDuration());
  }
  return 0;
}
