#include "services/converter/mime_header.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace zarc::converter {
namespace {

// Physical lines of a header block, without their CRLF; fails the test on a bare CR or LF.
std::vector<std::string> Lines(const std::string& header) {
  EXPECT_TRUE(absl::EndsWith(header, "\r\n")) << header;
  std::vector<std::string> lines = absl::StrSplit(header, "\r\n");
  lines.pop_back();
  for (const std::string& line : lines) {
    EXPECT_FALSE(absl::StrContains(line, '\r')) << line;
    EXPECT_FALSE(absl::StrContains(line, '\n')) << line;
  }
  return lines;
}

// Every physical line after the first must be a continuation: otherwise a new header started.
void ExpectOneField(const std::string& header) {
  std::vector<std::string> lines = Lines(header);
  ASSERT_FALSE(lines.empty());
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_TRUE(absl::StartsWith(lines[i], " "))
        << "line " << i << " starts a new field: " << lines[i];
  }
  for (const std::string& line : lines) EXPECT_LE(line.size(), kMaxLineLength);
}

// RFC 2047 decoding of an unstructured value: whitespace between adjacent encoded-words dropped.
std::string DecodeUnstructured(const std::string& header) {
  std::string value = header.substr(header.find(':') + 1);
  value = absl::StrReplaceAll(value, {{"\r\n", ""}});
  if (!value.empty() && value[0] == ' ') value.erase(0, 1);
  std::string out;
  bool previous_encoded = false;
  std::string pending_space;
  for (absl::string_view word : absl::StrSplit(value, ' ')) {
    if (absl::StartsWith(word, "=?utf-8?b?") && absl::EndsWith(word, "?=")) {
      EXPECT_LE(word.size(), 75u) << word;
      std::string decoded;
      EXPECT_TRUE(absl::Base64Unescape(word.substr(10, word.size() - 12), &decoded)) << word;
      EXPECT_EQ(ToValidUtf8(decoded), decoded) << "encoded-word splits a character: " << word;
      if (!previous_encoded) out.append(pending_space);
      out.append(decoded);
      previous_encoded = true;
    } else {
      out.append(pending_space);
      out.append(word.data(), word.size());
      previous_encoded = false;
    }
    pending_space = " ";
  }
  return out;
}

TEST(SanitizeHeaderTextTest, RemovesLineBreaksAndControlCharacters) {
  EXPECT_EQ(SanitizeHeaderText("Budget\r\nBcc: evil@example.com"), "Budget Bcc: evil@example.com");
  EXPECT_EQ(SanitizeHeaderText("  a\t\tb\x01\x7f c\xc2\x85 d  "), "a b c d");
  EXPECT_EQ(SanitizeHeaderText("line\xe2\x80\xa8sep"), "line sep");
  EXPECT_EQ(SanitizeHeaderText("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(SanitizeHeaderTextTest, ReplacesInvalidUtf8AndCapsLength) {
  EXPECT_EQ(SanitizeHeaderText("a\xff"
                               "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SanitizeHeaderText("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(SanitizeHeaderText("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeHeaderText("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9");
}

TEST(UnstructuredHeaderTest, AsciiIsWrittenAsIsAndFoldedBetweenWords) {
  const std::string topic =
      "Quarterly planning for the EMEA sales organisation with finance, legal and the regional "
      "leads, part two";
  const std::string header = UnstructuredHeader("Subject", topic);
  ExpectOneField(header);
  for (const std::string& line : Lines(header)) EXPECT_LE(line.size(), kPreferredLineLength);
  EXPECT_GT(Lines(header).size(), 1u);
  EXPECT_EQ(DecodeUnstructured(header), topic);
  EXPECT_EQ(UnstructuredHeader("Subject", "Hi"), "Subject: Hi\r\n");
  EXPECT_EQ(UnstructuredHeader("Subject", ""), "Subject:\r\n");
}

TEST(UnstructuredHeaderTest, NonAsciiBecomesEncodedWordsThatDecodeBack) {
  for (const std::string& topic :
       {std::string("Réunion trimestrielle — budget 2024"),
        std::string("会議 議事録 プロジェクト 第三四半期の売上と今後の計画について話し合う"),
        std::string("Launch 🚀🚀🚀 👩‍👩‍👧‍👦 family emoji and ✨ sparkles ✨ everywhere "
                    "🎉🎉🎉🎉🎉🎉"),
        std::string("Встреча по бюджету отдела продаж и планированию на следующий квартал"),
        std::string("ASCII with =?utf-8?q?fake?= encoded word")}) {
    const std::string header = UnstructuredHeader("Subject", topic);
    ExpectOneField(header);
    for (const std::string& line : Lines(header)) EXPECT_LE(line.size(), kPreferredLineLength);
    EXPECT_EQ(DecodeUnstructured(header), topic) << header;
  }
}

TEST(UnstructuredHeaderTest, HostileValueCannotAddAHeader) {
  const std::string header =
      UnstructuredHeader("Subject", "Hello\r\nBcc: victim@example.com\r\n\r\nbody\nX-Evil: 1\r");
  ExpectOneField(header);
  EXPECT_EQ(DecodeUnstructured(header), "Hello Bcc: victim@example.com body X-Evil: 1");
}

TEST(UnstructuredHeaderTest, AnUnbreakableWordIsEncodedToStayUnder78) {
  const std::string word(2000, 'a');
  const std::string header = UnstructuredHeader("Subject", word);
  ExpectOneField(header);
  for (const std::string& line : Lines(header)) EXPECT_LE(line.size(), kPreferredLineLength);
  EXPECT_EQ(DecodeUnstructured(header), word);
}

TEST(AddressTest, ValidAddresses) {
  EXPECT_TRUE(IsValidAddress("alice@example.com"));
  EXPECT_TRUE(IsValidAddress("first.last+tag@sub.example.co.uk"));
  EXPECT_FALSE(IsValidAddress("alice@example.com\r\nBcc: x@y.z"));
  EXPECT_FALSE(IsValidAddress("alice smith@example.com"));
  EXPECT_FALSE(IsValidAddress("<alice@example.com>"));
  EXPECT_FALSE(IsValidAddress("alice@exa_mple.com"));
  EXPECT_FALSE(IsValidAddress("alice..b@example.com"));
  EXPECT_FALSE(IsValidAddress("ålice@example.com"));
  EXPECT_FALSE(IsValidAddress("@example.com"));
  EXPECT_FALSE(IsValidAddress("alice@"));
  EXPECT_FALSE(IsValidAddress(""));
}

TEST(AddressTest, AsciiNamesAreQuotedAndEscaped) {
  EXPECT_EQ(AddressHeader("From", {{"Alice \"Al\" O\\Neil", "alice@example.com"}}),
            "From: \"Alice \\\"Al\\\" O\\\\Neil\" <alice@example.com>\r\n");
  EXPECT_EQ(AddressHeader("To", {{"", "a@example.com"}, {"Bob", "b@example.com"}}),
            "To: <a@example.com>, \"Bob\" <b@example.com>\r\n");
}

TEST(AddressTest, ManyMailboxesFoldAfterCommas) {
  std::vector<Mailbox> mailboxes;
  for (int i = 0; i < 40; ++i) {
    mailboxes.push_back(
        {absl::StrCat("Participant Number ", i), absl::StrCat("p", i, "@example.com")});
  }
  const std::string header = AddressHeader("To", mailboxes);
  ExpectOneField(header);
  for (const std::string& line : Lines(header)) EXPECT_LE(line.size(), kPreferredLineLength);
  EXPECT_TRUE(absl::StrContains(header, "\"Participant Number 39\" <p39@example.com>\r\n"));
}

TEST(AddressTest, NonAsciiNamesAreEncodedWordsWithSpacesInside) {
  const std::string name = "Александр Владимирович Константинопольский-Запорожский";
  std::vector<std::string> tokens = PhraseTokens(name);
  ASSERT_GT(tokens.size(), 1u);
  std::string decoded;
  for (const std::string& token : tokens) {
    ASSERT_TRUE(absl::StartsWith(token, "=?utf-8?b?")) << token;
    ASSERT_LE(token.size(), 75u);
    std::string piece;
    ASSERT_TRUE(absl::Base64Unescape(token.substr(10, token.size() - 12), &piece));
    decoded += piece;  // RFC 2047 §6.2: whitespace between encoded-words is not part of the text
  }
  EXPECT_EQ(decoded, name);
  EXPECT_EQ(PhraseTokens("Hostile\r\nBcc: x@y.z"),
            (std::vector<std::string>{"\"Hostile", "Bcc:", "x@y.z\""}));
  ExpectOneField(AddressHeader("To", {{"Evil\r\nBcc: x@y.z", "a@example.com"}}));
}

TEST(FileNameParamsTest, ShortAsciiIsQuoted) {
  EXPECT_EQ(FileNameParams("filename", "chat.txt"), std::vector<std::string>{"filename=chat.txt"});
  EXPECT_EQ(FileNameParams("filename", "GMT20240305 chat.txt"),
            std::vector<std::string>{"filename=\"GMT20240305 chat.txt\""});
}

TEST(FileNameParamsTest, NonAsciiUsesRfc2231) {
  EXPECT_EQ(FileNameParams("filename", "résumé.txt"),
            std::vector<std::string>{"filename*=utf-8''r%C3%A9sum%C3%A9.txt"});
  EXPECT_EQ(FileNameParams("filename", "a\"b.txt"),
            std::vector<std::string>{"filename*=utf-8''a%22b.txt"});
}

TEST(FileNameParamsTest, LongNamesUseContinuationsThatReassemble) {
  const std::string name = "会議の録画 2024年3月5日 第三四半期の売上と今後の計画 🎥.mp4";
  const std::vector<std::string> params = FileNameParams("filename", name);
  ASSERT_GT(params.size(), 1u);
  std::string encoded;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string prefix = absl::StrCat("filename*", i, "*=", i == 0 ? "utf-8''" : "");
    ASSERT_TRUE(absl::StartsWith(params[i], prefix)) << params[i];
    encoded += params[i].substr(prefix.size());
  }
  std::string decoded;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%') {
      decoded.push_back(static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      decoded.push_back(encoded[i]);
    }
  }
  EXPECT_EQ(decoded, name);
  const std::string header = ParameterizedHeader("Content-Disposition", "attachment", params);
  ExpectOneField(header);
  for (const std::string& line : Lines(header)) EXPECT_LE(line.size(), kPreferredLineLength);
}

TEST(FileNameParamsTest, AsciiFallbackKeepsExtension) {
  EXPECT_EQ(AsciiFileNameFallback("résumé.txt"), "r_sum_.txt");
  EXPECT_EQ(AsciiFileNameFallback(""), "attachment");
  const std::string fallback = AsciiFileNameFallback(std::string(100, 'x') + ".mp4");
  EXPECT_EQ(fallback.size(), 60u);
  EXPECT_TRUE(absl::EndsWith(fallback, ".mp4"));
  EXPECT_EQ(FormatParam("boundary", "=_zarc"), "boundary=\"=_zarc\"");
  EXPECT_EQ(FormatParam("charset", "utf-8"), "charset=utf-8");
}

}  // namespace
}  // namespace zarc::converter
