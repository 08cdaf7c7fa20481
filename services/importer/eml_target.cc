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
    // Letters of any script stay (UTF-8 bytes >= 0x80): a topic in Japanese remains readable.
    // What file systems or mail clients choke on (/ \ : * ? " < > | and controls) does not.
    const bool keep = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                      static_cast<unsigned char>(c) >= 0x80 ||
                      absl::string_view(" -_.,@+()'&!#=").find(c) != absl::string_view::npos;
    const char ch = keep ? c : '_';
    if (ch == ' ' && (out.empty() || out.back() == ' ')) continue;  // no runs of spaces
    out.push_back(ch);
  }
  // Never end inside a UTF-8 sequence cut by the length limit.
  size_t end = out.size();
  while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xC0) == 0x80) --end;
  if (end > 0 && static_cast<unsigned char>(out[end - 1]) >= 0xC0) {
    const unsigned char lead = static_cast<unsigned char>(out[end - 1]);
    const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (out.size() - (end - 1) < need) out.resize(end - 1);
  }
  absl::StripTrailingAsciiWhitespace(&out);
  while (!out.empty() && out.front() == '.') out.front() = '_';
  if (out.empty()) out.push_back('_');
  return out;
}

std::string MailboxPathSegment(absl::string_view mailbox) {
  const std::string lowered = absl::AsciiStrToLower(mailbox);
  std::string segment = SanitizePathSegment(lowered, 200);
  if (segment == lowered) return segment;
  absl::StrAppend(&segment, "~", crypto::Sha256Hex(lowered).substr(0, 16));
  return segment;
}

std::string EmlTarget::FileName(const DeliveryRequest& request) {
  const std::string day = absl::FormatTime("%Y-%m-%d", request.internal_date, absl::UTCTimeZone());
  const std::string topic = SanitizePathSegment(request.topic, 80);
  const std::string hash = crypto::Sha256Hex(request.message_id).substr(0, 12);
  return absl::StrCat(MailboxPathSegment(request.mailbox), "/Inbox/",
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
