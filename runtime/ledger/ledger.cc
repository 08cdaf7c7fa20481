#include "runtime/ledger/ledger.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"

namespace zarc::ledger {
namespace {

constexpr size_t kMaxEntryBytes = 1 << 20;

bool Delivered(zarc::v1::ImportOutcome o) {
  return o == zarc::v1::IMPORT_OUTCOME_IMPORTED || o == zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED;
}

std::string Hash(absl::string_view text) { return crypto::Sha256Hex(text).substr(0, 40); }

}  // namespace

std::string ItemId(absl::string_view account_id, absl::string_view meeting_uuid, int version) {
  return absl::StrCat(account_id, "/", meeting_uuid, "/v", version);
}

absl::string_view MeetingOf(absl::string_view item_id) {
  const size_t slash = item_id.rfind("/v");
  return slash == absl::string_view::npos ? item_id : item_id.substr(0, slash);
}

Ledger::Ledger(blob::BlobStore& store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {}

std::string Ledger::EntryName(const zarc::v1::ImportResult& r) const {
  // Mailbox addresses compare case-insensitively; a mapper result (no mailbox) hashes "".
  return absl::StrCat(prefix_, "/", Hash(r.item_id()), "/", Hash(absl::AsciiStrToLower(r.mailbox())),
                      ".pb");
}

absl::Status Ledger::Record(const zarc::v1::ImportResult& result) {
  if (result.item_id().empty()) {
    return absl::InvalidArgumentError("an import result without item_id cannot be settled");
  }
  const std::string name = EntryName(result);
  auto write = [&]() -> absl::Status {
    absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
        store_.Create(name, blob::WriteOptions{.content_type = "application/x-protobuf"});
    if (!writer.ok()) return writer.status();
    if (absl::Status s = (*writer)->Write(result.SerializeAsString()); !s.ok()) return s;
    return (*writer)->Close();
  };
  // A replayed result finds its pair settled: a Stat, no write (the one-machine mode restores
  // every result at start).
  absl::StatusOr<blob::BlobInfo> existing = store_.Stat(name);
  if (existing.ok()) {
    if (!Delivered(result.outcome())) return absl::OkStatus();
    absl::StatusOr<std::vector<zarc::v1::ImportResult>> kept = Read(name);
    if (!kept.ok()) return kept.status();
    if (!kept->empty() && kept->front().outcome() != zarc::v1::IMPORT_OUTCOME_FAILED) {
      return absl::OkStatus();
    }
    if (absl::Status d = store_.Delete(name); !d.ok() && !absl::IsNotFound(d)) return d;
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  absl::Status s = write();
  return absl::IsAlreadyExists(s) ? absl::OkStatus() : s;
}

absl::StatusOr<std::vector<zarc::v1::ImportResult>> Ledger::Read(absl::string_view prefix) {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(prefix);
  if (!list.ok()) return list.status();
  std::vector<zarc::v1::ImportResult> out;
  out.reserve(list->size());
  for (const blob::BlobInfo& info : *list) {
    absl::StatusOr<std::unique_ptr<io::ByteSource>> source = store_.Open(info.name);
    if (absl::IsNotFound(source.status())) continue;  // replaced meanwhile
    if (!source.ok()) return source.status();
    absl::StatusOr<std::string> bytes = io::ReadAll(**source, kMaxEntryBytes);
    if (!bytes.ok()) return bytes.status();
    zarc::v1::ImportResult r;
    if (!r.ParseFromString(*bytes)) {
      return absl::DataLossError(absl::StrCat("ledger entry ", info.name, " is not an ImportResult"));
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<zarc::v1::ImportResult>> Ledger::ForItem(absl::string_view item_id) {
  return Read(absl::StrCat(prefix_, "/", Hash(item_id), "/"));
}

absl::StatusOr<std::vector<zarc::v1::ImportResult>> Ledger::All() {
  return Read(absl::StrCat(prefix_, "/"));
}

bool Settles(const std::vector<zarc::v1::ImportResult>& results) {
  std::set<std::string> mailboxes;
  int fanout = 0;
  for (const zarc::v1::ImportResult& r : results) {
    if (r.stage() == kFetcherStage) continue;
    if (r.stage() == "mapper" && r.mailbox().empty()) return true;
    mailboxes.insert(absl::AsciiStrToLower(r.mailbox()));
    fanout = std::max(fanout, r.fanout());
  }
  return !mailboxes.empty() && static_cast<int>(mailboxes.size()) >= std::max(1, fanout);
}

}  // namespace zarc::ledger
