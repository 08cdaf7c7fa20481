// Replays the committed corpora of the importer's fuzz targets (graph, imap) with the normal
// toolchain in every test run; -DZARC_FUZZ=ON builds the real libFuzzer binaries (scripts/fuzz.sh).

#include "gtest/gtest.h"
#include "runtime/testing/fuzz/replay.h"

#define LLVMFuzzerTestOneInput ZarcFuzzImporterGraph
#include "services/importer/fuzz/graph_fuzz.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput ZarcFuzzImap
#include "services/importer/fuzz/imap_fuzz.cc"
#undef LLVMFuzzerTestOneInput

namespace zarc::importer {
namespace {

TEST(ImporterFuzzReplayTest, GraphCorpus) {
  fuzz::ReplayCorpus("services/importer/fuzz/corpus/graph", &ZarcFuzzImporterGraph);
}

TEST(ImporterFuzzReplayTest, ImapCorpus) {
  fuzz::ReplayCorpus("services/importer/fuzz/corpus/imap", &ZarcFuzzImap);
}

}  // namespace
}  // namespace zarc::importer
