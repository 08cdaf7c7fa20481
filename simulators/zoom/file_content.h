#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/io/byte_stream.h"
#include "simulators/zoom/tenant.h"

namespace zarc::zoom_sim {

// Media bytes: a pure function of (seed, offset), so any chunking of a read gives the same bytes
// and a multi-GB file costs no memory. MP4/M4A files start with a real `ftyp` box.
class GeneratedMediaSource final : public io::ByteSource {
 public:
  GeneratedMediaSource(FileKind kind, uint64_t seed, uint64_t size);
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override;

 private:
  std::string header_;
  uint64_t seed_;
  uint64_t size_;
  uint64_t offset_ = 0;
};

// Text files, rendered from the meeting (formats in /work/shared/zoom-api/README.md).
std::string RenderChatTxt(const Meeting& meeting);
std::string RenderArchivedChatJson(const Meeting& meeting);
std::string RenderTranscriptVtt(const Meeting& meeting);
std::string RenderCaptionsVtt(const Meeting& meeting);
std::string RenderTimelineJson(const Meeting& meeting);
// The rendered text of a text kind; empty for media kinds.
std::string RenderText(const Meeting& meeting, FileKind kind);

// The bytes of `file` (which belongs to `meeting`), streamed. The source owns everything it
// needs, so it outlives the tenant it came from.
std::unique_ptr<io::ByteSource> OpenFile(const Meeting& meeting, const FileEntry& file);

// Lowercase hex SHA-256 of the file's bytes, computed by streaming (never whole in memory).
absl::StatusOr<std::string> ExpectedSha256(const Tenant& tenant, absl::string_view file_id);
std::string FileSha256(const Meeting& meeting, const FileEntry& file);

// The tenant as tests see it: users, and per meeting its uuid, id, host, times, participant rows,
// and every file with kind, Zoom file_type, size and sha256. `with_sha256` false skips hashing
// (for multi-GB tenants).
std::string ManifestJson(const Tenant& tenant, bool with_sha256 = true);

}  // namespace zarc::zoom_sim
