#include "services/importer/graph_target.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/retrying_client.h"
#include "runtime/json/json.h"
#include "runtime/log/log.h"

namespace zarc::importer {
namespace {

constexpr absl::string_view kComponent = "importer";
constexpr size_t kReadChunk = 64 << 10;
// RFC 5322 allows 998 octets a line; anything far beyond is not a message we can split safely.
constexpr size_t kMaxLine = 1 << 20;
// Raised by a visitor that has seen all it needs; not an error.
constexpr absl::string_view kWalkDone = "mime walk done";

// ---------------------------------------------------------------------------------------------
// Streaming MIME walk (RFC 2045/2046): top-level parts of a multipart message, line by line.

class LineReader {
 public:
  explicit LineReader(io::ByteSource& source) : source_(source) {}

  // The next line with its terminator; false at the end.
  absl::StatusOr<bool> Next(std::string* line) {
    while (true) {
      const size_t nl = buffer_.find('\n', pos_);
      if (nl != std::string::npos) {
        line->assign(buffer_, pos_, nl + 1 - pos_);
        pos_ = nl + 1;
        return true;
      }
      if (eof_) {
        if (pos_ >= buffer_.size()) return false;
        line->assign(buffer_, pos_, std::string::npos);
        pos_ = buffer_.size();
        return true;
      }
      if (buffer_.size() - pos_ > kMaxLine) {
        return absl::InvalidArgumentError(
            absl::StrCat("the message has a line longer than ", kMaxLine,
                         " bytes; it is not RFC 5322 and cannot be split for Graph"));
      }
      buffer_.erase(0, pos_);
      pos_ = 0;
      const size_t old = buffer_.size();
      buffer_.resize(old + kReadChunk);
      absl::StatusOr<size_t> n = source_.Read(buffer_.data() + old, kReadChunk);
      if (!n.ok()) return n.status();
      buffer_.resize(old + *n);
      if (*n == 0) eof_ = true;
    }
  }

 private:
  io::ByteSource& source_;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
};

// Unfolded header fields of a header block, names lower-cased (or as written).
std::vector<std::pair<std::string, std::string>> ParseHeaderBlock(absl::string_view block,
                                                                  bool lower_names = true) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (absl::string_view line : absl::StrSplit(block, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (!fields.empty())
        absl::StrAppend(&fields.back().second, " ", absl::StripAsciiWhitespace(line));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const std::string name(absl::StripAsciiWhitespace(line.substr(0, colon)));
    fields.emplace_back(lower_names ? absl::AsciiStrToLower(name) : name,
                        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return fields;
}

std::string Field(const std::vector<std::pair<std::string, std::string>>& fields,
                  absl::string_view name) {
  for (const auto& [n, v] : fields) {
    if (n == name) return v;
  }
  return "";
}

// A structured header value split into its value and parameters (names lower-cased, quoted
// strings unquoted).
struct Structured {
  std::string value;
  std::map<std::string, std::string> params;
};

Structured ParseStructured(absl::string_view text) {
  Structured out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && absl::ascii_isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  const size_t semi = text.find(';');
  out.value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(0, semi)));
  if (semi == absl::string_view::npos) return out;
  i = semi + 1;
  while (i < text.size()) {
    skip_ws();
    const size_t eq = text.find('=', i);
    if (eq == absl::string_view::npos) break;
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(i, eq - i)));
    i = eq + 1;
    skip_ws();
    std::string value;
    if (i < text.size() && text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value.push_back(text[i]);
      }
      ++i;
      while (i < text.size() && text[i] != ';') ++i;
    } else {
      const size_t end = std::min(text.size(), text.find(';', i));
      value = std::string(absl::StripAsciiWhitespace(text.substr(i, end - i)));
      i = end;
    }
    if (i < text.size() && text[i] == ';') ++i;
    out.params[std::move(name)] = std::move(value);
  }
  return out;
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      c = absl::ascii_tolower(static_cast<unsigned char>(c));
      return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && (hi = hex(s[i + 1])) >= 0 && (lo = hex(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The `param` file name: RFC 2231 (`param*`, continuations `param*0*`...) or plain.
std::string FileNameParam(const std::map<std::string, std::string>& params,
                          const std::string& param) {
  auto strip_charset = [](absl::string_view v) {
    // charset'language'text
    const size_t first = v.find('\'');
    if (first == absl::string_view::npos) return v;
    const size_t second = v.find('\'', first + 1);
    return second == absl::string_view::npos ? v : v.substr(second + 1);
  };
  if (auto it = params.find(param + "*"); it != params.end()) {
    return PercentDecode(strip_charset(it->second));
  }
  std::string joined;
  for (int n = 0;; ++n) {
    const std::string base = absl::StrCat(param, "*", n);
    if (auto it = params.find(base + "*"); it != params.end()) {
      joined += PercentDecode(n == 0 ? strip_charset(it->second) : it->second);
    } else if (auto plain = params.find(base); plain != params.end()) {
      joined += plain->second;
    } else {
      break;
    }
  }
  if (!joined.empty()) return joined;
  auto it = params.find(param);
  return it == params.end() ? "" : it->second;
}

struct PartInfo {
  std::string content_type;  // lower-case type/subtype
  std::string encoding;      // lower-case Content-Transfer-Encoding
  bool attachment = false;   // Content-Disposition: attachment, or a file name
  std::string name;
};

PartInfo ParsePartInfo(absl::string_view headers) {
  const auto fields = ParseHeaderBlock(headers);
  PartInfo info;
  const Structured type = ParseStructured(Field(fields, "content-type"));
  const Structured disposition = ParseStructured(Field(fields, "content-disposition"));
  info.content_type = type.value.empty() ? "text/plain" : type.value;
  info.encoding = absl::AsciiStrToLower(Field(fields, "content-transfer-encoding"));
  info.name = FileNameParam(disposition.params, "filename");
  if (info.name.empty()) info.name = FileNameParam(type.params, "name");
  info.attachment = disposition.value == "attachment" || !info.name.empty();
  return info;
}

class MimeVisitor {
 public:
  virtual ~MimeVisitor() = default;
  // Top-level headers, preamble, delimiters of removed-or-kept parts are given to PartBegin.
  virtual absl::Status Outside(absl::string_view text) = 0;
  virtual absl::Status PartBegin(int part, absl::string_view delimiter, absl::string_view headers,
                                 const PartInfo& info) = 0;
  virtual absl::Status PartLine(int part, absl::string_view line) = 0;
  virtual absl::Status PartEnd(int part) = 0;
};

// Walks the top-level structure of the message in `source`, line by line (memory: one line and
// one part's header block).
absl::Status WalkMime(io::ByteSource& source, MimeVisitor& visitor) {
  LineReader reader(source);
  std::string line;
  std::string headers;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&line);
    if (!more.ok()) return more.status();
    if (!*more) break;
    headers += line;
    if (headers.size() > kMaxLine) {
      return absl::InvalidArgumentError("the message's header block is over 1 MiB");
    }
    if (line == "\r\n" || line == "\n") break;
  }
  if (absl::Status s = visitor.Outside(headers); !s.ok()) return s;
  const Structured type = ParseStructured(Field(ParseHeaderBlock(headers), "content-type"));
  std::string boundary;
  if (absl::StartsWith(type.value, "multipart/")) {
    if (auto it = type.params.find("boundary"); it != type.params.end()) boundary = it->second;
  }
  const std::string delimiter = "--" + boundary;
  enum class State { kPreamble, kHeaders, kBody, kEpilogue };
  State state = boundary.empty() ? State::kEpilogue : State::kPreamble;
  int part = -1;
  std::string delimiter_line, part_headers;
  auto end_part = [&]() -> absl::Status {
    if (state == State::kHeaders) {
      if (absl::Status s =
              visitor.PartBegin(part, delimiter_line, part_headers, ParsePartInfo(part_headers));
          !s.ok()) {
        return s;
      }
    }
    if (state == State::kHeaders || state == State::kBody) return visitor.PartEnd(part);
    return absl::OkStatus();
  };
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&line);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (state != State::kEpilogue && absl::StartsWith(line, delimiter)) {
      absl::string_view rest = absl::string_view(line).substr(delimiter.size());
      const bool close = absl::ConsumePrefix(&rest, "--");
      if (absl::StripAsciiWhitespace(rest).empty()) {
        if (absl::Status s = end_part(); !s.ok()) return s;
        if (close) {
          state = State::kEpilogue;
          if (absl::Status s = visitor.Outside(line); !s.ok()) return s;
        } else {
          ++part;
          delimiter_line = line;
          part_headers.clear();
          state = State::kHeaders;
        }
        continue;
      }
    }
    switch (state) {
      case State::kPreamble:
      case State::kEpilogue:
        if (absl::Status s = visitor.Outside(line); !s.ok()) return s;
        break;
      case State::kHeaders:
        part_headers += line;
        if (part_headers.size() > kMaxLine) {
          return absl::InvalidArgumentError("a MIME part's header block is over 1 MiB");
        }
        if (line == "\r\n" || line == "\n") {
          if (absl::Status s = visitor.PartBegin(part, delimiter_line, part_headers,
                                                 ParsePartInfo(part_headers));
              !s.ok()) {
            return s;
          }
          state = State::kBody;
        }
        break;
      case State::kBody:
        if (absl::Status s = visitor.PartLine(part, line); !s.ok()) return s;
        break;
    }
  }
  return end_part();
}

bool IsBase64Char(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
}

class SplitVisitor final : public MimeVisitor {
 public:
  SplitVisitor(uint64_t keep_limit, uint64_t max_skeleton)
      : keep_limit_(keep_limit), max_skeleton_(max_skeleton) {}

  absl::Status Outside(absl::string_view text) override { return Append(text); }

  absl::Status PartBegin(int part, absl::string_view delimiter, absl::string_view headers,
                         const PartInfo& info) override {
    removable_ = info.encoding == "base64" && info.attachment &&
                 !absl::StartsWith(info.content_type, "multipart/");
    removed_ = false;
    if (!removable_) {
      if (absl::Status s = Append(delimiter); !s.ok()) return s;
      return Append(headers);
    }
    info_ = info;
    buffer_ = absl::StrCat(delimiter, headers);
    chars_ = 0;
    padding_ = 0;
    (void)part;
    return absl::OkStatus();
  }

  absl::Status PartLine(int, absl::string_view line) override {
    if (!removable_) return Append(line);
    for (char c : line) {
      if (IsBase64Char(c)) {
        ++chars_;
        padding_ += c == '=';
      }
    }
    if (removed_) return absl::OkStatus();
    if (buffer_.size() + line.size() > keep_limit_) {
      removed_ = true;
      std::string().swap(buffer_);
      return absl::OkStatus();
    }
    buffer_.append(line.data(), line.size());
    return absl::OkStatus();
  }

  absl::Status PartEnd(int part) override {
    if (!removable_) return absl::OkStatus();
    removable_ = false;
    if (!removed_) return Append(buffer_);
    if (chars_ % 4 != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("attachment part ", part, " (\"", info_.name, "\") has ", chars_,
                       " base64 characters, not a multiple of 4: the message is damaged"));
    }
    result_.removed.push_back(RemovedAttachment{
        .part = part,
        .name = info_.name.empty() ? absl::StrCat("attachment-", part) : info_.name,
        .content_type = info_.content_type,
        .size = chars_ / 4 * 3 - padding_});
    return absl::OkStatus();
  }

  SplitMessage Take() { return std::move(result_); }

 private:
  absl::Status Append(absl::string_view text) {
    if (result_.skeleton.size() + text.size() > max_skeleton_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the message without its large attachments is still over ", max_skeleton_,
          " bytes, more than one Graph request may carry; it cannot be imported through Graph "
          "(use importer.target=imap for such items)"));
    }
    result_.skeleton.append(text.data(), text.size());
    return absl::OkStatus();
  }

  const uint64_t keep_limit_;
  const uint64_t max_skeleton_;
  SplitMessage result_;
  bool removable_ = false;
  bool removed_ = false;
  PartInfo info_;
  std::string buffer_;
  uint64_t chars_ = 0;
  uint64_t padding_ = 0;
};

class DecodeVisitor final : public MimeVisitor {
 public:
  DecodeVisitor(int part, io::ByteSink& sink) : part_(part), sink_(sink) {}
  absl::Status Outside(absl::string_view) override { return absl::OkStatus(); }
  absl::Status PartBegin(int part, absl::string_view, absl::string_view,
                         const PartInfo& info) override {
    if (part == part_) {
      found_ = true;
      if (info.encoding != "base64") {
        return absl::InvalidArgumentError(
            absl::StrCat("MIME part ", part, " is not base64-encoded (", info.encoding, ")"));
      }
    }
    return absl::OkStatus();
  }
  absl::Status PartLine(int part, absl::string_view line) override {
    if (part != part_) return absl::OkStatus();
    for (char c : line) {
      if (IsBase64Char(c)) pending_.push_back(c);
    }
    if (pending_.size() >= kReadChunk) return Flush(pending_.size() / 4 * 4);
    return absl::OkStatus();
  }
  absl::Status PartEnd(int part) override {
    if (part != part_) return absl::OkStatus();
    if (absl::Status s = Flush(pending_.size()); !s.ok()) return s;
    return absl::CancelledError(kWalkDone);
  }
  bool found() const { return found_; }

 private:
  absl::Status Flush(size_t n) {
    if (n == 0) return absl::OkStatus();
    absl::StatusOr<std::string> bytes =
        crypto::Base64Decode(absl::string_view(pending_).substr(0, n));
    if (!bytes.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("MIME part ", part_, " has invalid base64: ", bytes.status().message()));
    }
    pending_.erase(0, n);
    return sink_.Write(*bytes);
  }

  const int part_;
  io::ByteSink& sink_;
  std::string pending_;
  bool found_ = false;
};

// ---------------------------------------------------------------------------------------------
// Graph helpers.

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// OData string literal: quotes doubled.
std::string Quote(absl::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

struct GraphError {
  std::string code;
  std::string message;
};

GraphError ParseError(const std::string& body) {
  absl::StatusOr<json::Value> v = json::Parse(body, "Graph error");
  if (!v.ok()) return {"", body.substr(0, 200)};
  const json::Value error = json::Object(*v, "error");
  if (!error.IsObject()) return {"", body.substr(0, 200)};
  return {json::String(error, "code"), json::String(error, "message").substr(0, 300)};
}

// ---------------------------------------------------------------------------------------------
// MIME to a Graph message (JSON): Graph makes a MIME-posted message a draft; a message created from
// JSON with its extended properties set is a received one.

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string DecodeQuotedPrintable(absl::string_view text, bool header) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (header && c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else if (c == '=' && !header) {
      // A soft line break "=\r\n".
      size_t j = i + 1;
      if (j < text.size() && text[j] == '\r') ++j;
      if (j < text.size() && text[j] == '\n') {
        i = j;
      } else {
        out.push_back(c);
      }
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// RFC 2047 encoded words (=?charset?B|Q?text?=; the converter writes UTF-8) decoded; the white
// space between two adjacent encoded words dropped, as the RFC says.
std::string DecodeEncodedWords(absl::string_view text) {
  std::string out;
  size_t i = 0;
  bool last_was_word = false;
  std::string pending_space;
  while (i < text.size()) {
    if (text.substr(i, 2) == "=?") {
      const size_t q1 = text.find('?', i + 2);
      const size_t q2 = q1 == absl::string_view::npos ? q1 : text.find('?', q1 + 1);
      const size_t end = q2 == absl::string_view::npos ? q2 : text.find("?=", q2 + 1);
      if (end != absl::string_view::npos && q2 == q1 + 2) {
        const char enc = absl::ascii_toupper(text[q1 + 1]);
        const absl::string_view payload = text.substr(q2 + 1, end - q2 - 1);
        std::optional<std::string> decoded;
        if (enc == 'B') {
          absl::StatusOr<std::string> b = crypto::Base64Decode(payload);
          if (b.ok()) decoded = *std::move(b);
        } else if (enc == 'Q') {
          decoded = DecodeQuotedPrintable(payload, true);
        }
        if (decoded.has_value()) {
          if (!last_was_word) out += pending_space;
          pending_space.clear();
          out += *decoded;
          last_was_word = true;
          i = end + 2;
          continue;
        }
      }
    }
    if (text[i] == ' ' || text[i] == '\t') {
      pending_space.push_back(text[i]);
    } else {
      out += pending_space;
      pending_space.clear();
      out.push_back(text[i]);
      last_was_word = false;
    }
    ++i;
  }
  out += pending_space;
  return out;
}

// An address list ("Name <a@b>, c@d") as Graph recipients.
json::Value Recipients(absl::string_view list) {
  json::Value out = json::Value::Array();
  size_t n = 0;
  std::string current;
  bool quoted = false;
  int angle = 0;
  auto flush = [&] {
    std::string one(absl::StripAsciiWhitespace(current));
    current.clear();
    if (one.empty()) return;
    std::string name, address;
    const size_t lt = one.rfind('<');
    if (lt != std::string::npos && one.back() == '>') {
      address = one.substr(lt + 1, one.size() - lt - 2);
      name = std::string(absl::StripAsciiWhitespace(one.substr(0, lt)));
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
        name = name.substr(1, name.size() - 2);
      }
      name = DecodeEncodedWords(name);
    } else {
      address = one;
    }
    json::Value email = json::Value::Object();
    email["address"] = json::Str(address);
    if (!name.empty()) email["name"] = json::Str(name);
    json::Value r = json::Value::Object();
    r["emailAddress"] = std::move(email);
    out[n++] = std::move(r);
  };
  for (char c : list) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '<') ++angle;
    if (!quoted && c == '>') --angle;
    if (c == ',' && !quoted && angle == 0) {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return out;
}

std::string DecodeBody(absl::string_view body, absl::string_view encoding) {
  if (encoding == "base64") {
    std::string compact;
    for (char c : body) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact.push_back(c);
    }
    absl::StatusOr<std::string> b = crypto::Base64Decode(compact);
    return b.ok() ? *std::move(b) : std::string();
  }
  if (encoding == "quoted-printable") return DecodeQuotedPrintable(body, false);
  return std::string(body);
}

struct MimeEntity {
  std::string headers;
  std::string body;
};

// The parts of a multipart body (`boundary` without the leading dashes).
std::vector<MimeEntity> SplitMultipart(absl::string_view body, absl::string_view boundary) {
  std::vector<MimeEntity> parts;
  const std::string delimiter = absl::StrCat("--", boundary);
  std::vector<std::string> lines = absl::StrSplit(body, '\n');
  std::optional<std::string> current;
  for (std::string& raw : lines) {
    absl::string_view line = absl::StripSuffix(raw, "\r");
    if (absl::StartsWith(line, delimiter)) {
      if (current.has_value()) {
        // The CRLF before a delimiter belongs to it.
        absl::string_view text = *current;
        text = absl::StripSuffix(absl::StripSuffix(text, "\n"), "\r");
        const size_t split = text.find("\r\n\r\n");
        parts.push_back(split == absl::string_view::npos
                            ? MimeEntity{std::string(text), ""}
                            : MimeEntity{std::string(text.substr(0, split)),
                                         std::string(text.substr(split + 4))});
      }
      if (absl::StartsWith(line.substr(delimiter.size()), "--")) break;
      current = std::string();
      continue;
    }
    if (current.has_value()) absl::StrAppend(&*current, raw, "\n");
  }
  return parts;
}

struct GraphParts {
  std::string text;
  std::string html;
  json::Value attachments = json::Value::Array();
  size_t attachment_count = 0;
};

void CollectParts(const MimeEntity& entity, GraphParts& out) {
  const PartInfo info = ParsePartInfo(entity.headers);
  if (absl::StartsWith(info.content_type, "multipart/")) {
    const auto fields = ParseHeaderBlock(entity.headers);
    const std::string boundary = ParseStructured(Field(fields, "content-type")).params["boundary"];
    for (const MimeEntity& part : SplitMultipart(entity.body, boundary)) CollectParts(part, out);
    return;
  }
  const std::string bytes = DecodeBody(entity.body, info.encoding);
  if (!info.attachment && info.content_type == "text/html" && out.html.empty()) {
    out.html = bytes;
  } else if (!info.attachment && info.content_type == "text/plain" && out.text.empty()) {
    out.text = bytes;
  } else {
    json::Value a = json::Value::Object();
    a["@odata.type"] = json::Str("#microsoft.graph.fileAttachment");
    a["name"] = json::Str(info.name.empty() ? "attachment" : info.name);
    a["contentType"] = json::Str(info.content_type);
    a["contentBytes"] = json::Str(crypto::Base64Encode(bytes));
    out.attachments[out.attachment_count++] = std::move(a);
  }
}

}  // namespace

absl::StatusOr<std::string> GraphMessageJson(absl::string_view mime, absl::Time received) {
  const size_t split = mime.find("\r\n\r\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError("the message has no end of its header");
  }
  const MimeEntity message{std::string(mime.substr(0, split)), std::string(mime.substr(split + 4))};
  GraphParts parts;
  CollectParts(message, parts);
  json::Value m = json::Value::Object();
  json::Value internet_headers = json::Value::Array();
  size_t n = 0;
  for (const auto& [name, value] : ParseHeaderBlock(message.headers, /*lower_names=*/false)) {
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower == "subject") {
      m["subject"] = json::Str(DecodeEncodedWords(value));
    } else if (lower == "message-id") {
      m["internetMessageId"] = json::Str(value);
    } else if (lower == "from") {
      json::Value from = Recipients(value);
      if (from.size() > 0) m["from"] = from.at(0);
    } else if (lower == "to" || lower == "cc") {
      m[lower == "to" ? "toRecipients" : "ccRecipients"] = Recipients(value);
    } else if (absl::StartsWith(lower, "x-")) {
      json::Value h = json::Value::Object();
      h["name"] = json::Str(name);
      h["value"] = json::Str(value);
      internet_headers[n++] = std::move(h);
    }
  }
  if (n > 0) m["internetMessageHeaders"] = std::move(internet_headers);
  json::Value body = json::Value::Object();
  body["contentType"] = json::Str(parts.html.empty() ? "text" : "html");
  body["content"] = json::Str(parts.html.empty() ? parts.text : parts.html);
  m["body"] = std::move(body);
  if (parts.attachment_count > 0) m["attachments"] = std::move(parts.attachments);
  // Read and sent (PidTagMessageFlags = MSGFLAG_READ, without MSGFLAG_UNSENT), delivered and
  // submitted at the meeting's start.
  const std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", received, absl::UTCTimeZone());
  json::Value props = json::Value::Array();
  const std::pair<const char*, std::string> values[] = {
      {"Integer 0x0E07", "1"}, {"SystemTime 0x0E06", when}, {"SystemTime 0x0039", when}};
  for (size_t i = 0; i < 3; ++i) {
    json::Value p = json::Value::Object();
    p["id"] = json::Str(values[i].first);
    p["value"] = json::Str(values[i].second);
    props[i] = std::move(p);
  }
  m["singleValueExtendedProperties"] = std::move(props);
  return json::Serialize(m);
}

namespace {

}  // namespace

absl::StatusOr<SplitMessage> SplitLargeAttachments(io::ByteSource& source, uint64_t keep_limit,
                                                   uint64_t max_skeleton) {
  SplitVisitor visitor(keep_limit, max_skeleton);
  if (absl::Status s = WalkMime(source, visitor); !s.ok()) return s;
  return visitor.Take();
}

absl::Status DecodePart(io::ByteSource& source, int part, io::ByteSink& sink) {
  DecodeVisitor visitor(part, sink);
  absl::Status s = WalkMime(source, visitor);
  if (absl::IsCancelled(s) && s.message() == kWalkDone) return absl::OkStatus();
  if (!s.ok()) return s;
  return absl::DataLossError(
      absl::StrCat("MIME part ", part, visitor.found() ? " has no end" : " is not in the message",
                   " on the second read: the message changed between reads"));
}

// ---------------------------------------------------------------------------------------------
// MailboxLimiter

MailboxLimiter::MailboxLimiter(Options options) : options_(std::move(options)) {}

absl::Time MailboxLimiter::Now() const { return options_.now ? options_.now() : absl::Now(); }

void MailboxLimiter::Acquire(const std::string& mailbox) {
  absl::MutexLock lock(&mutex_);
  struct Free {
    const State* state;
    int limit;
    bool operator()() const { return state->in_flight < limit; }
  };
  State& state = mailboxes_[mailbox];  // std::map: the reference stays valid
  const Free free{&state, std::max(1, options_.concurrency)};
  mutex_.Await(absl::Condition(&free));
  ++state.in_flight;
}

void MailboxLimiter::Release(const std::string& mailbox) {
  absl::MutexLock lock(&mutex_);
  --mailboxes_[mailbox].in_flight;
}

absl::Status MailboxLimiter::ChargeUpload(const std::string& mailbox, uint64_t bytes,
                                          absl::Time deadline) {
  if (bytes > options_.upload_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("uploading ", bytes, " bytes exceeds the per-mailbox budget of ",
                     options_.upload_bytes, " bytes per ", absl::FormatDuration(options_.window)));
  }
  while (true) {
    absl::Duration wait;
    {
      absl::MutexLock lock(&mutex_);
      State& state = mailboxes_[mailbox];
      const absl::Time now = Now();
      while (!state.uploads.empty() && state.uploads.front().first <= now - options_.window) {
        state.uploads.pop_front();
      }
      uint64_t used = 0;
      for (const auto& [when, n] : state.uploads) used += n;
      if (used + bytes <= options_.upload_bytes) {
        state.uploads.emplace_back(now, bytes);
        return absl::OkStatus();
      }
      // Wait until enough of the oldest uploads leave the window.
      uint64_t freed = 0;
      absl::Time until = now;
      for (const auto& [when, n] : state.uploads) {
        freed += n;
        until = when + options_.window;
        if (used - freed + bytes <= options_.upload_bytes) break;
      }
      wait = until - now + absl::Milliseconds(1);
      if (now + wait > deadline) {
        return absl::UnavailableError(absl::StrCat(
            "mailbox ", mailbox, " has used its upload budget (", used, " of ",
            options_.upload_bytes, " bytes per ", absl::FormatDuration(options_.window),
            "); the delivery is retried later"));
      }
    }
    if (options_.sleep) {
      options_.sleep(wait);
    } else {
      absl::SleepFor(wait);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GraphTarget

// What a delivery of a large message uploads besides its skeleton.
struct GraphTarget::Plan {
  std::vector<RemovedAttachment> removed;
};

GraphTarget::GraphTarget(http::HttpClient& http, mapper::GraphTokenSource& tokens,
                         GraphTargetOptions options)
    : http_(http),
      tokens_(tokens),
      options_(std::move(options)),
      api_(TrimSlash(options_.credentials.api_url) + "/v1.0"),
      limiter_(options_.limits) {}

GraphTarget::GraphTarget(std::unique_ptr<http::HttpClient> owned_http,
                         std::unique_ptr<mapper::GraphTokenSource> owned_tokens,
                         GraphTargetOptions options)
    : owned_http_(std::move(owned_http)),
      owned_tokens_(std::move(owned_tokens)),
      http_(*owned_http_),
      tokens_(*owned_tokens_),
      options_(std::move(options)),
      api_(TrimSlash(options_.credentials.api_url) + "/v1.0"),
      limiter_(options_.limits) {}

std::unique_ptr<GraphTarget> GraphTarget::Create(GraphTargetOptions options) {
  std::unique_ptr<http::HttpClient> http =
      http::NewHttpClient(http::ClientOptions{.ca_file = options.ca_file});
  auto tokens = std::make_unique<mapper::GraphTokenSource>(*http, options.credentials, options.now);
  return std::unique_ptr<GraphTarget>(
      new GraphTarget(std::move(http), std::move(tokens), std::move(options)));
}

GraphTarget::~GraphTarget() = default;

absl::Time GraphTarget::Now() const { return options_.now ? options_.now() : absl::Now(); }
void GraphTarget::Sleep(absl::Duration d) const {
  if (options_.sleep) {
    options_.sleep(d);
  } else {
    absl::SleepFor(d);
  }
}

absl::StatusOr<GraphTarget::Reply> GraphTarget::Send(
    const std::string& mailbox, const std::string& method, const std::string& url,
    const std::string& body, const http::Headers& headers, bool authorized, absl::Time deadline) {
  // Only a request the server refused unprocessed (429) is safe to repeat blindly when it
  // creates something; a POST that failed in transit may have succeeded. A repeated DELETE is
  // harmless (its 404 means done).
  const bool idempotent = method == "GET" || method == "DELETE";
  bool refreshed = false;
  std::string last;
  for (int attempt = 0;; ++attempt) {
    http::ClientRequest req;
    req.method = method;
    req.url = url;
    req.body = body;
    req.headers = headers;
    std::string token;
    if (authorized) {
      absl::StatusOr<std::string> t = tokens_.Token();
      if (!t.ok()) return t.status();
      token = *std::move(t);
      req.headers.emplace_back("Authorization", "Bearer " + token);
    }
    req.headers.emplace_back("Accept", "application/json");
    req.timeout = absl::Seconds(120);
    limiter_.Acquire(mailbox);
    absl::StatusOr<http::ClientResponse> resp = http_.Send(req);
    limiter_.Release(mailbox);
    const int code = resp.ok() ? resp->status : 0;
    absl::Duration wait =
        std::min(options_.backoff * (1 << std::min(attempt, 8)), absl::Seconds(30));
    if (!resp.ok()) {
      last = std::string(resp.status().message());
      if (!idempotent) break;
    } else if (code == 401 && authorized && !refreshed) {
      tokens_.Invalidate(token);
      refreshed = true;
      continue;
    } else if (code == 429) {
      if (auto h = http::FindHeader(resp->headers, "Retry-After")) {
        if (auto d = http::ParseRetryAfter(*h, Now())) wait = *d;
      }
      last = absl::StrCat("throttled (429 ", ParseError(resp->body).code, ", Retry-After ",
                          absl::FormatDuration(wait), ")");
    } else if (code >= 500 || code == 408) {
      const GraphError e = ParseError(resp->body);
      last = absl::StrCat("HTTP ", code, " ", e.code, ": ", e.message);
      if (!idempotent) break;
    } else {
      return Reply{code, std::move(resp->body), std::move(resp->headers)};
    }
    if (Now() + wait > deadline) break;
    Sleep(wait);
  }
  return absl::UnavailableError(absl::StrCat("Microsoft Graph ", method, " ", http::RedactUrl(url),
                                             " for mailbox ", mailbox, " failed: ", last,
                                             "; the delivery is retried later"));
}

namespace {

// A refusal of a mailbox request as a status: no mailbox is permanent, the rest says what to fix.
absl::Status Refused(int status, const std::string& body, absl::string_view what,
                     const std::string& mailbox) {
  const GraphError e = ParseError(body);
  const std::string detail = absl::StrCat("HTTP ", status, " ", e.code, ": ", e.message);
  if (e.code == "MailboxNotEnabledForRESTAPI" || e.code == "ErrorInvalidUser" ||
      e.code == "Request_ResourceNotFound" || e.code == "ResourceNotFound") {
    return absl::NotFoundError(
        absl::StrCat("Microsoft 365 user ", mailbox, " has no mailbox Graph can reach (", detail,
                     "); check the mapping or the user's Exchange Online licence"));
  }
  if (status == 401 || status == 403) {
    // The app's permissions, not the item: waits for them to be granted.
    return absl::UnavailableError(
        absl::StrCat("Graph refused to ", what, " for ", mailbox, " (", detail,
                     "); the app registration needs the Mail.ReadWrite application permission; "
                     "retried until it has it"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("Graph refused to ", what, " for ", mailbox, " (", detail, ")"));
}

}  // namespace

absl::StatusOr<std::string> GraphTarget::FolderId(const std::string& user, absl::Time deadline) {
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = folder_ids_.find(user); it != folder_ids_.end()) return it->second;
  }
  const std::string children =
      absl::StrCat(api_, "/users/", http::PercentEncode(user), "/mailFolders/inbox/childFolders");
  const std::string lookup = absl::StrCat(
      children,
      "?$filter=", http::PercentEncode(absl::StrCat("displayName eq ", Quote(kZoomFolderName))));
  // find, else create; a concurrent creation (409 ErrorFolderExists) means: find again.
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<Reply> found = Send(user, "GET", lookup, "", {}, true, deadline);
    if (!found.ok()) return found.status();
    if (found->status != 200) {
      return Refused(found->status, found->body, "list the inbox's folders", user);
    }
    absl::StatusOr<json::Value> list = json::Parse(found->body, "Graph childFolders answer");
    if (!list.ok()) return absl::UnavailableError(list.status().message());
    std::string id;
    for (const json::Value& f : json::Array(*list, "value")) {
      if (absl::EqualsIgnoreCase(json::String(f, "displayName"), kZoomFolderName)) {
        id = json::String(f, "id");
      }
    }
    if (id.empty() && round == 0) {
      json::Value folder = json::Value::Object();
      folder["displayName"] = json::Str(kZoomFolderName);
      absl::StatusOr<Reply> created = Send(user, "POST", children, json::Serialize(folder),
                                           {{"Content-Type", "application/json"}}, true, deadline);
      if (!created.ok()) return created.status();
      if (created->status == 201 || created->status == 200) {
        absl::StatusOr<json::Value> f = json::Parse(created->body, "Graph mailFolder");
        if (f.ok()) id = json::String(*f, "id");
      } else if (created->status != 409) {
        return Refused(created->status, created->body, "create Inbox/Zoom Meetings", user);
      }
      if (id.empty()) continue;  // 409 ErrorFolderExists: someone else made it; look it up
      log::Info(kComponent, "created Inbox/Zoom Meetings", {{"mailbox", user}});
    }
    if (id.empty()) break;
    absl::MutexLock lock(&mutex_);
    folder_ids_[user] = id;
    return id;
  }
  return absl::UnavailableError(absl::StrCat("Graph said Inbox/Zoom Meetings exists in ", user,
                                             " but does not list it; retried later"));
}

absl::StatusOr<std::string> GraphTarget::CreateMessage(const std::string& user,
                                                       const std::string& folder,
                                                       const std::string& mime,
                                                       absl::Time received,
                                                       absl::Time deadline) {
  std::string body = crypto::Base64Encode(mime);
  std::string content_type = "text/plain";
  if (options_.received) {
    absl::StatusOr<std::string> message = GraphMessageJson(mime, received);
    if (!message.ok()) return message.status();
    body = *std::move(message);
    content_type = "application/json";
  }
  absl::StatusOr<Reply> reply =
      Send(user, "POST",
           absl::StrCat(api_, "/users/", http::PercentEncode(user), "/mailFolders/",
                        http::PercentEncode(folder), "/messages"),
           body, {{"Content-Type", content_type}}, true, deadline);
  if (!reply.ok()) return reply.status();
  if (reply->status != 201 && reply->status != 200) {
    return Refused(reply->status, reply->body, "create the message", user);
  }
  absl::StatusOr<json::Value> created = json::Parse(reply->body, "Graph message");
  const std::string id = created.ok() ? json::String(*created, "id") : "";
  if (id.empty()) return absl::UnavailableError("Graph's created message has no id");
  return id;
}

namespace {

// PUTs decoded attachment bytes to an upload session in chunks of a fixed size.
class UploadSink final : public io::ByteSink {
 public:
  using PutFn = std::function<absl::Status(uint64_t first, const std::string& chunk)>;
  UploadSink(uint64_t chunk_bytes, PutFn put) : chunk_bytes_(chunk_bytes), put_(std::move(put)) {}
  absl::Status Write(absl::string_view bytes) override {
    while (!bytes.empty()) {
      const size_t n = std::min<size_t>(bytes.size(), chunk_bytes_ - buffer_.size());
      buffer_.append(bytes.data(), n);
      bytes.remove_prefix(n);
      if (buffer_.size() == chunk_bytes_) {
        if (absl::Status s = Flush(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  absl::Status Close() override { return Flush(); }
  uint64_t sent() const { return sent_; }

 private:
  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    if (absl::Status s = put_(sent_, buffer_); !s.ok()) return s;
    sent_ += buffer_.size();
    buffer_.clear();
    return absl::OkStatus();
  }
  const uint64_t chunk_bytes_;
  PutFn put_;
  std::string buffer_;
  uint64_t sent_ = 0;
};

}  // namespace

absl::Status GraphTarget::AddAttachments(const std::string& user, const std::string& message_id,
                                         const DeliveryRequest& request, const Plan& plan,
                                         absl::Time deadline) {
  const std::string message_url = absl::StrCat(api_, "/users/", http::PercentEncode(user),
                                               "/messages/", http::PercentEncode(message_id));
  for (const RemovedAttachment& a : plan.removed) {
    absl::StatusOr<std::unique_ptr<io::ByteSource>> source = request.open();
    if (!source.ok()) return source.status();
    if (a.size < options_.upload_session_min) {
      io::StringSink bytes;
      if (absl::Status s = DecodePart(**source, a.part, bytes); !s.ok()) return s;
      json::Value att = json::Value::Object();
      att["@odata.type"] = json::Str("#microsoft.graph.fileAttachment");
      att["name"] = json::Str(a.name);
      att["contentType"] = json::Str(a.content_type);
      att["contentBytes"] = json::Str(crypto::Base64Encode(bytes.data()));
      absl::StatusOr<Reply> reply =
          Send(user, "POST", message_url + "/attachments", json::Serialize(att),
               {{"Content-Type", "application/json"}}, true, deadline);
      if (!reply.ok()) return reply.status();
      if (reply->status != 201 && reply->status != 200) {
        return Refused(reply->status, reply->body, absl::StrCat("attach ", a.name), user);
      }
      continue;
    }
    json::Value item = json::Value::Object();
    item["attachmentType"] = json::Str("file");
    item["name"] = json::Str(a.name);
    item["size"] = json::Value::Number(static_cast<uint64_t>(a.size));
    item["contentType"] = json::Str(a.content_type);
    json::Value session_request = json::Value::Object();
    session_request["AttachmentItem"] = std::move(item);
    absl::StatusOr<Reply> session = Send(
        user, "POST", message_url + "/attachments/createUploadSession",
        json::Serialize(session_request), {{"Content-Type", "application/json"}}, true, deadline);
    if (!session.ok()) return session.status();
    if (session->status != 201 && session->status != 200) {
      return Refused(session->status, session->body,
                     absl::StrCat("open an upload session for ", a.name), user);
    }
    absl::StatusOr<json::Value> parsed = json::Parse(session->body, "Graph uploadSession");
    const std::string upload_url = parsed.ok() ? json::String(*parsed, "uploadUrl") : "";
    if (upload_url.empty())
      return absl::UnavailableError("Graph's upload session has no uploadUrl");
    UploadSink sink(options_.chunk_bytes, [&](uint64_t first, const std::string& chunk) {
      // The upload URL carries its own credential: no bearer token goes there.
      absl::StatusOr<Reply> put =
          Send(user, "PUT", upload_url, chunk,
               {{"Content-Type", "application/octet-stream"},
                {"Content-Range",
                 absl::StrCat("bytes ", first, "-", first + chunk.size() - 1, "/", a.size)}},
               false, Now() + options_.patience);
      if (!put.ok()) {
        return absl::Status(put.status().code(),
                            absl::StrCat("uploading ", a.name, ": ", put.status().message()));
      }
      if (put->status != 200 && put->status != 201 && put->status != 202) {
        // A refused chunk (session expired or gone, range out of step) is cured by starting
        // the message over, which the retry does.
        const GraphError e = ParseError(put->body);
        return absl::UnavailableError(absl::StrCat("Graph refused a chunk of ", a.name, " for ",
                                                   user, " (HTTP ", put->status, " ", e.code, ": ",
                                                   e.message, "); the delivery is retried"));
      }
      return absl::OkStatus();
    });
    if (absl::Status s = DecodePart(**source, a.part, sink); !s.ok()) return s;
    if (absl::Status s = sink.Close(); !s.ok()) return s;
    if (sink.sent() != a.size) {
      return absl::DataLossError(absl::StrCat("attachment ", a.name, " decoded to ", sink.sent(),
                                              " bytes on the second read, ", a.size,
                                              " on the first: the message changed between reads"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DeliveryOutcome> GraphTarget::Deliver(const DeliveryRequest& request) {
  const std::string user = request.mailbox_id.empty() ? request.mailbox : request.mailbox_id;
  if (request.size > options_.max_message_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("the message is ", request.size, " bytes, over Exchange Online's limit of ",
                     options_.max_message_bytes, " bytes; it stays in the archive only"));
  }
  const absl::Time deadline = Now() + options_.patience;
  absl::StatusOr<std::string> folder = FolderId(user, deadline);
  if (!folder.ok()) return folder.status();

  const std::string messages_url =
      absl::StrCat(api_, "/users/", http::PercentEncode(user), "/mailFolders/",
                   http::PercentEncode(*folder), "/messages");
  const std::string filter =
      absl::StrCat("internetMessageId eq ", Quote(absl::StrCat("<", request.message_id, ">")));
  absl::StatusOr<Reply> found =
      Send(user, "GET",
           absl::StrCat(messages_url, "?$filter=", http::PercentEncode(filter), "&$select=id"), "",
           {}, true, deadline);
  if (!found.ok()) return found.status();
  if (found->status == 404 && ParseError(found->body).code == "ErrorItemNotFound") {
    // The cached folder was deleted: find or create it again on the retry.
    absl::MutexLock lock(&mutex_);
    folder_ids_.erase(user);
    return absl::UnavailableError(
        absl::StrCat("Inbox/Zoom Meetings of ", user, " disappeared; the delivery is retried"));
  }
  if (found->status != 200) return Refused(found->status, found->body, "search the folder", user);
  absl::StatusOr<json::Value> list = json::Parse(found->body, "Graph messages answer");
  if (!list.ok()) return absl::UnavailableError(list.status().message());
  std::vector<std::string> existing;
  for (const json::Value& m : json::Array(*list, "value")) {
    if (std::string id = json::String(m, "id"); !id.empty()) existing.push_back(std::move(id));
  }

  std::string mime;
  Plan plan;
  bool prepared = false;
  if (!existing.empty()) {
    // A message posted whole was created by one request: it is complete if it is there.
    if (request.size <= options_.direct_post_limit) return DeliveryOutcome::kAlreadyThere;
    if (absl::Status s = Prepare(request, &mime, &plan); !s.ok()) return s;
    prepared = true;
    bool complete = false;
    std::vector<std::string> incomplete;
    for (const std::string& id : existing) {
      absl::StatusOr<bool> ok = IsComplete(user, id, plan, deadline);
      if (!ok.ok()) return ok.status();
      // A complete second copy is left alone: deleting from a mailbox is for our own debris only.
      if (*ok) {
        complete = true;
      } else {
        incomplete.push_back(id);
      }
    }
    for (const std::string& id : incomplete) {
      log::Warn(kComponent, "removing a copy of the message that lacks an attachment",
                {{"mailbox", request.mailbox},
                 {"message_id", request.message_id},
                 {"graph_id", id},
                 {"complete_copy_exists", complete}});
      if (absl::Status s = DeleteMessage(user, id, deadline); !s.ok()) return s;
    }
    if (complete) return DeliveryOutcome::kAlreadyThere;
  }
  if (!prepared) {
    if (absl::Status s = Prepare(request, &mime, &plan); !s.ok()) return s;
  }
  // The whole message's budget is taken at once, so that no wait for budget can come between
  // creating the message and adding its attachments.
  uint64_t upload = mime.size();
  for (const RemovedAttachment& a : plan.removed) upload += a.size;
  if (absl::Status s = limiter_.ChargeUpload(user, upload, deadline); !s.ok()) {
    return absl::IsInvalidArgument(s) ? absl::FailedPreconditionError(s.message()) : s;
  }
  absl::StatusOr<std::string> message_id =
      CreateMessage(user, *folder, mime, request.internal_date, deadline);
  if (!message_id.ok()) return message_id.status();
  if (plan.removed.empty()) return DeliveryOutcome::kDelivered;

  absl::Status added = AddAttachments(user, *message_id, request, plan, deadline);
  if (added.ok()) return DeliveryOutcome::kDelivered;
  // Take the incomplete message away so that the retry starts over. Should this fail, the retry
  // finds the message incomplete and replaces it.
  if (absl::Status s = DeleteMessage(user, *message_id, Now() + options_.patience); !s.ok()) {
    log::Error(kComponent,
               "a message is in the mailbox without all its attachments and could not be removed; "
               "the retry replaces it",
               {{"mailbox", request.mailbox},
                {"message_id", request.message_id},
                {"error", added},
                {"delete_error", s}});
  }
  return added;
}

absl::Status GraphTarget::Prepare(const DeliveryRequest& request, std::string* mime, Plan* plan) {
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = request.open();
  if (!source.ok()) return source.status();
  if (request.size <= options_.direct_post_limit) {
    absl::StatusOr<std::string> all = io::ReadAll(**source, options_.direct_post_limit);
    if (!all.ok()) return all.status();
    *mime = *std::move(all);
    return absl::OkStatus();
  }
  absl::StatusOr<SplitMessage> split =
      SplitLargeAttachments(**source, options_.keep_attachment_limit, options_.direct_post_limit);
  if (!split.ok()) return split.status();
  *mime = std::move(split->skeleton);
  plan->removed = std::move(split->removed);
  return absl::OkStatus();
}

absl::StatusOr<bool> GraphTarget::IsComplete(const std::string& user, const std::string& message_id,
                                             const Plan& plan, absl::Time deadline) {
  if (plan.removed.empty()) return true;
  // learn.microsoft.com/graph/api/message-list-attachments: fileAttachment {id, name, size}.
  std::string url = absl::StrCat(api_, "/users/", http::PercentEncode(user), "/messages/",
                                 http::PercentEncode(message_id),
                                 "/attachments?$select=", http::PercentEncode("id,name,size"));
  std::vector<std::pair<std::string, uint64_t>> present;
  while (!url.empty()) {
    absl::StatusOr<Reply> reply = Send(user, "GET", url, "", {}, true, deadline);
    if (!reply.ok()) return reply.status();
    if (reply->status == 404 && ParseError(reply->body).code == "ErrorItemNotFound") {
      return absl::UnavailableError(
          absl::StrCat("message ", message_id, " of ", user,
                       " disappeared while its attachments were listed; the delivery is retried"));
    }
    if (reply->status != 200) {
      return Refused(reply->status, reply->body, "list a message's attachments", user);
    }
    absl::StatusOr<json::Value> list = json::Parse(reply->body, "Graph attachments answer");
    if (!list.ok()) return absl::UnavailableError(list.status().message());
    for (const json::Value& a : json::Array(*list, "value")) {
      const int64_t size = json::Int(a, "size", -1);
      if (size >= 0) present.emplace_back(json::String(a, "name"), static_cast<uint64_t>(size));
    }
    url = json::String(*list, "@odata.nextLink");
    // The link is data from the answer: the token follows it only to the configured Graph.
    if (!url.empty()) {
      if (absl::Status s = http::CheckSameOrigin(url, options_.credentials.api_url,
                                                 "Graph's next page of attachments",
                                                 "graph.api_url");
          !s.ok()) {
        return s;
      }
    }
  }
  // Each expected attachment must match a distinct listed one. Exchange may report a size a
  // little above the content's (it counts the attachment's properties), never below it.
  for (const RemovedAttachment& want : plan.removed) {
    auto it = std::find_if(present.begin(), present.end(), [&](const auto& p) {
      return p.first == want.name && p.second >= want.size;
    });
    if (it == present.end()) return false;
    present.erase(it);
  }
  return true;
}

absl::Status GraphTarget::DeleteMessage(const std::string& user, const std::string& message_id,
                                        absl::Time deadline) {
  absl::StatusOr<Reply> reply = Send(user, "DELETE",
                                     absl::StrCat(api_, "/users/", http::PercentEncode(user),
                                                  "/messages/", http::PercentEncode(message_id)),
                                     "", {}, true, deadline);
  if (!reply.ok()) return reply.status();
  if (reply->status == 204 || reply->status == 200) return absl::OkStatus();
  if (reply->status == 404 && ParseError(reply->body).code == "ErrorItemNotFound") {
    return absl::OkStatus();
  }
  return Refused(reply->status, reply->body, "delete an incomplete message", user);
}

}  // namespace zarc::importer
