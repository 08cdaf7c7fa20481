#include "runtime/io/byte_stream.h"

#include <string>

#include "gtest/gtest.h"

namespace zarc::io {
namespace {

TEST(ByteStreamTest, CopyMovesEveryByteInSmallChunks) {
  std::string data(100'003, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  StringSource source(data);
  StringSink sink;
  absl::StatusOr<uint64_t> n = Copy(source, sink, 4096);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(sink.data(), data);
}

TEST(ByteStreamTest, ReadAllRefusesMoreThanTheLimit) {
  std::string data(1000, 'a');
  StringSource source(data);
  absl::StatusOr<std::string> all = ReadAll(source, 999);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), absl::StatusCode::kResourceExhausted);
  StringSource again(data);
  EXPECT_EQ(*ReadAll(again, 1000), data);
}

}  // namespace
}  // namespace zarc::io
