#pragma once

// Header fields of an Internet message: RFC 5322 (syntax, folding), RFC 2047 (encoded-words for
// non-ASCII text), RFC 2231 (non-ASCII parameter values). Everything here is pure and returns
// complete header lines ending in CRLF: no line over 998 octets, folded to 78 where the text
// allows. Values are sanitised first, so no input can start a new header line.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace zarc::converter {

inline constexpr size_t kPreferredLineLength = 78;  // RFC 5322 §2.1.1 SHOULD
inline constexpr size_t kMaxLineLength = 998;       // RFC 5322 §2.1.1 MUST (without CRLF)

// Replaces every invalid UTF-8 sequence (overlong, surrogate, truncated, > U+10FFFF) with U+FFFD.
std::string ToValidUtf8(absl::string_view text);

// Text fit for a header: valid UTF-8; CR, LF, TAB and every other C0/C1 control character, DEL and
// U+2028/U+2029 turned into a space; runs of whitespace collapsed to one space; trimmed. Keeps at
// most `max_chars` code points when non-zero. A topic or name can therefore never inject a header.
std::string SanitizeHeaderText(absl::string_view text, size_t max_chars = 0);

// `Name: value` as an unstructured field (RFC 5322 §3.2.5). Printable ASCII is written as is and
// folded between words; anything else (non-ASCII, "=?", words too long to fold) is written as
// UTF-8 "B" encoded-words of at most 75 characters, split only between code points. `value` is
// sanitised here. `name` must be a valid field name (letters, digits, '-').
std::string UnstructuredHeader(absl::string_view name, absl::string_view value);

// An RFC 5322 mailbox. The display name is sanitised when formatted; the address must pass
// IsValidAddress.
struct Mailbox {
  std::string display_name;
  std::string address;
};

// A conservative addr-spec check (RFC 5322 §3.4.1 dot-atom@dot-atom, ASCII only, ≤ 254 octets):
// what passes can be written into a header unquoted and cannot break its syntax.
bool IsValidAddress(absl::string_view address);

// The display name as an RFC 5322 phrase: a quoted-string for printable ASCII (words of at most
// 70 characters, no "=?"), otherwise
// encoded-words (split at spaces where possible, the space kept inside the earlier word, as
// RFC 2047 §6.2 drops whitespace between adjacent encoded-words). Returned as foldable tokens.
std::vector<std::string> PhraseTokens(absl::string_view display_name);

// `Name: "A" <a@x>, =?utf-8?b?...?= <b@y>` (RFC 5322 §3.4), folded after commas and between
// words. Mailboxes whose address fails IsValidAddress must be filtered out by the caller.
std::string AddressHeader(absl::string_view name, const std::vector<Mailbox>& mailboxes);

// `attribute=value`, the value quoted (RFC 2045 §5.1) unless it is a token. For printable ASCII
// values (boundary, charset); file names go through FileNameParams.
std::string FormatParam(absl::string_view attribute, absl::string_view value);

// A file name parameter (RFC 2231 §3-4): `param="name"` when the name is short printable ASCII,
// otherwise `param*=utf-8''percent-encoded`, split into `param*0*`, `param*1*`... continuations
// (between code points) to keep lines short. Each element is one formatted parameter.
std::vector<std::string> FileNameParams(absl::string_view param, absl::string_view file_name);

// `Name: value; p1; p2\r\n` from formatted parameters, folded between parameters.
std::string ParameterizedHeader(absl::string_view name, absl::string_view value,
                                const std::vector<std::string>& params);

// An ASCII stand-in for a file name (non-ASCII, '"', '\\', '/' and '?' become '_', extension kept,
// at most 60 characters) for clients that ignore RFC 2231.
std::string AsciiFileNameFallback(absl::string_view file_name);

// Joins tokens into `Name: t1 t2 ...\r\n`, folding (CRLF + space) before a token that would take
// the line past 78. Tokens must not contain CR or LF and must each be shorter than 990 octets.
std::string FoldHeader(absl::string_view name, const std::vector<std::string>& tokens);

}  // namespace zarc::converter
