#include "runtime/crypto/digest.h"

#include "gtest/gtest.h"

namespace zarc::crypto {
namespace {

// Vectors: FIPS 180-4 examples and RFC 4231 test case 2.
TEST(DigestTest, Sha256MatchesPublishedVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, IncrementalEqualsOneShot) {
  Sha256 hash;
  hash.Update("a");
  hash.Update("bc");
  EXPECT_EQ(hash.FinishHex(), Sha256Hex("abc"));
}

TEST(DigestTest, HmacMatchesRfc4231) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(DigestTest, Base64RoundTripAndRejectsGarbage) {
  EXPECT_EQ(Base64Encode("Zoom \xF0\x9F\x8E\xA5"), "Wm9vbSDwn46l");
  EXPECT_EQ(*Base64Decode("Wm9vbSDwn46l"), "Zoom \xF0\x9F\x8E\xA5");
  EXPECT_FALSE(Base64Decode("not base64!").ok());
}

TEST(DigestTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("v0=abc", "v0=abc"));
  EXPECT_FALSE(ConstantTimeEquals("v0=abc", "v0=abd"));
  EXPECT_FALSE(ConstantTimeEquals("v0=abc", "v0=ab"));
}

}  // namespace
}  // namespace zarc::crypto
