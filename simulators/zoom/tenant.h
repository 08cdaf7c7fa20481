#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace zarc::zoom_sim {

// What a simulated Zoom account holds. Plain data: the simulator copies what it needs under its
// own lock, so nothing here is thread-safe by itself.

// Every kind of file the simulator serves. Cloud recording files come from the Recordings API;
// the kArchive* kinds come from the Archiving API (archive_files).
enum class FileKind {
  kVideo,         // MP4, shared_screen_with_speaker_view
  kAudio,         // M4A, audio_only
  kChat,          // CHAT, chat_file (.TXT, cloud format)
  kTranscript,    // TRANSCRIPT, audio_transcript (.VTT)
  kCaptions,      // CC, closed_caption (.VTT): listed without id/status/file_size
  kTimeline,      // TIMELINE, timeline (.JSON): listed without id/status/file_size
  kArchiveVideo,  // archive MP4
  kArchiveAudio,  // archive M4A (individual when `individual` is set)
  kArchiveChat,   // archive CHAT_MESSAGE (.JSON, base64 fields)
  kArchiveTranscript,  // archive TRANSCRIPT (.VTT)
};

bool IsArchiveKind(FileKind kind);
// Whether a meeting holds cloud recording files (listed by the Recordings API) and archive files
// (listed by the Archiving API).
struct Meeting;
bool HasRecordingFiles(const Meeting& meeting);
bool HasArchiveFiles(const Meeting& meeting);
bool IsMediaKind(FileKind kind);  // bytes come from the deterministic generator
// Zoom's `file_type`, `file_extension` and `recording_type` strings for a kind.
absl::string_view FileTypeName(FileKind kind);
absl::string_view FileExtension(FileKind kind);
absl::string_view RecordingTypeName(FileKind kind);
absl::string_view ContentTypeFor(FileKind kind);
// Parses the names used in manifests and tenant files ("video", "audio", "chat", ...).
absl::StatusOr<FileKind> ParseFileKindName(absl::string_view name);
absl::string_view FileKindName(FileKind kind);

struct User {
  std::string id;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string timezone = "UTC";
  std::string dept;
  int type = 2;  // 1 basic, 2 licensed
  std::string status = "active";
  absl::Time created_at = absl::UnixEpoch();
};

// One row of past_meetings/{id}/participants: a rejoin is a second row for the same person.
struct Participant {
  std::string id;       // the person's Zoom user id; empty for guests (not signed in)
  std::string user_id;  // per-join participant id
  std::string name;
  std::string email;    // empty for guests and for many external users
  absl::Time join_time;
  absl::Time leave_time;
  bool internal = false;  // a user of this account
};

// A chat message. `msg_type` follows the archived-chat JSON: 1 public, 2 private, 3 deleted,
// 4 emoji reaction, 5 nonverbal feedback, 6 edited, 7 reply.
struct ChatMessage {
  absl::Duration offset;  // since recording start
  std::string sender_name;
  std::string sender_email;
  std::string receiver_name = "Everyone";
  std::string receiver_email;
  std::string text;  // may hold '\n' (multi-line message)
  int msg_type = 1;
  std::string msg_id;
  std::string original_msg_id;
  std::string parent_msg_id;
};

// A transcript cue; `speaker` empty means a cue with no "Name:" prefix.
struct Cue {
  absl::Duration start;
  absl::Duration end;
  std::string speaker;
  std::string text;
};

struct FileEntry {
  std::string file_id;  // opaque id used in the download URL (also the listed `id` where Zoom has one)
  FileKind kind = FileKind::kVideo;
  uint64_t size = 0;  // exact length of the served bytes
  uint64_t seed = 0;  // per-file generator seed (media kinds)
  // Archive files for one participant (`individual: true`).
  bool individual = false;
  std::string participant_email;
  absl::Time participant_join_time;
  absl::Time participant_leave_time;
};

struct Meeting {
  std::string uuid;
  int64_t id = 0;  // shared by the instances of a recurring meeting
  std::string host_id;
  std::string topic;
  int type = 2;  // 1 instant, 2 scheduled, 8 recurring with fixed time
  absl::Time start_time;
  absl::Duration duration;
  std::string timezone = "UTC";
  std::vector<Participant> participants;
  std::vector<ChatMessage> chat;
  std::vector<Cue> transcript;
  std::vector<FileEntry> files;  // recording files, then archive files
  // Recording listings show the MP4 and TRANSCRIPT as still processing this many times.
  int processing_listings = 0;

  absl::Time end_time() const { return start_time + duration; }
  absl::Time recording_start() const { return start_time + absl::Minutes(1); }
  absl::Time archive_complete_time() const { return end_time() + absl::Minutes(10); }
};

struct Tenant {
  std::string account_id;
  std::string account_name;
  std::string domain;  // internal users' e-mail domain
  std::vector<User> users;
  std::vector<Meeting> meetings;  // ordered by start_time
  // The account has the Archiving API feature; without it GET /archive_files is refused.
  bool archiving = true;

  const User* FindUser(absl::string_view id_or_email) const;
  const Meeting* FindMeetingByUuid(absl::string_view uuid) const;
  // The latest instance with this numeric id, like Zoom's "meeting ID → latest instance".
  const Meeting* FindLatestMeetingById(int64_t id) const;
  // The meeting holding file `file_id`, with the file; nullopt when unknown.
  struct FileRef {
    const Meeting* meeting;
    const FileEntry* file;
  };
  std::optional<FileRef> FindFile(absl::string_view file_id) const;
};

struct TenantOptions {
  uint64_t seed = 1;
  int users = 5;
  int meetings = 20;
  int days = 7;
  absl::Time from = absl::FromCivil(absl::CivilDay(2024, 3, 4), absl::UTCTimeZone());
  uint64_t video_bytes = 256 * 1024;
  uint64_t audio_bytes = 64 * 1024;
  uint64_t archive_media_bytes = 32 * 1024;
  bool archiving = true;  // the account has the Archiving API feature
  // Every Nth meeting (0 = none) lists its MP4 and TRANSCRIPT as processing for
  // `processing_listings` recording listings before they complete.
  int processing_every = 0;
  int processing_listings = 0;
  // Which source lists a meeting, as on a real account where only compliance-flagged users'
  // meetings are archived and not every meeting is recorded. Every Nth meeting (0 = none) has
  // only cloud recording files (its host is not archived); every Mth one (0 = none, and only
  // when `archiving`) has only archive files (archived, never recorded to the cloud). A meeting
  // matching both counts as recordings-only.
  int recordings_only_every = 0;
  int archive_only_every = 0;
  std::string domain = "example-corp.com";
};

// Deterministic: the same options give byte-identical tenants (and files).
Tenant GenerateTenant(const TenantOptions& options);

// One more meeting for `tenant`, numbered `index` (unique per tenant), as GenerateTenant would make
// it. Fields given in `overrides` (uuid, host_id, topic, start_time, duration) replace generated ones.
struct MeetingOverrides {
  std::optional<std::string> uuid;
  std::optional<std::string> host_id;
  std::optional<std::string> topic;
  std::optional<absl::Time> start_time;
  std::optional<absl::Duration> duration;
};
absl::StatusOr<Meeting> GenerateMeeting(const Tenant& tenant, const TenantOptions& options,
                                        int index, const MeetingOverrides& overrides);

// Loads a tenant from JSON (format in simulators/zoom/README.md). Files whose size is not given
// take `defaults`' sizes; text files are sized from what they render.
absl::StatusOr<Tenant> ParseTenantJson(absl::string_view json, const TenantOptions& defaults);

// Zoom's timestamp form, "2024-03-04T09:30:00Z".
std::string FormatZoomTime(absl::Time t);
absl::StatusOr<absl::Time> ParseZoomTime(absl::string_view text);

}  // namespace zarc::zoom_sim
