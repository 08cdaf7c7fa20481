#pragma once

// Replays a committed fuzz corpus through a libFuzzer entry point inside a normal GoogleTest run,
// so every seed and every regression input runs with the ordinary toolchain in every test run.
// A replay test includes the target's .cc with LLVMFuzzerTestOneInput renamed:
//
//   #define LLVMFuzzerTestOneInput ZarcFuzzZoomJson
//   #include "services/fetcher/fuzz/zoom_json_fuzz.cc"
//   #undef LLVMFuzzerTestOneInput

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::fuzz {

using FuzzEntry = int (*)(const uint8_t*, size_t);

// Runs `entry` on every file of `corpus_dir` (relative to the source tree), then `also` (if set)
// on the same bytes. A broken invariant aborts the test binary, naming it; the failing file is the
// last one the test printed.
inline void ReplayCorpus(const std::string& corpus_dir, FuzzEntry entry, int min_files = 5,
                         const std::function<void(const std::string&)>& also = nullptr) {
  const std::string dir = zarc::testing::SourcePath(corpus_dir);
  int files = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(file.path(), std::ios::binary);
    ASSERT_TRUE(in) << file.path();
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string data = buffer.str();
    SCOPED_TRACE(file.path().string());
    std::fprintf(stderr, "replaying %s\n", file.path().c_str());
    EXPECT_EQ(entry(reinterpret_cast<const uint8_t*>(data.data()), data.size()), 0);
    if (also) also(data);
    ++files;
  }
  EXPECT_GE(files, min_files) << "corpus " << dir << " is missing or too small";
}

}  // namespace zarc::fuzz
