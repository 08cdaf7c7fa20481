#include "services/converter/base64_stream.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace zarc::converter {
namespace {

// One-shot reference: the whole input encoded, then cut into 76-character CRLF lines.
std::string Reference(const std::string& data) {
  const std::string flat = absl::Base64Escape(data);
  std::string out;
  for (size_t i = 0; i < flat.size(); i += 76) {
    out += flat.substr(i, 76);
    out += "\r\n";
  }
  return out;
}

std::string Data(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131 + 7) ^ (i >> 3));
  return data;
}

TEST(Base64LineSinkTest, EqualsOneShotEncodingForEveryChunking) {
  for (size_t size : {0, 1, 2, 3, 4, 56, 57, 58, 113, 114, 115, 1000}) {
    const std::string data = Data(size);
    const std::string expected = Reference(data);
    for (size_t chunk = 1; chunk <= 60; ++chunk) {
      io::StringSink out;
      Base64LineSink sink(out, 128);
      for (size_t i = 0; i < data.size(); i += chunk) {
        ASSERT_TRUE(sink.Write(absl::string_view(data).substr(i, chunk)).ok());
      }
      ASSERT_TRUE(sink.Close().ok());
      ASSERT_EQ(out.data(), expected) << "size " << size << " chunk " << chunk;
      EXPECT_EQ(Base64LineSink::EncodedSize(size), expected.size());
      EXPECT_EQ(sink.bytes_in(), size);
    }
  }
}

TEST(Base64LineSinkTest, IrregularChunksOfALargeInput) {
  const std::string data = Data(1 << 20);
  io::StringSink out;
  Base64LineSink sink(out);
  size_t offset = 0;
  for (size_t step = 1; offset < data.size(); step = step * 7 % 65521 + 1) {
    ASSERT_TRUE(sink.Write(absl::string_view(data).substr(offset, step)).ok());
    offset += step;
  }
  ASSERT_TRUE(sink.Close().ok());
  EXPECT_EQ(out.data(), Reference(data));
  EXPECT_EQ(Base64LineSink::EncodedSize(data.size()), out.data().size());
}

TEST(Base64LineSinkTest, WriteAfterCloseFails) {
  io::StringSink out;
  Base64LineSink sink(out);
  ASSERT_TRUE(sink.Write("ab").ok());
  ASSERT_TRUE(sink.Close().ok());
  EXPECT_EQ(out.data(), "YWI=\r\n");
  EXPECT_FALSE(sink.Write("c").ok());
}

}  // namespace
}  // namespace zarc::converter
