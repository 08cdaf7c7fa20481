#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/json/json.h"

namespace zarc::fetcher {

// Zoom API objects, as the published API shapes them (zoom-api/README.md). Only the fields zarc
// uses; parsing is forgiving where Zoom is inconsistent (numbers as strings, missing ids).

struct ZoomFile {
  std::string id;            // empty for CC and TIMELINE entries
  std::string file_type;     // MP4, M4A, CHAT, TRANSCRIPT, CC, CHAT_MESSAGE, ...; "" while processing
  std::string file_extension;
  std::string recording_type;
  std::string download_url;
  std::string status;        // completed, processing, failed; empty for CC/TIMELINE
  int64_t file_size = 0;     // 0 or absent for CC/TIMELINE and files still processing
  absl::Time recording_start = absl::InfinitePast();
  absl::Time recording_end = absl::InfinitePast();
  // Archiving API only.
  std::string participant_email;
  std::string encryption_fingerprint;  // SHA-256 of the file, hex
  bool individual = false;

  // A file is ready when Zoom has finished it; CC/TIMELINE (no status) are ready when listed.
  bool Ready() const;
  // Stable identity: the id, else derived from the download URL's path.
  std::string StableId() const;
};

struct ZoomMeeting {
  std::string uuid;
  int64_t id = 0;
  std::string account_id;
  std::string host_id;
  std::string host_email;  // webhook payloads and past_meetings carry it; listings do not
  std::string topic;
  int type = 0;
  absl::Time start_time = absl::InfinitePast();
  std::string timezone;
  int64_t duration_minutes = 0;
  std::vector<ZoomFile> files;  // recording_files or archive_files
  bool archived = false;        // from the Archiving API (the object has archive_files)
};

struct ZoomParticipantRow {
  std::string id;       // blank for guests
  std::string user_id;
  std::string name;
  std::string email;
  absl::Time join_time = absl::InfinitePast();
  absl::Time leave_time = absl::InfinitePast();
  bool internal_user = false;
};

struct ZoomPastMeeting {
  std::string uuid;
  std::string topic;
  std::string host_id;
  std::string host_email;
  std::string host_name;
  absl::Time start_time = absl::InfinitePast();
  absl::Time end_time = absl::InfinitePast();
  int64_t duration_minutes = 0;
};

struct ZoomUser {
  std::string id;
  std::string email;
  std::string status;
};

template <typename T>
struct ZoomPage {
  std::vector<T> items;
  std::string next_page_token;
  std::string from;  // recordings/archive listings: the range Zoom actually used (it clamps)
  std::string to;
};

absl::Time ParseZoomTime(absl::string_view text);
std::string FormatZoomDate(absl::Time t);       // yyyy-MM-dd (UTC)
std::string FormatZoomDateTime(absl::Time t);   // yyyy-MM-dd'T'HH:mm:ss'Z'

ZoomMeeting MeetingFromJson(const json::Value& meeting);  // recording or archive meeting object
absl::StatusOr<ZoomPage<ZoomMeeting>> ParseRecordingsPage(absl::string_view body);
absl::StatusOr<ZoomPage<ZoomMeeting>> ParseArchivePage(absl::string_view body);
absl::StatusOr<ZoomMeeting> ParseMeetingRecordings(absl::string_view body);
absl::StatusOr<ZoomPage<ZoomParticipantRow>> ParseParticipantsPage(absl::string_view body);
absl::StatusOr<ZoomPastMeeting> ParsePastMeeting(absl::string_view body);
absl::StatusOr<ZoomPage<ZoomUser>> ParseUsersPage(absl::string_view body);

// Zoom's rule for meeting UUIDs in paths: one that starts with '/' or contains "//" is
// percent-encoded twice, any other once.
std::string EncodeMeetingUuid(absl::string_view uuid);

}  // namespace zarc::fetcher
