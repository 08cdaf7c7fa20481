// Replays the committed corpus of the config file fuzz target with the normal toolchain in every
// test run; -DZARC_FUZZ=ON builds the real libFuzzer binary (scripts/fuzz.sh).

#include "gtest/gtest.h"
#include "runtime/testing/fuzz/replay.h"

#define LLVMFuzzerTestOneInput ZarcFuzzConfigFile
#include "runtime/config/fuzz/config_file_fuzz.cc"
#undef LLVMFuzzerTestOneInput

namespace zarc::config {
namespace {

TEST(ConfigFuzzReplayTest, ConfigFileCorpus) {
  fuzz::ReplayCorpus("runtime/config/fuzz/corpus/config_file", &ZarcFuzzConfigFile);
}

}  // namespace
}  // namespace zarc::config
