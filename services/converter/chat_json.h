#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace zarc::converter {

// Zoom archived chat `msg_type` values (archiving API, CHAT_MESSAGE files).
enum class ArchivedMessageType {
  kPublic = 1,
  kPrivate = 2,
  kDeleted = 3,
  kReaction = 4,
  kNonverbalFeedback = 5,
  kEdited = 6,
  kReply = 7,
};

struct ArchivedChatMessage {
  int msg_type = 0;  // an ArchivedMessageType value, or whatever unknown number Zoom sent
  std::string id;
  std::string original_id;  // edits and deletions: the message they change
  std::string parent_id;    // replies and reactions: the message they answer
  std::optional<absl::Time> time;
  std::string sender_name;
  std::string sender_email;
  std::string recipient_name;  // empty for messages to everyone
  std::string recipient_email;
  std::string content;  // decoded; for reactions and feedback the emoji or feedback text
  std::vector<std::string> files;
};

struct ParsedArchivedChat {
  std::string meeting_uuid;
  std::vector<ArchivedChatMessage> messages;  // in file order
  std::vector<std::string> problems;
};

// Parses an archived chat file: `{"uuid": ..., "messages": [{msg_type, e_time, s_name, s_email,
// r_name, r_email, msg_content, msg_id, original_msg_id, parent_msg_id, files[]}]}` where the
// names, emails and content are base64 (a top-level array of messages is accepted too). `e_time`
// may be epoch milliseconds or seconds (number or numeric string) or RFC 3339. Returns
// InvalidArgument when the text is not JSON of that shape; a field it cannot decode is kept as
// sent and listed in `problems`.
absl::StatusOr<ParsedArchivedChat> ParseChatJson(absl::string_view json,
                                                 absl::string_view file_name);

}  // namespace zarc::converter
