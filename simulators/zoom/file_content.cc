#include "simulators/zoom/file_content.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "runtime/crypto/digest.h"
#include "simulators/zoom/rng.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

using json::Value;

// ISO/IEC 14496-12 `ftyp` boxes, so that a sniffing client sees what Zoom's files start with.
const std::string& FtypFor(FileKind kind) {
  static const std::string* const kMp4 = new std::string(
      "\x00\x00\x00\x20"
      "ftypisom\x00\x00\x02\x00isomiso2avc1mp41",
      32);
  static const std::string* const kM4a = new std::string(
      "\x00\x00\x00\x1c"
      "ftypM4A \x00\x00\x00\x00M4A isommp42",
      28);
  return (kind == FileKind::kAudio || kind == FileKind::kArchiveAudio) ? *kM4a : *kMp4;
}

class OwnedStringSource final : public io::ByteSource {
 public:
  explicit OwnedStringSource(std::string data) : data_(std::move(data)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    const size_t n = std::min(size, data_.size() - offset_);
    std::memcpy(buffer, data_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t offset_ = 0;
};

std::string Clock(absl::Duration d, bool millis) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  const int64_t s = ms / 1000;
  std::string out = absl::StrFormat("%02d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  if (millis) absl::StrAppendFormat(&out, ".%03d", ms % 1000);
  return out;
}

std::string B64(absl::string_view text) { return crypto::Base64Encode(text); }

}  // namespace

GeneratedMediaSource::GeneratedMediaSource(FileKind kind, uint64_t seed, uint64_t size)
    : header_(FtypFor(kind)), seed_(seed), size_(size) {}

absl::StatusOr<size_t> GeneratedMediaSource::Read(char* buffer, size_t size) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(size, size_ - offset_));
  size_t done = 0;
  while (done < n) {
    const uint64_t pos = offset_ + done;
    if (pos < header_.size()) {
      buffer[done++] = header_[pos];
      continue;
    }
    // Byte `pos` is byte pos%8 of word pos/8, whatever the chunking.
    const uint64_t word = SplitMix64(seed_ ^ (pos / 8));
    const size_t in_word = pos % 8;
    const size_t take = std::min<size_t>(8 - in_word, n - done);
    for (size_t i = 0; i < take; ++i) {
      buffer[done + i] = static_cast<char>((word >> (8 * (in_word + i))) & 0xff);
    }
    done += take;
  }
  offset_ += n;
  return n;
}

std::string RenderChatTxt(const Meeting& meeting) {
  // Cloud-recording chat: "HH:MM:SS\t<Name>:\t<text>"; later lines of a multi-line message carry
  // no timestamp. Only what everyone saw is in the file: no private, deleted or reaction entries.
  std::string out;
  for (const ChatMessage& m : meeting.chat) {
    if (m.msg_type != 1 && m.msg_type != 6 && m.msg_type != 7) continue;
    std::vector<absl::string_view> lines = absl::StrSplit(m.text, '\n');
    absl::StrAppend(&out, Clock(m.offset, false), "\t", m.sender_name, ":\t", lines[0], "\n");
    for (size_t i = 1; i < lines.size(); ++i) absl::StrAppend(&out, lines[i], "\n");
  }
  return out;
}

std::string RenderArchivedChatJson(const Meeting& meeting) {
  Value messages = Value::Array();
  size_t i = 0;
  for (const ChatMessage& m : meeting.chat) {
    Value msg = Value::Object();
    msg["msg_type"] = Value::Number(m.msg_type);
    msg["e_time"] = json::Str(FormatZoomTime(meeting.recording_start() + m.offset));
    msg["s_name"] = json::Str(B64(m.sender_name));
    msg["s_email"] = json::Str(B64(m.sender_email));
    msg["r_name"] = json::Str(B64(m.receiver_name));
    msg["r_email"] = json::Str(B64(m.receiver_email));
    msg["msg_content"] = json::Str(B64(m.text));
    msg["msg_id"] = json::Str(m.msg_id);
    msg["original_msg_id"] = json::Str(m.original_msg_id);
    msg["parent_msg_id"] = json::Str(m.parent_msg_id);
    msg["files"] = Value::Array();
    messages[i++] = std::move(msg);
  }
  Value root = Value::Object();
  root["uuid"] = json::Str(meeting.uuid);
  root["messages"] = std::move(messages);
  return root.Serialize();
}

std::string RenderTranscriptVtt(const Meeting& meeting) {
  std::string out = "WEBVTT\n";
  int n = 0;
  for (const Cue& cue : meeting.transcript) {
    absl::StrAppend(&out, "\n", ++n, "\n", Clock(cue.start, true), " --> ", Clock(cue.end, true),
                    "\n", cue.speaker.empty() ? "" : absl::StrCat(cue.speaker, ": "), cue.text,
                    "\n");
  }
  return out;
}

std::string RenderCaptionsVtt(const Meeting& meeting) {
  // Closed captions carry the words without speaker names.
  std::string out = "WEBVTT\n";
  int n = 0;
  for (const Cue& cue : meeting.transcript) {
    absl::StrAppend(&out, "\n", ++n, "\n", Clock(cue.start, true), " --> ", Clock(cue.end, true),
                    "\n", cue.text, "\n");
  }
  return out;
}

std::string RenderTimelineJson(const Meeting& meeting) {
  Value timeline = Value::Array();
  size_t i = 0;
  for (const Participant& p : meeting.participants) {
    Value user = Value::Object();
    user["username"] = json::Str(p.name);
    user["multiple_people"] = Value::Boolean(false);
    user["user_id"] = json::Str(p.user_id);
    user["zoom_userid"] = json::Str(p.id);
    user["email_address"] = json::Str(p.email);
    Value users = Value::Array();
    users[0] = std::move(user);
    Value entry = Value::Object();
    entry["ts"] = json::Str(Clock(std::max(absl::ZeroDuration(),
                                               p.join_time - meeting.recording_start()),
                                      true));
    entry["users"] = std::move(users);
    timeline[i++] = std::move(entry);
  }
  Value root = Value::Object();
  root["timeline"] = std::move(timeline);
  return root.Serialize();
}

std::string RenderText(const Meeting& meeting, FileKind kind) {
  switch (kind) {
    case FileKind::kChat:
      return RenderChatTxt(meeting);
    case FileKind::kTranscript:
    case FileKind::kArchiveTranscript:
      return RenderTranscriptVtt(meeting);
    case FileKind::kCaptions:
      return RenderCaptionsVtt(meeting);
    case FileKind::kTimeline:
      return RenderTimelineJson(meeting);
    case FileKind::kArchiveChat:
      return RenderArchivedChatJson(meeting);
    case FileKind::kVideo:
    case FileKind::kAudio:
    case FileKind::kArchiveVideo:
    case FileKind::kArchiveAudio:
      break;
  }
  return "";
}

std::unique_ptr<io::ByteSource> OpenFile(const Meeting& meeting, const FileEntry& file) {
  if (IsMediaKind(file.kind)) {
    return std::make_unique<GeneratedMediaSource>(file.kind, file.seed, file.size);
  }
  return std::make_unique<OwnedStringSource>(RenderText(meeting, file.kind));
}

std::string FileSha256(const Meeting& meeting, const FileEntry& file) {
  std::unique_ptr<io::ByteSource> source = OpenFile(meeting, file);
  crypto::Sha256 hash;
  std::string buffer(1 << 20, '\0');
  while (true) {
    absl::StatusOr<size_t> n = source->Read(buffer.data(), buffer.size());
    // Our own sources never fail.
    if (!n.ok() || *n == 0) break;
    hash.Update(absl::string_view(buffer.data(), *n));
  }
  return hash.FinishHex();
}

absl::StatusOr<std::string> ExpectedSha256(const Tenant& tenant, absl::string_view file_id) {
  std::optional<Tenant::FileRef> ref = tenant.FindFile(file_id);
  if (!ref.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("file \"", file_id, "\" is not in the simulated tenant; see its manifest"));
  }
  return FileSha256(*ref->meeting, *ref->file);
}

std::string ManifestJson(const Tenant& tenant, bool with_sha256) {
  Value root = Value::Object();
  root["account_id"] = json::Str(tenant.account_id);
  root["domain"] = json::Str(tenant.domain);
  Value users = Value::Array();
  for (size_t i = 0; i < tenant.users.size(); ++i) {
    const User& u = tenant.users[i];
    Value user = Value::Object();
    user["id"] = json::Str(u.id);
    user["email"] = json::Str(u.email);
    user["first_name"] = json::Str(u.first_name);
    user["last_name"] = json::Str(u.last_name);
    users[i] = std::move(user);
  }
  root["users"] = std::move(users);
  Value meetings = Value::Array();
  for (size_t i = 0; i < tenant.meetings.size(); ++i) {
    const Meeting& m = tenant.meetings[i];
    Value meeting = Value::Object();
    meeting["uuid"] = json::Str(m.uuid);
    meeting["id"] = Value::Number(m.id);
    meeting["host_id"] = json::Str(m.host_id);
    meeting["topic"] = json::Str(m.topic);
    meeting["type"] = Value::Number(m.type);
    meeting["start_time"] = json::Str(FormatZoomTime(m.start_time));
    meeting["end_time"] = json::Str(FormatZoomTime(m.end_time()));
    Value participants = Value::Array();
    for (size_t j = 0; j < m.participants.size(); ++j) {
      const Participant& p = m.participants[j];
      Value row = Value::Object();
      row["id"] = json::Str(p.id);
      row["user_id"] = json::Str(p.user_id);
      row["name"] = json::Str(p.name);
      row["user_email"] = json::Str(p.email);
      row["join_time"] = json::Str(FormatZoomTime(p.join_time));
      row["leave_time"] = json::Str(FormatZoomTime(p.leave_time));
      row["internal_user"] = Value::Boolean(p.internal);
      participants[j] = std::move(row);
    }
    meeting["participants"] = std::move(participants);
    Value files = Value::Array();
    for (size_t j = 0; j < m.files.size(); ++j) {
      const FileEntry& f = m.files[j];
      Value file = Value::Object();
      file["file_id"] = json::Str(f.file_id);
      file["kind"] = json::Str(std::string(FileKindName(f.kind)));
      file["file_type"] = json::Str(std::string(FileTypeName(f.kind)));
      file["archive"] = Value::Boolean(IsArchiveKind(f.kind));
      file["individual"] = Value::Boolean(f.individual);
      file["size"] = Value::Number(static_cast<uint64_t>(f.size));
      if (with_sha256) file["sha256"] = json::Str(FileSha256(m, f));
      files[j] = std::move(file);
    }
    meeting["files"] = std::move(files);
    // Which Zoom API lists the meeting: "recordings" (cloud recordings), "archive" (archive files).
    Value sources = Value::Array();
    size_t k = 0;
    if (HasRecordingFiles(m)) sources[k++] = json::Str("recordings");
    if (HasArchiveFiles(m)) sources[k++] = json::Str("archive");
    meeting["sources"] = std::move(sources);
    meetings[i] = std::move(meeting);
  }
  root["meetings"] = std::move(meetings);
  return root.Serialize();
}

}  // namespace zarc::zoom_sim
