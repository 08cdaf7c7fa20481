#include "services/converter/mime_header.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace zarc::converter {
namespace {

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr size_t kMaxEncodedWord = 75;                      // RFC 2047 §2
constexpr absl::string_view kEncodedWordPrefix = "=?utf-8?b?";
constexpr size_t kEncodedWordOverhead = 12;  // "=?utf-8?b?" + "?="
constexpr size_t kMaxPlainWord = 70;
constexpr size_t kMaxAsciiFileName = 60;

// Length of the valid UTF-8 sequence at text[pos], or 0 if it is not valid (RFC 3629 §4).
size_t ValidSequenceLength(absl::string_view text, size_t pos, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char b0 = byte(0);
  size_t length;
  uint32_t cp;
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if ((length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  *code_point = cp;
  return length;
}

bool IsPrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// Splits valid UTF-8 into pieces of at most `max_bytes` octets, never inside a code point.
std::vector<absl::string_view> SplitAtCodePoints(absl::string_view text, size_t max_bytes) {
  std::vector<absl::string_view> pieces;
  size_t start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    size_t n = ValidSequenceLength(text, pos, &cp);
    if (n == 0) n = 1;  // callers pass valid UTF-8; never loop forever on bad input
    if (pos + n - start > max_bytes && pos > start) {
      pieces.push_back(text.substr(start, pos - start));
      start = pos;
    }
    pos += n;
  }
  if (pos > start) pieces.push_back(text.substr(start, pos - start));
  return pieces;
}

// The longest prefix of at most `max_bytes` octets that ends between code points (at least one
// code point, so callers always advance).
absl::string_view FirstPiece(absl::string_view text, size_t max_bytes) {
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    size_t n = ValidSequenceLength(text, pos, &cp);
    if (n == 0) n = 1;
    if (pos + n > max_bytes && pos > 0) break;
    pos += n;
  }
  return text.substr(0, pos);
}

std::string EncodedWord(absl::string_view utf8) {
  return absl::StrCat(kEncodedWordPrefix, absl::Base64Escape(utf8), "?=");
}

// Raw octets that fit an encoded-word of at most `chars` characters.
size_t RawBytesFor(size_t chars) {
  if (chars < kEncodedWordOverhead + 8) chars = kEncodedWordOverhead + 8;  // one code point
  if (chars > kMaxEncodedWord) chars = kMaxEncodedWord;
  return (chars - kEncodedWordOverhead) / 4 * 3;
}

bool IsTokenChar(char c) {
  if (c <= 0x20 || c >= 0x7F) return false;
  return !absl::StrContains("()<>@,;:\\\"/[]?=", c);
}

bool IsAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-/=?^_`{|}~", c);
}

bool IsDotAtom(absl::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char previous = 0;
  for (char c : text) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!IsAtext(c)) {
      return false;
    }
    previous = c;
  }
  return true;
}

}  // namespace

std::string ToValidUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    const size_t n = ValidSequenceLength(text, pos, &cp);
    if (n == 0) {
      out.append(kReplacement.data(), kReplacement.size());
      ++pos;
    } else {
      out.append(text.data() + pos, n);
      pos += n;
    }
  }
  return out;
}

std::string SanitizeHeaderText(absl::string_view text, size_t max_chars) {
  const std::string valid = ToValidUtf8(text);
  std::string out;
  out.reserve(valid.size());
  size_t chars = 0;
  size_t pos = 0;
  bool pending_space = false;
  while (pos < valid.size()) {
    uint32_t cp;
    const size_t n = ValidSequenceLength(valid, pos, &cp);
    const bool space =
        cp <= 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029;
    if (space) {
      pending_space = !out.empty();
    } else {
      const size_t needed = pending_space ? 2 : 1;
      if (max_chars != 0 && chars + needed > max_chars) break;
      if (pending_space) {
        out.push_back(' ');
        ++chars;
      }
      pending_space = false;
      out.append(valid.data() + pos, n);
      ++chars;
    }
    pos += n;
  }
  return out;
}

std::string FoldHeader(absl::string_view name, const std::vector<std::string>& tokens) {
  std::string out = absl::StrCat(name, ":");
  size_t line = out.size();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0 && line + 1 + tokens[i].size() > kPreferredLineLength) {
      out.append("\r\n ");
      line = 1;
    } else {
      out.push_back(' ');
      ++line;
    }
    out.append(tokens[i]);
    line += tokens[i].size();
  }
  out.append("\r\n");
  return out;
}

std::string UnstructuredHeader(absl::string_view name, absl::string_view value) {
  const std::string text = SanitizeHeaderText(value);
  std::vector<std::string> tokens;
  if (text.empty()) return FoldHeader(name, tokens);
  std::vector<std::string> words = absl::StrSplit(text, ' ');
  bool plain = IsPrintableAscii(text) && !absl::StrContains(text, "=?");
  for (const std::string& word : words) {
    if (word.size() > kMaxPlainWord) plain = false;
  }
  if (plain) return FoldHeader(name, words);
  // Whitespace between adjacent encoded-words is dropped by decoders (RFC 2047 §6.2), so the
  // spaces travel inside the words and the pieces are separated only by folding whitespace.
  const size_t first_budget = kPreferredLineLength - (name.size() + 2);
  size_t offset = 0;
  bool first = true;
  while (offset < text.size()) {
    const size_t max_bytes = RawBytesFor(first ? first_budget : kPreferredLineLength - 1);
    const absl::string_view piece = FirstPiece(absl::string_view(text).substr(offset), max_bytes);
    tokens.push_back(EncodedWord(piece));
    offset += piece.size();
    first = false;
  }
  return FoldHeader(name, tokens);
}

bool IsValidAddress(absl::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  const size_t at = address.rfind('@');
  if (at == absl::string_view::npos || at == 0 || at > 64) return false;
  const absl::string_view local = address.substr(0, at);
  const absl::string_view domain = address.substr(at + 1);
  if (!IsDotAtom(local) || !IsDotAtom(domain)) return false;
  for (char c : domain) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

std::vector<std::string> PhraseTokens(absl::string_view display_name) {
  const std::string name = SanitizeHeaderText(display_name);
  std::vector<std::string> tokens;
  if (name.empty()) return tokens;
  std::vector<std::string> words = absl::StrSplit(name, ' ');
  bool quoted = IsPrintableAscii(name) && !absl::StrContains(name, "=?");
  for (const std::string& word : words) quoted = quoted && word.size() <= kMaxPlainWord;
  if (quoted) {
    // A quoted-string may be folded at its spaces (RFC 5322 §3.2.4: FWS inside qcontent).
    for (std::string& word : words) {
      std::string escaped;
      for (char c : word) {
        if (c == '"' || c == '\\') escaped.push_back('\\');
        escaped.push_back(c);
      }
      word = std::move(escaped);
    }
    words.front() = absl::StrCat("\"", words.front());
    words.back().push_back('"');
    return words;
  }
  const size_t max_bytes = RawBytesFor(kPreferredLineLength - 1);
  std::string chunk;
  auto flush = [&] {
    if (!chunk.empty()) tokens.push_back(EncodedWord(chunk));
    chunk.clear();
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string word = i + 1 < words.size() ? words[i] + " " : words[i];
    if (chunk.size() + word.size() <= max_bytes) {
      chunk.append(word);
      continue;
    }
    flush();
    if (word.size() <= max_bytes) {
      chunk = word;
      continue;
    }
    std::vector<absl::string_view> pieces = SplitAtCodePoints(word, max_bytes);
    for (size_t p = 0; p + 1 < pieces.size(); ++p) tokens.push_back(EncodedWord(pieces[p]));
    chunk = std::string(pieces.back());
  }
  flush();
  return tokens;
}

std::string AddressHeader(absl::string_view name, const std::vector<Mailbox>& mailboxes) {
  std::vector<std::string> tokens;
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    std::vector<std::string> phrase = PhraseTokens(mailboxes[i].display_name);
    tokens.insert(tokens.end(), phrase.begin(), phrase.end());
    std::string address = absl::StrCat("<", mailboxes[i].address, ">");
    if (i + 1 < mailboxes.size()) address.push_back(',');
    tokens.push_back(std::move(address));
  }
  return FoldHeader(name, tokens);
}

std::string FormatParam(absl::string_view attribute, absl::string_view value) {
  bool token = !value.empty();
  for (char c : value) token = token && IsTokenChar(c);
  if (token) return absl::StrCat(attribute, "=", value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return absl::StrCat(attribute, "=", quoted);
}

std::vector<std::string> FileNameParams(absl::string_view param, absl::string_view file_name) {
  const std::string name = SanitizeHeaderText(file_name);
  if (!name.empty() && name.size() <= kMaxAsciiFileName && IsPrintableAscii(name) &&
      !absl::StrContains(name, "\"") && !absl::StrContains(name, "\\") &&
      !absl::StrContains(name, "=?")) {
    return {FormatParam(param, name)};
  }
  // RFC 2231 §7 attribute-char minus a few that some parsers mishandle: percent-encode the rest.
  auto encode = [](absl::string_view utf8) {
    std::string out;
    for (char c : utf8) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
        out.push_back(c);
      } else {
        absl::StrAppend(&out, "%",
                        absl::AsciiStrToUpper(absl::BytesToHexString(absl::string_view(&c, 1))));
      }
    }
    return out;
  };
  const std::string whole = encode(name);
  if (whole.size() <= 56) return {absl::StrCat(param, "*=utf-8''", whole)};
  std::vector<std::string> params;
  // Each continuation holds whole code points; 18 raw octets encode to at most 54 characters.
  const std::vector<absl::string_view> pieces = SplitAtCodePoints(name, 18);
  for (size_t i = 0; i < pieces.size(); ++i) {
    params.push_back(absl::StrCat(param, "*", i, "*=", i == 0 ? "utf-8''" : "", encode(pieces[i])));
  }
  return params;
}

std::string ParameterizedHeader(absl::string_view name, absl::string_view value,
                                const std::vector<std::string>& params) {
  std::vector<std::string> tokens;
  tokens.push_back(std::string(value));
  for (const std::string& param : params) {
    tokens.back().push_back(';');
    tokens.push_back(param);
  }
  return FoldHeader(name, tokens);
}

std::string AsciiFileNameFallback(absl::string_view file_name) {
  const std::string name = SanitizeHeaderText(file_name);
  std::string ascii;
  size_t pos = 0;
  while (pos < name.size()) {
    uint32_t cp;
    const size_t n = ValidSequenceLength(name, pos, &cp);
    const char c = name[pos];
    // '?' goes too: "=?" in a quoted parameter looks like an encoded-word to some parsers.
    ascii.push_back(n == 1 && c != '"' && c != '\\' && c != '/' && c != '?' ? c : '_');
    pos += n == 0 ? 1 : n;
  }
  if (ascii.empty()) return "attachment";
  if (ascii.size() <= kMaxAsciiFileName) return ascii;
  std::string extension;
  const size_t dot = ascii.rfind('.');
  if (dot != std::string::npos && ascii.size() - dot <= 10) extension = ascii.substr(dot);
  return ascii.substr(0, kMaxAsciiFileName - extension.size()) + extension;
}

}  // namespace zarc::converter
