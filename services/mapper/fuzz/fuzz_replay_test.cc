// Replays the committed corpora of the mapper's fuzz targets (mapping_csv, graph) with the normal
// toolchain in every test run; -DZARC_FUZZ=ON builds the real libFuzzer binaries (scripts/fuzz.sh).

#include "gtest/gtest.h"
#include "runtime/testing/fuzz/replay.h"

#define LLVMFuzzerTestOneInput ZarcFuzzMappingCsv
#include "services/mapper/fuzz/mapping_csv_fuzz.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput ZarcFuzzGraph
#include "services/mapper/fuzz/graph_fuzz.cc"
#undef LLVMFuzzerTestOneInput

namespace zarc::mapper {
namespace {

TEST(MapperFuzzReplayTest, MappingCsvCorpus) {
  fuzz::ReplayCorpus("services/mapper/fuzz/corpus/mapping_csv", &ZarcFuzzMappingCsv);
}

TEST(MapperFuzzReplayTest, GraphCorpus) {
  fuzz::ReplayCorpus("services/mapper/fuzz/corpus/graph", &ZarcFuzzGraph);
}

}  // namespace
}  // namespace zarc::mapper
