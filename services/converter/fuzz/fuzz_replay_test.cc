// Replays every committed corpus file through the libFuzzer entry points (compiled in here under
// other names) with the normal toolchain, so the corpora run with every test run, not only in
// -DZARC_FUZZ=ON builds.

#include <cstdint>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"
#include "services/converter/chat_json.h"
#include "services/converter/chat_txt.h"
#include "services/converter/test/render_test_support.h"
#include "services/converter/vtt.h"

#define LLVMFuzzerTestOneInput ZarcFuzzChatTxt
#include "services/converter/fuzz/chat_txt_fuzz.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput ZarcFuzzChatJson
#include "services/converter/fuzz/chat_json_fuzz.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput ZarcFuzzVtt
#include "services/converter/fuzz/vtt_fuzz.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput ZarcFuzzMimeHeader
#include "services/converter/fuzz/mime_header_fuzz.cc"
#undef LLVMFuzzerTestOneInput

namespace zarc::converter {
namespace {

using FuzzEntry = int (*)(const uint8_t*, size_t);

// Runs `entry` and, through `direct`, the parser itself on every file of a corpus folder.
template <typename Direct>
void Replay(const std::string& corpus, FuzzEntry entry, Direct direct) {
  const std::string dir = zarc::testing::SourcePath("services/converter/fuzz/corpus/" + corpus);
  int files = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    absl::StatusOr<std::string> data = testing::ReadFile(file.path().string());
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_EQ(entry(reinterpret_cast<const uint8_t*>(data->data()), data->size()), 0)
        << file.path();
    const absl::Status status = direct(*data);
    EXPECT_TRUE(status.ok() || !status.message().empty())
        << file.path() << ": a parser error must say what was wrong";
    ++files;
  }
  EXPECT_GE(files, 5) << "corpus " << dir << " is missing or too small";
}

TEST(FuzzReplayTest, ChatTxtCorpus) {
  Replay("chat_txt", &ZarcFuzzChatTxt,
         [](const std::string& d) { return ParseChatTxt(d, "chat.txt").status(); });
}

TEST(FuzzReplayTest, ChatJsonCorpus) {
  Replay("chat_json", &ZarcFuzzChatJson,
         [](const std::string& d) { return ParseChatJson(d, "chat.json").status(); });
}

TEST(FuzzReplayTest, VttCorpus) {
  Replay("vtt", &ZarcFuzzVtt, [](const std::string& d) { return ParseVtt(d, "t.vtt").status(); });
}

TEST(FuzzReplayTest, MimeHeaderCorpus) {
  Replay("mime_header", &ZarcFuzzMimeHeader, [](const std::string&) { return absl::OkStatus(); });
}

}  // namespace
}  // namespace zarc::converter
