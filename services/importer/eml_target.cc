#include "services/importer/eml_target.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "runtime/crypto/digest.h"

namespace zarc::importer {

std::string SanitizePathSegment(absl::string_view text, size_t max_bytes) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max_bytes) break;
    const bool keep = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                      absl::string_view(" -_.,@+()'").find(c) != absl::string_view::npos;
    const char ch = keep ? c : '_';
    if (ch == ' ' && (out.empty() || out.back() == ' ')) continue;  // no runs of spaces
    out.push_back(ch);
  }
  absl::StripTrailingAsciiWhitespace(&out);
  while (!out.empty() && out.front() == '.') out.front() = '_';
  if (out.empty()) out.push_back('_');
  return out;
}

std::string EmlTarget::FileName(const DeliveryRequest& request) {
  const std::string day = absl::FormatTime("%Y-%m-%d", request.internal_date, absl::UTCTimeZone());
  const std::string topic = SanitizePathSegment(request.topic, 80);
  const std::string hash = crypto::Sha256Hex(request.message_id).substr(0, 12);
  return absl::StrCat(SanitizePathSegment(absl::AsciiStrToLower(request.mailbox), 200), "/Inbox/",
                      kZoomFolderName, "/", day, " ", topic, " ", hash, ".eml");
}

absl::StatusOr<DeliveryOutcome> EmlTarget::Deliver(const DeliveryRequest& request) {
  const std::string name = FileName(request);
  absl::StatusOr<blob::BlobInfo> existing = store_.Stat(name);
  if (existing.ok()) return DeliveryOutcome::kAlreadyThere;
  if (!absl::IsNotFound(existing.status())) return existing.status();
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = request.open();
  if (!source.ok()) return source.status();
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      store_.Create(name, blob::WriteOptions{.content_type = "message/rfc822"});
  if (!writer.ok()) return writer.status();
  absl::StatusOr<uint64_t> copied = io::Copy(**source, **writer);  // Copy closes the writer
  if (absl::IsAlreadyExists(copied.status())) return DeliveryOutcome::kAlreadyThere;
  if (!copied.ok()) return copied.status();
  if (*copied != request.size) {
    return absl::DataLossError(absl::StrCat("wrote ", *copied, " bytes to ", name, " but the message has ",
                                            request.size));
  }
  return DeliveryOutcome::kDelivered;
}

}  // namespace zarc::importer
