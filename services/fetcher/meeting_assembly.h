#pragma once

#include <string>
#include <vector>

#include "services/fetcher/zoom_types.h"
#include "zarc/v1/events.pb.h"

namespace zarc::fetcher {

// Folds Zoom's one-row-per-join participant list into one entry per person, keeping every
// join/leave interval in time order. A person is known by email (case-insensitive), else by Zoom
// user id, else by participant id; guests with none of these are told apart by name.
std::vector<zarc::v1::Participant> MergeParticipants(const std::vector<ZoomParticipantRow>& rows);

zarc::v1::ArtifactKind KindOf(const ZoomFile& file);

// The attachment file name for a file: "<kind>[-<recording_type>][-n].<ext>", unique within the
// meeting given the names already used.
std::string AttachmentName(const ZoomFile& file, std::vector<std::string>& used);

// Meeting metadata from a listing or webhook object, refined by past_meetings details if known.
zarc::v1::Meeting MeetingProto(const ZoomMeeting& meeting, const ZoomPastMeeting* details);

google::protobuf::Timestamp ToProto(absl::Time t);

}  // namespace zarc::fetcher
