// Replays the committed corpus of the Azure XML fuzz target with the normal toolchain in every
// test run; -DZARC_FUZZ=ON builds the real libFuzzer binary (scripts/fuzz.sh).

#include "gtest/gtest.h"
#include "runtime/testing/fuzz/replay.h"

#define LLVMFuzzerTestOneInput ZarcFuzzAzureXml
#include "runtime/blob/fuzz/azure_xml_fuzz.cc"
#undef LLVMFuzzerTestOneInput

namespace zarc::blob {
namespace {

TEST(BlobFuzzReplayTest, AzureXmlCorpus) {
  fuzz::ReplayCorpus("runtime/blob/fuzz/corpus/azure_xml", &ZarcFuzzAzureXml);
}

}  // namespace
}  // namespace zarc::blob
