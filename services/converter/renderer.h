#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/io/byte_stream.h"
#include "zarc/v1/events.pb.h"

namespace zarc::converter {

// Opens an artifact's bytes; the converter stage backs it with the blob store. It may be called
// more than once for the same blob (a file is read once to parse it or to hash it when its
// BlobRef has no SHA-256, and again to attach it).
using ArtifactOpener =
    std::function<absl::StatusOr<std::unique_ptr<io::ByteSource>>(const zarc::v1::BlobRef&)>;

struct RenderOptions {
  // Exchange Online's default message size limit. Attachments that would push the encoded message
  // past it are listed in the body (location, size, SHA-256) instead of attached, largest first.
  uint64_t message_size_limit = 36 * 1000 * 1000;
  // Chat and transcript files larger than this are attached (or listed) but not parsed into the
  // body; smaller ones are read into memory once.
  uint64_t parse_limit = 64 << 20;
  std::string message_id_domain = "zarc.archive";  // right side of Message-ID
};

// What the converter stage publishes about a message, besides the bytes it streamed.
struct RenderedMessage {
  std::string message_id;  // without <>
  uint64_t size = 0;       // octets written to the sink
  std::string sha256;      // lowercase hex of those octets
  // The item's Email property: the host and every participant with a valid address, lowercased,
  // deduplicated, sorted.
  std::vector<std::string> email_addresses;
  // One per artifact of the event, in event order; the BlobRef has size and SHA-256 filled in.
  std::vector<zarc::v1::ArtifactPlacement> artifacts;
  // The capture problems the event carried, then the converter's own (unreadable files, unknown
  // time zone, invalid addresses...). All of them are also listed in the message body.
  std::vector<std::string> problems;
};

// Renders one meeting as an RFC 5322 / MIME message and streams it into `out` (which it does NOT
// Close(): the caller commits the blob only when this returns OK). Deterministic: the same event
// and artifact bytes give byte-identical output. Memory is bounded by parse_limit, whatever the
// size of the attachments. Keeps no state between calls: concurrent calls with their own sinks
// are safe if the opener is.
//
// Errors: InvalidArgument for an event that cannot make a message (no UUID, bad domain);
// DataLoss when an artifact's bytes do not match its BlobRef's size or SHA-256; the opener's or
// the sink's status (with context) when they fail. Retrying is the caller's decision.
absl::StatusOr<RenderedMessage> RenderMessage(const zarc::v1::MeetingCaptured& meeting,
                                              const RenderOptions& options,
                                              const ArtifactOpener& opener, io::ByteSink& out);

// `hex(SHA-256(account|uuid|version))` truncated to 32 digits, `@domain`; without <>. The same
// item always gets the same ID, so a re-import is recognisable as a duplicate downstream.
std::string MessageIdFor(absl::string_view account_id, absl::string_view meeting_uuid, int version,
                         absl::string_view domain);

}  // namespace zarc::converter
