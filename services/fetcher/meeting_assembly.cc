#include "services/fetcher/meeting_assembly.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace zarc::fetcher {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}

std::vector<zarc::v1::Participant> MergeParticipants(const std::vector<ZoomParticipantRow>& rows) {
  std::vector<ZoomParticipantRow> sorted = rows;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.join_time < b.join_time; });
  std::vector<zarc::v1::Participant> out;
  std::map<std::string, size_t> index;
  for (const ZoomParticipantRow& r : sorted) {
    const std::string email = absl::AsciiStrToLower(absl::StripAsciiWhitespace(r.email));
    std::string key = !email.empty()       ? "email:" + email
                      : !r.user_id.empty() ? "user:" + r.user_id
                      : !r.id.empty()      ? "id:" + r.id
                                           : "guest:" + r.name;
    auto [it, inserted] = index.emplace(key, out.size());
    if (inserted) {
      zarc::v1::Participant p;
      p.set_name(r.name);
      p.set_email(email);
      p.set_zoom_user_id(!r.id.empty() ? r.id : r.user_id);
      p.set_internal_user(r.internal_user);
      out.push_back(std::move(p));
    }
    zarc::v1::Participant& p = out[it->second];
    if (p.name().empty()) p.set_name(r.name);
    p.set_internal_user(p.internal_user() || r.internal_user);
    zarc::v1::JoinInterval* interval = p.add_intervals();
    *interval->mutable_join_time() = ToProto(r.join_time);
    *interval->mutable_leave_time() = ToProto(r.leave_time);
  }
  return out;
}

zarc::v1::ArtifactKind KindOf(const ZoomFile& f) {
  const std::string t = absl::AsciiStrToUpper(f.file_type);
  if (t == "CHAT") return zarc::v1::ARTIFACT_KIND_CHAT_TXT;
  if (t == "CHAT_MESSAGE") return zarc::v1::ARTIFACT_KIND_CHAT_JSON;
  if (t == "TRANSCRIPT") return zarc::v1::ARTIFACT_KIND_TRANSCRIPT;
  if (t == "CC") return zarc::v1::ARTIFACT_KIND_CLOSED_CAPTION;
  if (t == "M4A") return zarc::v1::ARTIFACT_KIND_AUDIO;
  if (t == "MP4") return zarc::v1::ARTIFACT_KIND_VIDEO;
  if (t == "TIMELINE") return zarc::v1::ARTIFACT_KIND_TIMELINE;
  return zarc::v1::ARTIFACT_KIND_OTHER;
}

std::string AttachmentName(const ZoomFile& f, std::vector<std::string>& used) {
  std::string stem;
  switch (KindOf(f)) {
    case zarc::v1::ARTIFACT_KIND_CHAT_TXT: stem = "chat"; break;
    case zarc::v1::ARTIFACT_KIND_CHAT_JSON: stem = "chat-archive"; break;
    case zarc::v1::ARTIFACT_KIND_TRANSCRIPT: stem = "transcript"; break;
    case zarc::v1::ARTIFACT_KIND_CLOSED_CAPTION: stem = "captions"; break;
    case zarc::v1::ARTIFACT_KIND_AUDIO: stem = "audio"; break;
    case zarc::v1::ARTIFACT_KIND_VIDEO: stem = "video"; break;
    case zarc::v1::ARTIFACT_KIND_TIMELINE: stem = "timeline"; break;
    default: stem = absl::AsciiStrToLower(f.file_type.empty() ? "file" : f.file_type);
  }
  if (!f.recording_type.empty() && KindOf(f) != zarc::v1::ARTIFACT_KIND_CHAT_TXT &&
      KindOf(f) != zarc::v1::ARTIFACT_KIND_TRANSCRIPT) {
    stem += "-" + f.recording_type;
  }
  if (!f.participant_email.empty() && f.individual) stem += "-" + f.participant_email;
  // Only characters every mail client and file system accepts.
  for (char& c : stem) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '@') {
      c = '_';
    }
  }
  std::string ext = absl::AsciiStrToLower(f.file_extension);
  if (ext.empty()) {
    switch (KindOf(f)) {
      case zarc::v1::ARTIFACT_KIND_CHAT_TXT: ext = "txt"; break;
      case zarc::v1::ARTIFACT_KIND_TRANSCRIPT:
      case zarc::v1::ARTIFACT_KIND_CLOSED_CAPTION: ext = "vtt"; break;
      case zarc::v1::ARTIFACT_KIND_CHAT_JSON:
      case zarc::v1::ARTIFACT_KIND_TIMELINE: ext = "json"; break;
      default: ext = "bin";
    }
  }
  std::string name = absl::StrCat(stem, ".", ext);
  for (int n = 2; std::find(used.begin(), used.end(), name) != used.end(); ++n) {
    name = absl::StrCat(stem, "-", n, ".", ext);
  }
  used.push_back(name);
  return name;
}

zarc::v1::Meeting MeetingProto(const ZoomMeeting& m, const ZoomPastMeeting* details) {
  zarc::v1::Meeting out;
  out.set_account_id(m.account_id);
  out.set_uuid(m.uuid);
  out.set_id(m.id);
  out.set_topic(m.topic);
  out.set_host_id(m.host_id);
  out.set_host_email(absl::AsciiStrToLower(m.host_email));
  *out.mutable_start_time() = ToProto(m.start_time);
  out.set_duration_minutes(static_cast<int32_t>(m.duration_minutes));
  out.set_timezone(m.timezone);
  out.set_type(m.type);
  absl::Time end = m.start_time == absl::InfinitePast()
                       ? absl::InfinitePast()
                       : m.start_time + absl::Minutes(m.duration_minutes);
  if (details != nullptr) {
    if (out.topic().empty()) out.set_topic(details->topic);
    if (!details->host_email.empty()) out.set_host_email(absl::AsciiStrToLower(details->host_email));
    out.set_host_name(details->host_name);
    if (details->start_time != absl::InfinitePast() && m.start_time == absl::InfinitePast()) {
      *out.mutable_start_time() = ToProto(details->start_time);
    }
    if (details->end_time != absl::InfinitePast()) end = details->end_time;
  }
  *out.mutable_end_time() = ToProto(end);
  return out;
}

}  // namespace zarc::fetcher
