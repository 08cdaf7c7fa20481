#include "services/fetcher/zoom_types.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/http_types.h"

namespace zarc::fetcher {

absl::Time ParseZoomTime(absl::string_view text) {
  absl::Time t;
  std::string err;
  if (!text.empty() && absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return t;
  return absl::InfinitePast();
}

std::string FormatZoomDate(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

std::string FormatZoomDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool ZoomFile::Ready() const {
  if (file_type.empty()) return false;  // still processing: Zoom has not typed it yet
  return status.empty() || status == "completed";
}

std::string ZoomFile::StableId() const {
  if (!id.empty()) return id;
  // The URL's path only: the host (and a simulator's port) may differ between listings.
  absl::string_view url = download_url;
  url = url.substr(0, url.find('?'));
  if (size_t scheme = url.find("://"); scheme != absl::string_view::npos) {
    const size_t path = url.find('/', scheme + 3);
    url = path == absl::string_view::npos ? absl::string_view() : url.substr(path);
  }
  return absl::StrCat(file_type, "-", crypto::Sha256Hex(url).substr(0, 16));
}

namespace {

ZoomFile FileFromJson(const json::Value& f) {
  ZoomFile z;
  z.id = json::String(f, "id");
  z.file_type = json::String(f, "file_type");
  z.file_extension = json::String(f, "file_extension");
  z.recording_type = json::String(f, "recording_type");
  z.download_url = json::String(f, "download_url");
  z.status = json::String(f, "status");
  z.file_size = json::Int(f, "file_size");
  z.recording_start = ParseZoomTime(json::String(f, "recording_start"));
  z.recording_end = ParseZoomTime(json::String(f, "recording_end"));
  z.participant_email = json::String(f, "participant_email");
  z.encryption_fingerprint = json::String(f, "encryption_fingerprint");
  z.individual = json::Bool(f, "individual");
  return z;
}

template <typename T, typename F>
absl::StatusOr<ZoomPage<T>> ParsePage(absl::string_view body, absl::string_view what,
                                      absl::string_view list_key, F item) {
  absl::StatusOr<json::Value> v = json::Parse(body, what);
  if (!v.ok()) return v.status();
  if (!v->IsObject()) return absl::InvalidArgumentError(absl::StrCat(what, " is not an object"));
  ZoomPage<T> page;
  page.next_page_token = json::String(*v, "next_page_token");
  page.from = json::String(*v, "from");
  page.to = json::String(*v, "to");
  for (const json::Value& x : json::Array(*v, list_key)) page.items.push_back(item(x));
  return page;
}

}  // namespace

ZoomMeeting MeetingFromJson(const json::Value& m) {
  ZoomMeeting z;
  z.uuid = json::String(m, "uuid");
  z.id = json::Int(m, "id");
  z.account_id = json::String(m, "account_id");
  z.host_id = json::String(m, "host_id");
  z.host_email = json::String(m, "host_email");
  z.topic = json::String(m, "topic");
  z.type = static_cast<int>(json::Int(m, "type"));
  z.start_time = ParseZoomTime(json::String(m, "start_time"));
  z.timezone = json::String(m, "timezone");
  z.duration_minutes = json::Int(m, "duration");
  z.archived = json::Has(m, "archive_files");
  for (const char* key : {"recording_files", "archive_files"}) {
    for (const json::Value& f : json::Array(m, key)) z.files.push_back(FileFromJson(f));
  }
  return z;
}

absl::StatusOr<ZoomPage<ZoomMeeting>> ParseRecordingsPage(absl::string_view body) {
  return ParsePage<ZoomMeeting>(body, "Zoom recordings page", "meetings", MeetingFromJson);
}

absl::StatusOr<ZoomPage<ZoomMeeting>> ParseArchivePage(absl::string_view body) {
  return ParsePage<ZoomMeeting>(body, "Zoom archive files page", "meetings", MeetingFromJson);
}

absl::StatusOr<ZoomMeeting> ParseMeetingRecordings(absl::string_view body) {
  absl::StatusOr<json::Value> v = json::Parse(body, "Zoom meeting recordings");
  if (!v.ok()) return v.status();
  ZoomMeeting m = MeetingFromJson(*v);
  if (m.uuid.empty()) return absl::InvalidArgumentError("Zoom meeting recordings have no uuid");
  return m;
}

absl::StatusOr<ZoomPage<ZoomParticipantRow>> ParseParticipantsPage(absl::string_view body) {
  return ParsePage<ZoomParticipantRow>(
      body, "Zoom participants page", "participants", [](const json::Value& p) {
        ZoomParticipantRow r;
        r.id = json::String(p, "id");
        r.user_id = json::String(p, "user_id");
        r.name = json::String(p, "name");
        r.email = json::String(p, "user_email");
        r.join_time = ParseZoomTime(json::String(p, "join_time"));
        r.leave_time = ParseZoomTime(json::String(p, "leave_time"));
        r.internal_user = json::Bool(p, "internal_user");
        return r;
      });
}

absl::StatusOr<ZoomPastMeeting> ParsePastMeeting(absl::string_view body) {
  absl::StatusOr<json::Value> v = json::Parse(body, "Zoom past meeting");
  if (!v.ok()) return v.status();
  ZoomPastMeeting m;
  m.uuid = json::String(*v, "uuid");
  m.topic = json::String(*v, "topic");
  m.host_id = json::String(*v, "host_id");
  m.host_email = json::String(*v, "user_email");
  m.host_name = json::String(*v, "user_name");
  m.start_time = ParseZoomTime(json::String(*v, "start_time"));
  m.end_time = ParseZoomTime(json::String(*v, "end_time"));
  m.duration_minutes = json::Int(*v, "duration");
  return m;
}

absl::StatusOr<ZoomPage<ZoomUser>> ParseUsersPage(absl::string_view body) {
  return ParsePage<ZoomUser>(body, "Zoom users page", "users", [](const json::Value& u) {
    return ZoomUser{json::String(u, "id"), json::String(u, "email"), json::String(u, "status")};
  });
}

std::string EncodeMeetingUuid(absl::string_view uuid) {
  std::string once = http::PercentEncode(uuid);
  if (absl::StartsWith(uuid, "/") || absl::StrContains(uuid, "//")) return http::PercentEncode(once);
  return once;
}

}  // namespace zarc::fetcher
