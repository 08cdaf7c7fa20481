// Replays the committed corpora of the fetcher's fuzz targets (zoom_json, webhook) with the normal
// toolchain in every test run; -DZARC_FUZZ=ON builds the real libFuzzer binaries (scripts/fuzz.sh).

#include "gtest/gtest.h"
#include "runtime/testing/fuzz/replay.h"

#define LLVMFuzzerTestOneInput ZarcFuzzZoomJson
#include "services/fetcher/fuzz/zoom_json_fuzz.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput ZarcFuzzWebhook
#include "services/fetcher/fuzz/webhook_fuzz.cc"
#undef LLVMFuzzerTestOneInput

namespace zarc::fetcher {
namespace {

TEST(FetcherFuzzReplayTest, ZoomJsonCorpus) {
  fuzz::ReplayCorpus("services/fetcher/fuzz/corpus/zoom_json", &ZarcFuzzZoomJson);
}

TEST(FetcherFuzzReplayTest, WebhookCorpus) {
  fuzz::ReplayCorpus("services/fetcher/fuzz/corpus/webhook", &ZarcFuzzWebhook);
}

}  // namespace
}  // namespace zarc::fetcher
