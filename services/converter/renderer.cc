#include "services/converter/renderer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "runtime/crypto/digest.h"
#include "services/converter/base64_stream.h"
#include "services/converter/chat_json.h"
#include "services/converter/chat_txt.h"
#include "services/converter/mime_header.h"
#include "services/converter/vtt.h"

namespace zarc::converter {
namespace {

using ::zarc::v1::Artifact;
using ::zarc::v1::ArtifactKind;

constexpr size_t kMaxHeaderNameChars = 200;
constexpr size_t kMaxFileNameChars = 200;
constexpr size_t kReadChunk = 256 * 1024;
constexpr absl::string_view kPreamble = "This is a multi-part message in MIME format.\r\n";

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

bool IsSet(const google::protobuf::Timestamp& t) { return t.seconds() != 0 || t.nanos() != 0; }

std::string FormatUtc(absl::Time t) {
  return absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone()), " UTC");
}

// RFC 5322 §3.3 date-time in UTC, with English names whatever the process locale.
std::string Rfc5322Date(absl::Time t) {
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const absl::TimeZone::CivilInfo civil = absl::UTCTimeZone().At(t);
  const int weekday = static_cast<int>(absl::GetWeekday(civil.cs));  // Monday == 0
  return absl::StrCat(kDays[weekday], ", ", absl::FormatTime("%d ", t, absl::UTCTimeZone()),
                      kMonths[civil.cs.month() - 1],
                      absl::FormatTime(" %Y %H:%M:%S +0000", t, absl::UTCTimeZone()));
}

std::string FormatOffset(absl::Duration d, bool millis) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t total_ms = absl::ToInt64Milliseconds(d);
  const int64_t s = total_ms / 1000;
  std::string out = absl::StrFormat("%02d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  if (millis) absl::StrAppendFormat(&out, ".%03d", total_ms % 1000);
  return out;
}

std::string GroupDigits(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string FormatSize(uint64_t bytes) {
  std::string out = absl::StrCat(GroupDigits(bytes), " bytes");
  static constexpr const char* kUnits[] = {"KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1000 && unit < 3) {
    value /= 1000;
    ++unit;
  }
  if (unit >= 0) absl::StrAppendFormat(&out, " (%.1f %s)", value, kUnits[unit]);
  return out;
}

std::string KindLabel(ArtifactKind kind) {
  switch (kind) {
    case v1::ARTIFACT_KIND_CHAT_TXT:
      return "chat (text)";
    case v1::ARTIFACT_KIND_CHAT_JSON:
      return "chat (archived JSON)";
    case v1::ARTIFACT_KIND_TRANSCRIPT:
      return "transcript";
    case v1::ARTIFACT_KIND_CLOSED_CAPTION:
      return "closed captions";
    case v1::ARTIFACT_KIND_AUDIO:
      return "audio recording";
    case v1::ARTIFACT_KIND_VIDEO:
      return "video recording";
    case v1::ARTIFACT_KIND_TIMELINE:
      return "timeline";
    default:
      return "other file";
  }
}

std::string ContentTypeFor(const Artifact& a) {
  switch (a.kind()) {
    case v1::ARTIFACT_KIND_CHAT_TXT:
      return "text/plain; charset=utf-8";
    case v1::ARTIFACT_KIND_CHAT_JSON:
    case v1::ARTIFACT_KIND_TIMELINE:
      return "application/json";
    case v1::ARTIFACT_KIND_TRANSCRIPT:
    case v1::ARTIFACT_KIND_CLOSED_CAPTION:
      return "text/vtt; charset=utf-8";
    case v1::ARTIFACT_KIND_AUDIO:
      return "audio/mp4";
    case v1::ARTIFACT_KIND_VIDEO:
      return "video/mp4";
    default:
      break;
  }
  // Only a plain `type/subtype` from the blob store is trusted into a header.
  const std::string declared = absl::AsciiStrToLower(a.blob().content_type());
  const size_t slash = declared.find('/');
  bool ok = slash != std::string::npos && slash > 0 && slash + 1 < declared.size() &&
            declared.size() < 100;
  for (char c : declared) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' ||
                c == '+' || c == '-');
  }
  return ok ? declared : "application/octet-stream";
}

std::string DefaultExtension(ArtifactKind kind) {
  switch (kind) {
    case v1::ARTIFACT_KIND_CHAT_TXT:
      return ".txt";
    case v1::ARTIFACT_KIND_CHAT_JSON:
    case v1::ARTIFACT_KIND_TIMELINE:
      return ".json";
    case v1::ARTIFACT_KIND_TRANSCRIPT:
    case v1::ARTIFACT_KIND_CLOSED_CAPTION:
      return ".vtt";
    case v1::ARTIFACT_KIND_AUDIO:
      return ".m4a";
    case v1::ARTIFACT_KIND_VIDEO:
      return ".mp4";
    default:
      return ".bin";
  }
}

bool IsLowerHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      case '\r':
        break;
      case '\n':
        out.append("<br>");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Body text: valid UTF-8, no control characters but line breaks and tabs.
std::string BodyText(absl::string_view text) {
  std::string valid = ToValidUtf8(text);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\t' || u >= 0x20) {
      if (u != 0x7F) out.push_back(c);
    }
  }
  return out;
}

// Indents continuation lines of a multi-line text for the plain-text part.
std::string IndentLines(absl::string_view text, absl::string_view indent) {
  return absl::StrReplaceAll(BodyText(text), {{"\n", absl::StrCat("\r\n", indent)}});
}

std::string Excerpt(absl::string_view text) {
  std::string flat = SanitizeHeaderText(text, 60);
  if (flat.size() < SanitizeHeaderText(text).size()) flat.append("…");
  return flat;
}

// A Zoom file name as an attachment name: one header-safe path segment. A mail client that saves
// it under its own folder must never be led outside it ("../x", "/etc/x", "C:\\x").
std::string SafeFileName(absl::string_view raw) {
  std::string name = SanitizeHeaderText(raw, kMaxFileNameChars);
  for (char& c : name) {
    if (c == '/' || c == '\\' || c == ':') c = '_';
  }
  for (char& c : name) {
    if (c != '.') break;
    c = '_';
  }
  return name;
}

// One artifact and how it will appear.
struct ArtifactPlan {
  const Artifact* artifact = nullptr;
  std::string file_name;
  std::string content_type;
  v1::BlobRef blob;        // size and sha256 filled in
  bool available = false;  // has stored bytes
  bool attached = false;
  std::optional<std::string> bytes;  // read for parsing; reused when attaching
  std::string location;              // where an out-of-line artifact is kept
};

// A rendered chat line, the same for both chat formats.
struct ChatLine {
  std::string time;    // shown time
  std::string sender;  // display
  std::string target;  // "Everyone" or a name
  std::string marker;  // "", "private", "deleted", "edited", "reply", "reaction", "feedback"
  std::string text;
};

struct ChatSection {
  std::string file_name;
  std::vector<ChatLine> lines;
};

struct TranscriptSection {
  std::string title;  // "Transcript" or "Closed captions"
  std::string file_name;
  std::vector<VttCue> cues;
  std::optional<absl::Time> base;
};

struct ParticipantRow {
  std::string name;
  std::string email;  // or "guest"
  std::vector<std::string> intervals;
};

struct Body {
  std::string topic;
  std::string host;
  std::string start_utc, start_local, end_utc, end_local;
  std::string duration;
  std::string meeting_id, meeting_uuid, item_id, message_id;
  std::vector<ParticipantRow> participants;
  std::vector<ChatSection> chats;
  std::vector<TranscriptSection> transcripts;
  std::vector<std::string> problems;
};

std::string DisplayName(absl::string_view name, absl::string_view email) {
  std::string n = SanitizeHeaderText(name);
  if (n.empty()) n = SanitizeHeaderText(email);
  return n.empty() ? "(no name)" : n;
}

std::vector<ChatLine> ChatLinesFromTxt(const ParsedChat& chat, std::optional<absl::Time> base) {
  std::vector<ChatLine> lines;
  for (const ChatMessage& m : chat.messages) {
    ChatLine line;
    line.time = base.has_value() ? FormatUtc(*base + m.offset)
                                 : absl::StrCat("+", FormatOffset(m.offset, false));
    line.sender = m.sender.empty() ? "(unknown sender)" : SanitizeHeaderText(m.sender);
    line.target = m.recipient.empty() ? "Everyone" : SanitizeHeaderText(m.recipient);
    line.marker = m.is_private ? "private" : "";
    line.text = BodyText(m.text);
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<ChatLine> ChatLinesFromJson(const ParsedArchivedChat& chat) {
  std::map<std::string, const ArchivedChatMessage*> by_id;
  for (const ArchivedChatMessage& m : chat.messages) {
    if (!m.id.empty()) by_id.emplace(m.id, &m);
  }
  auto describe = [&](const std::string& id) -> std::string {
    auto it = by_id.find(id);
    if (id.empty()) return "a message";
    if (it == by_id.end()) return absl::StrCat("message ", SanitizeHeaderText(id, 80));
    return absl::StrCat(DisplayName(it->second->sender_name, it->second->sender_email),
                        "'s message \"", Excerpt(it->second->content), "\"");
  };
  std::vector<ChatLine> lines;
  for (const ArchivedChatMessage& m : chat.messages) {
    ChatLine line;
    line.time = m.time.has_value() ? FormatUtc(*m.time) : "(no time)";
    line.sender = DisplayName(m.sender_name, m.sender_email);
    if (!m.sender_email.empty() && !m.sender_name.empty()) {
      absl::StrAppend(&line.sender, " <", SanitizeHeaderText(m.sender_email), ">");
    }
    line.target = m.recipient_name.empty() && m.recipient_email.empty()
                      ? "Everyone"
                      : DisplayName(m.recipient_name, m.recipient_email);
    std::string text = BodyText(m.content);
    switch (static_cast<ArchivedMessageType>(m.msg_type)) {
      case ArchivedMessageType::kPublic:
        break;
      case ArchivedMessageType::kPrivate:
        line.marker = "private";
        break;
      case ArchivedMessageType::kDeleted:
        line.marker = "deleted";
        text = absl::StrCat("deleted ", describe(m.original_id),
                            text.empty() ? "" : absl::StrCat(": ", text));
        break;
      case ArchivedMessageType::kReaction:
        line.marker = "reaction";
        text = absl::StrCat("reacted ", text, " to ", describe(m.parent_id));
        break;
      case ArchivedMessageType::kNonverbalFeedback:
        line.marker = "feedback";
        text = absl::StrCat("nonverbal feedback: ", text);
        break;
      case ArchivedMessageType::kEdited:
        line.marker = "edited";
        text = absl::StrCat(text, "\n(edit of ", describe(m.original_id), ")");
        break;
      case ArchivedMessageType::kReply:
        line.marker = "reply";
        text = absl::StrCat(text, "\n(reply to ", describe(m.parent_id), ")");
        break;
      default:
        line.marker = absl::StrCat("message type ", m.msg_type);
        break;
    }
    if (!m.files.empty()) {
      std::vector<std::string> names;
      for (const std::string& f : m.files) names.push_back(SanitizeHeaderText(f));
      absl::StrAppend(&text, "\n(files: ", absl::StrJoin(names, ", "), ")");
    }
    line.text = std::move(text);
    lines.push_back(std::move(line));
  }
  return lines;
}

// Writes small strings to a sink, keeping its first error.
class Writer {
 public:
  explicit Writer(io::ByteSink& sink) : sink_(sink) {}
  Writer& operator<<(absl::string_view text) {
    if (status_.ok()) status_ = sink_.Write(text);
    return *this;
  }
  const absl::Status& status() const { return status_; }

 private:
  io::ByteSink& sink_;
  absl::Status status_;
};

std::string TextMarker(const std::string& marker) {
  return marker.empty() ? "" : absl::StrCat(" [", marker, "]");
}

std::string Placement(const ArtifactPlan& p) {
  if (!p.available) return "not captured: no stored file";
  if (p.attached) return "attached";
  return absl::StrCat("kept in the archive at ", p.location);
}

void WriteTextBody(const Body& b, const std::vector<ArtifactPlan>& plans, Writer& w) {
  w << "Zoom meeting: " << b.topic << "\r\n\r\n";
  w << "Topic:        " << b.topic << "\r\n";
  w << "Host:         " << b.host << "\r\n";
  w << "Start:        " << b.start_utc << "\r\n";
  if (!b.start_local.empty()) w << "              " << b.start_local << "\r\n";
  w << "End:          " << b.end_utc << "\r\n";
  if (!b.end_local.empty()) w << "              " << b.end_local << "\r\n";
  w << "Duration:     " << b.duration << "\r\n";
  w << "Meeting ID:   " << b.meeting_id << "\r\n";
  w << "Meeting UUID: " << b.meeting_uuid << "\r\n";
  w << "Archive item: " << b.item_id << "\r\n";
  w << "Message-ID:   <" << b.message_id << ">\r\n";

  w << "\r\nParticipants (" << absl::StrCat(b.participants.size()) << ")\r\n";
  for (const ParticipantRow& p : b.participants) {
    w << "- " << p.name << " (" << p.email << ")\r\n";
    for (const std::string& interval : p.intervals) w << "    " << interval << "\r\n";
  }
  for (const ChatSection& chat : b.chats) {
    w << "\r\nChat from " << chat.file_name << " (" << absl::StrCat(chat.lines.size())
      << " messages)\r\n";
    for (const ChatLine& line : chat.lines) {
      w << "[" << line.time << "] " << line.sender << " to " << line.target
        << TextMarker(line.marker) << ": " << IndentLines(line.text, "    ") << "\r\n";
    }
  }
  for (const TranscriptSection& t : b.transcripts) {
    w << "\r\n"
      << t.title << " from " << t.file_name << " (" << absl::StrCat(t.cues.size()) << " cues)\r\n";
    for (const VttCue& cue : t.cues) {
      w << "[" << FormatOffset(cue.start, true) << " - " << FormatOffset(cue.end, true) << "] ";
      if (!cue.speaker.empty()) w << SanitizeHeaderText(cue.speaker) << ": ";
      w << IndentLines(cue.text, "    ") << "\r\n";
    }
  }
  w << "\r\nArtifacts (" << absl::StrCat(plans.size()) << ")\r\n";
  for (const ArtifactPlan& p : plans) {
    w << "- " << p.file_name << " - " << KindLabel(p.artifact->kind()) << ", "
      << FormatSize(p.blob.size()) << "\r\n";
    w << "    SHA-256 " << (p.blob.sha256().empty() ? "unknown" : p.blob.sha256()) << "\r\n";
    w << "    " << Placement(p) << "\r\n";
  }
  if (!b.problems.empty()) {
    w << "\r\nProblems (" << absl::StrCat(b.problems.size()) << ")\r\n";
    for (const std::string& problem : b.problems) w << "- " << problem << "\r\n";
  }
}

void WriteHtmlBody(const Body& b, const std::vector<ArtifactPlan>& plans, Writer& w) {
  const auto e = [](absl::string_view s) { return HtmlEscape(s); };
  w << "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>" << e(b.topic)
    << "</title></head>\r\n<body style=\"font-family:sans-serif\">\r\n";
  w << "<h1>" << e(b.topic) << "</h1>\r\n<table>\r\n";
  const auto row = [&](absl::string_view label, absl::string_view value) {
    w << "<tr><th align=\"left\">" << label << "</th><td>" << e(value) << "</td></tr>\r\n";
  };
  row("Host", b.host);
  row("Start",
      b.start_local.empty() ? b.start_utc : absl::StrCat(b.start_utc, "\n", b.start_local));
  row("End", b.end_local.empty() ? b.end_utc : absl::StrCat(b.end_utc, "\n", b.end_local));
  row("Duration", b.duration);
  row("Meeting ID", b.meeting_id);
  row("Meeting UUID", b.meeting_uuid);
  row("Archive item", b.item_id);
  row("Message-ID", absl::StrCat("<", b.message_id, ">"));
  w << "</table>\r\n";

  w << "<h2>Participants (" << absl::StrCat(b.participants.size()) << ")</h2>\r\n"
    << "<table border=\"1\" cellpadding=\"4\"><tr><th>Name</th><th>Email</th>"
    << "<th>Joined and left</th></tr>\r\n";
  for (const ParticipantRow& p : b.participants) {
    w << "<tr><td>" << e(p.name) << "</td><td>" << e(p.email) << "</td><td>"
      << e(absl::StrJoin(p.intervals, "\n")) << "</td></tr>\r\n";
  }
  w << "</table>\r\n";
  for (const ChatSection& chat : b.chats) {
    w << "<h2>Chat from " << e(chat.file_name) << " (" << absl::StrCat(chat.lines.size())
      << " messages)</h2>\r\n<table border=\"1\" cellpadding=\"4\"><tr><th>Time</th>"
      << "<th>From</th><th>To</th><th>Kind</th><th>Message</th></tr>\r\n";
    for (const ChatLine& line : chat.lines) {
      w << "<tr><td>" << e(line.time) << "</td><td>" << e(line.sender) << "</td><td>"
        << e(line.target) << "</td><td>" << e(line.marker) << "</td><td>" << e(line.text)
        << "</td></tr>\r\n";
    }
    w << "</table>\r\n";
  }
  for (const TranscriptSection& t : b.transcripts) {
    w << "<h2>" << t.title << " from " << e(t.file_name) << " (" << absl::StrCat(t.cues.size())
      << " cues)</h2>\r\n<table border=\"1\" cellpadding=\"4\"><tr><th>Time</th>"
      << "<th>Speaker</th><th>Words</th></tr>\r\n";
    for (const VttCue& cue : t.cues) {
      w << "<tr><td>" << FormatOffset(cue.start, true) << " - " << FormatOffset(cue.end, true)
        << "</td><td>" << e(SanitizeHeaderText(cue.speaker)) << "</td><td>" << e(BodyText(cue.text))
        << "</td></tr>\r\n";
    }
    w << "</table>\r\n";
  }
  w << "<h2>Artifacts (" << absl::StrCat(plans.size()) << ")</h2>\r\n"
    << "<table border=\"1\" cellpadding=\"4\"><tr><th>File</th><th>Kind</th><th>Size</th>"
    << "<th>SHA-256</th><th>In this message</th></tr>\r\n";
  for (const ArtifactPlan& p : plans) {
    w << "<tr><td>" << e(p.file_name) << "</td><td>" << KindLabel(p.artifact->kind()) << "</td><td>"
      << FormatSize(p.blob.size()) << "</td><td><code>"
      << (p.blob.sha256().empty() ? "unknown" : p.blob.sha256()) << "</code></td><td>"
      << e(Placement(p)) << "</td></tr>\r\n";
  }
  w << "</table>\r\n";
  if (!b.problems.empty()) {
    w << "<h2>Problems (" << absl::StrCat(b.problems.size()) << ")</h2>\r\n<ul>\r\n";
    for (const std::string& problem : b.problems) w << "<li>" << e(problem) << "</li>\r\n";
    w << "</ul>\r\n";
  }
  w << "</body></html>\r\n";
}

struct Layout {
  std::string headers;  // top-level headers, through the blank line
  std::string mixed_boundary;
  std::string alternative_boundary;
};

std::string AttachmentHeaders(const ArtifactPlan& p) {
  return absl::StrCat(
      ParameterizedHeader("Content-Type", p.content_type,
                          {FormatParam("name", AsciiFileNameFallback(p.file_name))}),
      ParameterizedHeader("Content-Disposition", "attachment",
                          FileNameParams("filename", p.file_name)),
      "Content-Transfer-Encoding: base64\r\n\r\n");
}

absl::Status WriteBodyPart(const Body& body, const std::vector<ArtifactPlan>& plans, bool html,
                           io::ByteSink& out) {
  Base64LineSink encoder(out);
  Writer w(encoder);
  if (html) {
    WriteHtmlBody(body, plans, w);
  } else {
    WriteTextBody(body, plans, w);
  }
  if (!w.status().ok()) return w.status();
  return encoder.Close();
}

// Streams one artifact through base64 into `out`, checking its bytes against the BlobRef.
absl::Status WriteAttachment(const ArtifactPlan& p, const ArtifactOpener& opener,
                             io::ByteSink& out) {
  Base64LineSink encoder(out);
  crypto::Sha256 hash;
  if (p.bytes.has_value()) {
    hash.Update(*p.bytes);
    if (absl::Status s = encoder.Write(*p.bytes); !s.ok()) return s;
  } else {
    absl::StatusOr<std::unique_ptr<io::ByteSource>> source = opener(p.blob);
    if (!source.ok()) {
      return absl::Status(source.status().code(),
                          absl::StrCat("cannot open artifact ", p.file_name, " (", p.blob.uri(),
                                       "): ", source.status().message()));
    }
    std::string buffer(kReadChunk, '\0');
    while (true) {
      absl::StatusOr<size_t> n = (*source)->Read(buffer.data(), buffer.size());
      if (!n.ok()) {
        return absl::Status(n.status().code(),
                            absl::StrCat("reading artifact ", p.file_name, " (", p.blob.uri(),
                                         ") failed: ", n.status().message()));
      }
      if (*n == 0) break;
      const absl::string_view chunk(buffer.data(), *n);
      hash.Update(chunk);
      if (absl::Status s = encoder.Write(chunk); !s.ok()) return s;
    }
  }
  if (absl::Status s = encoder.Close(); !s.ok()) return s;
  const std::string sha = hash.FinishHex();
  if (encoder.bytes_in() != p.blob.size() || sha != p.blob.sha256()) {
    return absl::DataLossError(
        absl::StrCat("artifact ", p.file_name, " (", p.blob.uri(), ") has ", encoder.bytes_in(),
                     " bytes with SHA-256 ", sha, " but its BlobRef says ", p.blob.size(),
                     " bytes with SHA-256 ", p.blob.sha256(),
                     "; the blob store copy is not the captured file, re-capture the meeting"));
  }
  return absl::OkStatus();
}

// Writes the whole message; with `dry_run` attachments are not read and only sized, and the
// returned size counts them.
absl::StatusOr<uint64_t> WriteMessage(const Layout& layout, const Body& body,
                                      const std::vector<ArtifactPlan>& plans,
                                      const ArtifactOpener& opener, io::ByteSink& out,
                                      bool dry_run) {
  uint64_t attachments = 0;
  CountingSink counter;
  io::ByteSink& sink = dry_run ? static_cast<io::ByteSink&>(counter) : out;
  const std::string mixed = absl::StrCat("--", layout.mixed_boundary);
  const std::string alternative = absl::StrCat("--", layout.alternative_boundary);
  Writer w(sink);
  w << layout.headers << kPreamble << "\r\n"
    << mixed << "\r\n"
    << ParameterizedHeader("Content-Type", "multipart/alternative",
                           {FormatParam("boundary", layout.alternative_boundary)})
    << "\r\n";
  for (bool html : {false, true}) {
    w << alternative << "\r\n"
      << ParameterizedHeader("Content-Type", html ? "text/html" : "text/plain",
                             {FormatParam("charset", "utf-8")})
      << "Content-Transfer-Encoding: base64\r\n\r\n";
    if (!w.status().ok()) return w.status();
    if (absl::Status s = WriteBodyPart(body, plans, html, sink); !s.ok()) return s;
  }
  w << alternative << "--\r\n";
  for (const ArtifactPlan& p : plans) {
    if (!p.attached) continue;
    w << "\r\n" << mixed << "\r\n" << AttachmentHeaders(p);
    if (!w.status().ok()) return w.status();
    if (dry_run) {
      attachments += Base64LineSink::EncodedSize(p.blob.size());
    } else if (absl::Status s = WriteAttachment(p, opener, sink); !s.ok()) {
      return s;
    }
  }
  w << "\r\n" << mixed << "--\r\n";
  if (!w.status().ok()) return w.status();
  return counter.count() + attachments;
}

// Hashes and counts what passes through to the real sink.
class DigestSink final : public io::ByteSink {
 public:
  explicit DigestSink(io::ByteSink& out) : out_(out) {}
  absl::Status Write(absl::string_view bytes) override {
    hash_.Update(bytes);
    size_ += bytes.size();
    return out_.Write(bytes);
  }
  absl::Status Close() override { return absl::OkStatus(); }
  uint64_t size() const { return size_; }
  std::string FinishHex() { return hash_.FinishHex(); }

 private:
  io::ByteSink& out_;
  crypto::Sha256 hash_;
  uint64_t size_ = 0;
};

// Fills in size and SHA-256 by reading the blob once when the fetcher did not record them.
absl::Status CompleteBlobRef(ArtifactPlan& p, const ArtifactOpener& opener) {
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = opener(p.blob);
  if (!source.ok()) {
    return absl::Status(source.status().code(),
                        absl::StrCat("cannot open artifact ", p.file_name, " (", p.blob.uri(),
                                     ") to hash it: ", source.status().message()));
  }
  crypto::Sha256 hash;
  uint64_t size = 0;
  std::string buffer(kReadChunk, '\0');
  while (true) {
    absl::StatusOr<size_t> n = (*source)->Read(buffer.data(), buffer.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    hash.Update(absl::string_view(buffer.data(), *n));
    size += *n;
  }
  p.blob.set_size(size);
  p.blob.set_sha256(hash.FinishHex());
  return absl::OkStatus();
}

bool Parseable(ArtifactKind kind) {
  return kind == v1::ARTIFACT_KIND_CHAT_TXT || kind == v1::ARTIFACT_KIND_CHAT_JSON ||
         kind == v1::ARTIFACT_KIND_TRANSCRIPT || kind == v1::ARTIFACT_KIND_CLOSED_CAPTION;
}

bool ValidDomain(absl::string_view domain) { return IsValidAddress(absl::StrCat("x@", domain)); }

std::string LocalTimeLine(absl::Time t, const std::optional<absl::TimeZone>& zone,
                          absl::string_view zone_name) {
  if (!zone.has_value()) return "";
  return absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", t, *zone), " (", zone_name, ")");
}

}  // namespace

std::string MessageIdFor(absl::string_view account_id, absl::string_view meeting_uuid, int version,
                         absl::string_view domain) {
  const std::string digest =
      crypto::Sha256Hex(absl::StrCat(account_id, "|", meeting_uuid, "|", version));
  return absl::StrCat(digest.substr(0, 32), "@", domain);
}

absl::StatusOr<RenderedMessage> RenderMessage(const zarc::v1::MeetingCaptured& event,
                                              const RenderOptions& options,
                                              const ArtifactOpener& opener, io::ByteSink& out) {
  const v1::Meeting& meeting = event.meeting();
  if (meeting.uuid().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("meeting ", meeting.id(),
                     " has no UUID, so no stable Message-ID can be derived; the "
                     "fetcher must set meeting.uuid"));
  }
  if (!ValidDomain(options.message_id_domain)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message_id_domain \"", SanitizeHeaderText(options.message_id_domain, 100),
                     "\" is not a valid domain (letters, digits, '-' and '.'); fix the converter "
                     "configuration"));
  }
  RenderedMessage result;
  result.message_id = MessageIdFor(meeting.account_id(), meeting.uuid(), event.version(),
                                   options.message_id_domain);
  std::vector<std::string> problems(event.problems().begin(), event.problems().end());

  // Times.
  std::optional<absl::TimeZone> zone;
  if (!meeting.timezone().empty()) {
    absl::TimeZone tz;
    if (absl::LoadTimeZone(meeting.timezone(), &tz)) {
      zone = tz;
    } else {
      problems.push_back(absl::StrCat("time zone \"", SanitizeHeaderText(meeting.timezone(), 80),
                                      "\" is unknown; times are shown in UTC only"));
    }
  }
  absl::Time start = ToTime(meeting.start_time());
  if (!IsSet(meeting.start_time())) {
    start = IsSet(event.captured_at()) ? ToTime(event.captured_at()) : absl::UnixEpoch();
    problems.push_back("the meeting has no start time; Date shows when it was captured");
  }
  int64_t duration_minutes = meeting.duration_minutes();
  absl::Time end = ToTime(meeting.end_time());
  if (!IsSet(meeting.end_time()) || end < start) end = start + absl::Minutes(duration_minutes);
  if (duration_minutes <= 0) duration_minutes = absl::ToInt64Minutes(end - start);

  // People.
  const std::string host_name = SanitizeHeaderText(meeting.host_name(), kMaxHeaderNameChars);
  const std::string host_email = SanitizeHeaderText(meeting.host_email());
  Mailbox from{host_name, absl::AsciiStrToLower(host_email)};
  std::set<std::string> addresses;
  if (IsValidAddress(from.address)) {
    addresses.insert(from.address);
  } else {
    if (!host_email.empty()) {
      problems.push_back(absl::StrCat("host address \"", SanitizeHeaderText(host_email, 100),
                                      "\" is not a valid email address; From uses a placeholder"));
    }
    std::string local = "zoom-host";
    for (char c : absl::AsciiStrToLower(meeting.host_id())) {
      if (local.size() < 60 && absl::ascii_isalnum(static_cast<unsigned char>(c))) {
        if (local == "zoom-host") local.push_back('-');
        local.push_back(c);
      }
    }
    from.address = absl::StrCat(local, "@", options.message_id_domain);
  }
  std::vector<Mailbox> to;
  std::set<std::string> to_seen;
  Body body;
  for (int i = 0; i < event.participants_size(); ++i) {
    const v1::Participant& p = event.participants(i);
    const std::string email = SanitizeHeaderText(p.email());
    const std::string lower = absl::AsciiStrToLower(email);
    ParticipantRow row{DisplayName(p.name(), ""), email.empty() ? "guest" : email, {}};
    if (!email.empty() && !IsValidAddress(lower)) {
      problems.push_back(absl::StrCat("participant ", row.name, " has the address \"",
                                      SanitizeHeaderText(email, 100),
                                      "\", which is not a valid email address; left out of To"));
    } else if (!email.empty()) {
      addresses.insert(lower);
      if (to_seen.insert(lower).second) {
        to.push_back({SanitizeHeaderText(p.name(), kMaxHeaderNameChars), lower});
      }
    }
    for (const v1::JoinInterval& interval : p.intervals()) {
      row.intervals.push_back(absl::StrCat(
          "joined ", FormatUtc(ToTime(interval.join_time())), ", left ",
          IsSet(interval.leave_time()) ? FormatUtc(ToTime(interval.leave_time())) : "(unknown)"));
    }
    body.participants.push_back(std::move(row));
  }
  if (to.empty()) to.push_back(from);
  result.email_addresses.assign(addresses.begin(), addresses.end());

  // Artifacts: complete their BlobRefs, read and parse the small text ones.
  bool has_transcript = false;
  for (const Artifact& a : event.artifacts()) {
    has_transcript = has_transcript || a.kind() == v1::ARTIFACT_KIND_TRANSCRIPT;
  }
  std::vector<ArtifactPlan> plans;
  std::vector<ChatSection> txt_chats;
  std::vector<ChatSection> json_chats;
  for (const Artifact& a : event.artifacts()) {
    ArtifactPlan p;
    p.artifact = &a;
    p.blob = a.blob();
    p.file_name = SafeFileName(a.file_name());
    if (p.file_name.empty()) {
      p.file_name =
          absl::StrCat(absl::StrReplaceAll(absl::AsciiStrToLower(v1::ArtifactKind_Name(a.kind())),
                                           {{"artifact_kind_", ""}}),
                       "-", plans.size() + 1, DefaultExtension(a.kind()));
    }
    p.content_type = ContentTypeFor(a);
    p.available = !p.blob.uri().empty() || !p.blob.name().empty();
    p.location = SanitizeHeaderText(p.blob.uri().empty() ? p.blob.name() : p.blob.uri());
    if (!p.available) {
      problems.push_back(absl::StrCat(p.file_name, " (", KindLabel(a.kind()),
                                      ") has no stored file; it is listed but cannot be attached"));
      plans.push_back(std::move(p));
      continue;
    }
    if (!IsLowerHex64(p.blob.sha256())) {
      if (absl::Status s = CompleteBlobRef(p, opener); !s.ok()) return s;
    }
    const bool wanted =
        Parseable(a.kind()) && (a.kind() != v1::ARTIFACT_KIND_CLOSED_CAPTION || !has_transcript);
    if (wanted && p.blob.size() > options.parse_limit) {
      problems.push_back(absl::StrCat(p.file_name, " is ", FormatSize(p.blob.size()), ", over the ",
                                      FormatSize(options.parse_limit),
                                      " parse limit; it is not shown in the body"));
    } else if (wanted) {
      absl::StatusOr<std::unique_ptr<io::ByteSource>> source = opener(p.blob);
      if (!source.ok()) {
        return absl::Status(source.status().code(),
                            absl::StrCat("cannot open artifact ", p.file_name, " (", p.location,
                                         "): ", source.status().message()));
      }
      absl::StatusOr<std::string> bytes = io::ReadAll(**source, options.parse_limit);
      if (!bytes.ok()) {
        return absl::Status(bytes.status().code(),
                            absl::StrCat("reading artifact ", p.file_name, " (", p.location,
                                         ") failed: ", bytes.status().message()));
      }
      if (bytes->size() != p.blob.size() || crypto::Sha256Hex(*bytes) != p.blob.sha256()) {
        return absl::DataLossError(absl::StrCat(
            "artifact ", p.file_name, " (", p.location, ") does not match its BlobRef's size ",
            p.blob.size(), " and SHA-256 ", p.blob.sha256(),
            "; the blob store copy is not the captured file, re-capture the meeting"));
      }
      p.bytes = std::move(*bytes);
      const std::optional<absl::Time> base =
          IsSet(a.recording_start()) ? std::optional<absl::Time>(ToTime(a.recording_start()))
                                     : std::nullopt;
      std::vector<std::string> file_problems;
      absl::Status parsed;
      if (a.kind() == v1::ARTIFACT_KIND_CHAT_TXT) {
        absl::StatusOr<ParsedChat> chat = ParseChatTxt(*p.bytes, p.file_name);
        if (chat.ok()) {
          txt_chats.push_back({p.file_name, ChatLinesFromTxt(*chat, base)});
          file_problems = std::move(chat->problems);
        }
        parsed = chat.status();
      } else if (a.kind() == v1::ARTIFACT_KIND_CHAT_JSON) {
        absl::StatusOr<ParsedArchivedChat> chat = ParseChatJson(*p.bytes, p.file_name);
        if (chat.ok()) {
          json_chats.push_back({p.file_name, ChatLinesFromJson(*chat)});
          file_problems = std::move(chat->problems);
        }
        parsed = chat.status();
      } else {
        absl::StatusOr<ParsedVtt> vtt = ParseVtt(*p.bytes, p.file_name);
        if (vtt.ok()) {
          body.transcripts.push_back(
              {a.kind() == v1::ARTIFACT_KIND_TRANSCRIPT ? "Transcript" : "Closed captions",
               p.file_name, std::move(vtt->cues), base});
          file_problems = std::move(vtt->problems);
        }
        parsed = vtt.status();
      }
      if (!parsed.ok()) problems.push_back(std::string(parsed.message()));
      for (std::string& problem : file_problems) problems.push_back(std::move(problem));
    }
    p.attached = true;
    plans.push_back(std::move(p));
  }
  // The archived JSON carries more (private, edits, deletions, replies, reactions): when it could
  // be read, it is the chat shown; the text chat files are attached either way.
  body.chats = json_chats.empty() ? std::move(txt_chats) : std::move(json_chats);

  // Summary.
  body.topic = SanitizeHeaderText(meeting.topic());
  if (body.topic.empty()) body.topic = "(no topic)";
  body.host = host_name.empty() ? from.address : absl::StrCat(host_name, " <", from.address, ">");
  body.start_utc = FormatUtc(start);
  body.end_utc = FormatUtc(end);
  body.start_local = LocalTimeLine(start, zone, meeting.timezone());
  body.end_local = LocalTimeLine(end, zone, meeting.timezone());
  body.duration = absl::StrCat(duration_minutes, duration_minutes == 1 ? " minute" : " minutes");
  body.meeting_id = absl::StrCat(meeting.id());
  body.meeting_uuid = SanitizeHeaderText(meeting.uuid());
  body.item_id = absl::StrCat(SanitizeHeaderText(meeting.account_id()), "/", body.meeting_uuid, "/",
                              event.version());
  body.message_id = result.message_id;

  // Headers. Boundaries come from the Message-ID: deterministic, and "=_" never occurs in base64.
  Layout layout;
  const std::string boundary_seed = crypto::Sha256Hex(absl::StrCat("boundary|", result.message_id));
  layout.mixed_boundary = absl::StrCat("=_zarc_mixed_", boundary_seed.substr(0, 24));
  layout.alternative_boundary = absl::StrCat("=_zarc_alt_", boundary_seed.substr(24, 24));
  const std::string host_header = IsValidAddress(absl::AsciiStrToLower(host_email))
                                      ? absl::AsciiStrToLower(host_email)
                                      : SanitizeHeaderText(meeting.host_id());
  layout.headers = absl::StrCat(
      AddressHeader("From", {from}), AddressHeader("To", to), "Date: ", Rfc5322Date(start), "\r\n",
      UnstructuredHeader("Subject", meeting.topic()), "Message-ID: <", result.message_id, ">\r\n",
      "MIME-Version: 1.0\r\n", UnstructuredHeader("X-Zoom-Meeting-Id", absl::StrCat(meeting.id())),
      UnstructuredHeader("X-Zoom-Meeting-UUID", meeting.uuid()),
      UnstructuredHeader("X-Zoom-Host", host_header),
      UnstructuredHeader("X-Zoom-Duration", absl::StrCat(duration_minutes)),
      UnstructuredHeader("X-Zarc-Item-Version", absl::StrCat(event.version())),
      UnstructuredHeader("X-Zarc-Item-Id", body.item_id),
      ParameterizedHeader("Content-Type", "multipart/mixed",
                          {FormatParam("boundary", layout.mixed_boundary)}),
      "\r\n");
  body.problems = problems;

  // Placement: while the message would exceed the limit, the largest attachment moves out of line.
  while (true) {
    absl::StatusOr<uint64_t> size = WriteMessage(layout, body, plans, opener, out, true);
    if (!size.ok()) return size.status();
    if (*size <= options.message_size_limit) break;
    ArtifactPlan* largest = nullptr;
    for (ArtifactPlan& p : plans) {
      if (p.attached && (largest == nullptr || p.blob.size() >= largest->blob.size())) largest = &p;
    }
    if (largest == nullptr) {
      problems.push_back(absl::StrCat("the message is ", FormatSize(*size),
                                      " without attachments, over the ",
                                      FormatSize(options.message_size_limit), " message limit"));
      body.problems = problems;
      break;
    }
    largest->attached = false;
    largest->bytes.reset();
  }

  DigestSink digest(out);
  absl::StatusOr<uint64_t> written = WriteMessage(layout, body, plans, opener, digest, false);
  if (!written.ok()) return written.status();
  result.size = digest.size();
  result.sha256 = digest.FinishHex();
  for (const ArtifactPlan& p : plans) {
    v1::ArtifactPlacement placement;
    placement.set_file_name(p.file_name);
    placement.set_kind(p.artifact->kind());
    *placement.mutable_blob() = p.blob;
    placement.set_attached(p.attached);
    result.artifacts.push_back(std::move(placement));
  }
  result.problems = std::move(problems);
  return result;
}

}  // namespace zarc::converter
