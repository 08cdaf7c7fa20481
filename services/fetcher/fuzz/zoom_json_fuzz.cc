// libFuzzer target for the Zoom API answers the fetcher parses (zoom_types: recordings and
// archive-file listings, one meeting's recordings, participants, past meetings, users): every
// parser on the same bytes. Also replayed over its corpus by fetcher_fuzz_replay_test.
#include <cstddef>
#include <cstdint>

#include "absl/time/civil_time.h"
#include "runtime/testing/fuzz/fuzz_support.h"
#include "services/fetcher/zoom_types.h"

namespace {

using zarc::fuzz::Require;

void CheckTime(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
  const absl::CivilSecond civil = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (civil.year() < 1970 || civil.year() > 9999) return;
  // What the fetcher writes back (FormatZoomDateTime, to the second) reads as the same instant.
  const absl::Time whole = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
  Require(zarc::fetcher::ParseZoomTime(zarc::fetcher::FormatZoomDateTime(t)) == whole,
          "a parsed Zoom time survives formatting");
}

void CheckMeeting(const zarc::fetcher::ZoomMeeting& m, absl::string_view input) {
  Require(m.files.size() <= input.size() / 2, "no more files than the text holds");
  CheckTime(m.start_time);
  // The UUID goes into request paths: its encoding must not leave a path, query or fragment
  // separator in clear.
  for (char c : zarc::fetcher::EncodeMeetingUuid(m.uuid)) {
    Require(c != '/' && c != '?' && c != '#' && c != ' ' && c != '\r' && c != '\n',
            "an encoded meeting UUID stays one path segment");
  }
  for (const zarc::fetcher::ZoomFile& f : m.files) {
    Require(!f.StableId().empty(), "every file has a stable id");
    Require(!f.Ready() || !f.file_type.empty(), "a ready file has a type");
    CheckTime(f.recording_start);
    CheckTime(f.recording_end);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::fetcher;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto check_error = [](const absl::Status& s) {
    Require(!s.ok() && !s.message().empty(), "a parse error says what was wrong");
  };

  absl::StatusOr<ZoomPage<ZoomMeeting>> recordings = ParseRecordingsPage(input);
  if (recordings.ok()) {
    for (const ZoomMeeting& m : recordings->items) CheckMeeting(m, input);
  } else {
    check_error(recordings.status());
  }
  absl::StatusOr<ZoomPage<ZoomMeeting>> archive = ParseArchivePage(input);
  Require(archive.ok() == recordings.ok(), "both listings accept the same documents");
  if (archive.ok()) {
    Require(archive->items.size() == recordings->items.size(), "both listings see the same meetings");
    Require(archive->next_page_token == recordings->next_page_token, "same next_page_token");
  }

  absl::StatusOr<ZoomMeeting> one = ParseMeetingRecordings(input);
  if (one.ok()) {
    Require(!one->uuid.empty(), "a meeting's recordings name the meeting");
    CheckMeeting(*one, input);
  } else {
    check_error(one.status());
  }

  absl::StatusOr<ZoomPage<ZoomParticipantRow>> participants = ParseParticipantsPage(input);
  if (participants.ok()) {
    Require(participants->items.size() <= input.size() / 2, "no more rows than the text holds");
    for (const ZoomParticipantRow& p : participants->items) {
      CheckTime(p.join_time);
      CheckTime(p.leave_time);
    }
  } else {
    check_error(participants.status());
  }

  absl::StatusOr<ZoomPastMeeting> past = ParsePastMeeting(input);
  if (past.ok()) {
    CheckTime(past->start_time);
    CheckTime(past->end_time);
  } else {
    check_error(past.status());
  }

  absl::StatusOr<ZoomPage<ZoomUser>> users = ParseUsersPage(input);
  if (users.ok()) {
    Require(users->items.size() <= input.size() / 2, "no more users than the text holds");
  } else {
    check_error(users.status());
  }
  return 0;
}
