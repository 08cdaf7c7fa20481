#include "runtime/ledger/verify_reports.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace zarc::ledger {
namespace {
constexpr char kPrefix[] = "state/verify/reports/";
}  // namespace

absl::Status KeepVerifyReport(blob::BlobStore& store, const zarc::v1::VerifyReport& report) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  if (auto s = google::protobuf::util::MessageToJsonString(report, &json, options); !s.ok()) {
    return absl::InternalError(absl::StrCat("completeness report to JSON: ", s.ToString()));
  }
  const absl::Time ran = absl::FromUnixSeconds(report.ran_at().seconds()) +
                         absl::Nanoseconds(report.ran_at().nanos());
  // Named by when it ran, so the newest sorts last.
  const std::string name =
      absl::StrCat(kPrefix, absl::FormatTime("%Y%m%dT%H%M%E6SZ", ran, absl::UTCTimeZone()), ".json");
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      store.Create(name, blob::WriteOptions{.content_type = "application/json"});
  if (!writer.ok()) return writer.status();
  if (absl::Status s = (*writer)->Write(json); !s.ok()) return s;
  return (*writer)->Close();
}

absl::StatusOr<zarc::v1::VerifyReport> LatestVerifyReport(blob::BlobStore& store) {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store.List(kPrefix);
  if (!list.ok()) return list.status();
  if (list->empty()) return absl::NotFoundError("no completeness check (zarc verify) has run yet");
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = store.Open(list->back().name);
  if (!source.ok()) return source.status();
  absl::StatusOr<std::string> text = io::ReadAll(**source, 64 << 20);
  if (!text.ok()) return text.status();
  zarc::v1::VerifyReport report;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (auto s = google::protobuf::util::JsonStringToMessage(*text, &report, options); !s.ok()) {
    return absl::DataLossError(absl::StrCat("completeness report ", list->back().name, ": ", s.ToString()));
  }
  return report;
}

}  // namespace zarc::ledger
