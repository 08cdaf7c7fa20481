#include "services/fetcher/capture.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "runtime/crypto/digest.h"
#include "runtime/log/log.h"
#include "services/fetcher/meeting_assembly.h"

namespace zarc::fetcher {

VersionStore::VersionStore(blob::BlobStore& store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {}

std::string VersionStore::Folder(const std::string& uuid) const {
  return absl::StrCat(prefix_, "/", crypto::Sha256Hex(uuid).substr(0, 40), "/");
}

absl::StatusOr<std::optional<zarc::v1::MeetingCaptured>> VersionStore::Latest(
    const std::string& uuid) {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(Folder(uuid));
  if (!list.ok()) return list.status();
  if (list->empty()) return std::optional<zarc::v1::MeetingCaptured>();
  // zero-padded: the last is the newest
  absl::StatusOr<zarc::v1::MeetingCaptured> event = ReadRecord(list->back().name);
  if (!event.ok()) return event.status();
  return std::optional<zarc::v1::MeetingCaptured>(*std::move(event));
}

absl::StatusOr<zarc::v1::MeetingCaptured> VersionStore::ReadRecord(absl::string_view name) {
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = store_.Open(name);
  if (!source.ok()) return source.status();
  absl::StatusOr<std::string> bytes = io::ReadAll(**source, 64 << 20);
  if (!bytes.ok()) return bytes.status();
  zarc::v1::MeetingCaptured event;
  if (!event.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("version record ", name, " is not a MeetingCaptured"));
  }
  return event;
}

absl::StatusOr<std::vector<zarc::v1::MeetingCaptured>> VersionStore::AllVersions(
    const std::string& uuid) {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(Folder(uuid));
  if (!list.ok()) return list.status();
  std::vector<zarc::v1::MeetingCaptured> out;
  for (const blob::BlobInfo& info : *list) {
    absl::StatusOr<zarc::v1::MeetingCaptured> event = ReadRecord(info.name);
    if (!event.ok()) return event.status();
    out.push_back(*std::move(event));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> VersionStore::ListRecords() {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(prefix_ + "/");
  if (!list.ok()) return list.status();
  std::vector<std::string> names;
  names.reserve(list->size());
  for (const blob::BlobInfo& info : *list) {
    if (absl::EndsWith(info.name, ".pb")) names.push_back(info.name);
  }
  return names;
}

absl::Status VersionStore::Record(const zarc::v1::MeetingCaptured& event) {
  const std::string name =
      absl::StrCat(Folder(event.meeting().uuid()), absl::StrFormat("v%06d.pb", event.version()));
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      store_.Create(name, blob::WriteOptions{.content_type = "application/x-protobuf"});
  if (!writer.ok()) return writer.status();
  if (absl::Status s = (*writer)->Write(event.SerializeAsString()); !s.ok()) return s;
  absl::Status closed = (*writer)->Close();
  // Another replica recorded the same version first: same meeting, same files, nothing to do.
  if (closed.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  return closed;
}

const char* OutcomeName(CaptureOutcome outcome) {
  switch (outcome) {
    case CaptureOutcome::kCaptured: return "captured";
    case CaptureOutcome::kDuplicate: return "duplicate";
    case CaptureOutcome::kPending: return "pending";
  }
  return "unknown";
}

struct MeetingCapturer::Metrics {
  prometheus::Family<prometheus::Counter>* meetings = nullptr;
  prometheus::Histogram* lag = nullptr;
};

MeetingCapturer::MeetingCapturer(ZoomApi& api, ZoomDownloader& downloader, VersionStore& versions,
                                 MeetingPublisher publish, prometheus::Registry* registry)
    : api_(api),
      downloader_(downloader),
      versions_(versions),
      publish_(std::move(publish)),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->meetings = &prometheus::BuildCounter()
                              .Name("zarc_fetcher_meetings_total")
                              .Help("Meetings seen by the fetcher, by outcome and source")
                              .Register(*registry);
    metrics_->lag = &prometheus::BuildHistogram()
                         .Name("zarc_fetcher_capture_lag_seconds")
                         .Help("Time from meeting end to capture of a new version")
                         .Register(*registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400});
  }
}

MeetingCapturer::~MeetingCapturer() = default;

absl::Mutex& MeetingCapturer::LockFor(const std::string& uuid) {
  return locks_[std::hash<std::string>{}(uuid) % locks_.size()];
}

namespace {
const char* SourceName(zarc::v1::CaptureSource s) {
  switch (s) {
    case zarc::v1::CAPTURE_SOURCE_POLL: return "poll";
    case zarc::v1::CAPTURE_SOURCE_WEBHOOK: return "webhook";
    case zarc::v1::CAPTURE_SOURCE_SYNC: return "sync";
    default: return "unknown";
  }
}
}  // namespace

absl::StatusOr<CaptureOutcome> MeetingCapturer::Capture(const ZoomMeeting& meeting,
                                                        zarc::v1::CaptureSource source,
                                                        const std::string& download_token) {
  if (meeting.uuid.empty()) return absl::InvalidArgumentError("meeting without uuid");
  absl::MutexLock meeting_lock(&LockFor(meeting.uuid));
  auto count = [&](CaptureOutcome o) {
    if (metrics_->meetings != nullptr) {
      metrics_->meetings->Add({{"outcome", OutcomeName(o)}, {"source", SourceName(source)}})
          .Increment();
    }
    return o;
  };

  for (const ZoomFile& f : meeting.files) {
    if (!f.Ready()) return count(CaptureOutcome::kPending);
  }
  absl::StatusOr<std::optional<zarc::v1::MeetingCaptured>> previous = versions_.Latest(meeting.uuid);
  if (!previous.ok()) return previous.status();
  std::map<std::string, zarc::v1::Artifact> known;
  if (previous->has_value()) {
    for (const zarc::v1::Artifact& a : (*previous)->artifacts()) known[a.file_id()] = a;
  }
  bool anything_new = false;
  for (const ZoomFile& f : meeting.files) anything_new |= known.count(f.StableId()) == 0;
  if (previous->has_value() && !anything_new) return count(CaptureOutcome::kDuplicate);

  zarc::v1::MeetingCaptured event;
  std::vector<std::string> problems;
  absl::StatusOr<ZoomPastMeeting> details = api_.PastMeeting(meeting.uuid);
  if (!details.ok()) {
    if (details.status().code() != absl::StatusCode::kNotFound) return details.status();
    problems.push_back(absl::StrCat("meeting details unavailable: ", details.status().message()));
  }
  *event.mutable_meeting() = MeetingProto(meeting, details.ok() ? &*details : nullptr);
  absl::StatusOr<std::vector<ZoomParticipantRow>> rows = api_.Participants(meeting.uuid);
  if (!rows.ok()) {
    if (rows.status().code() != absl::StatusCode::kNotFound) return rows.status();
    problems.push_back(absl::StrCat("participant list unavailable: ", rows.status().message()));
  } else {
    for (zarc::v1::Participant& p : MergeParticipants(*rows)) *event.add_participants() = std::move(p);
  }

  // Files already captured in an earlier version keep their staged blobs; new ones are downloaded.
  std::vector<std::string> used_names;
  for (const auto& [id, a] : known) used_names.push_back(a.file_name());
  std::map<std::string, zarc::v1::Artifact> artifacts = known;
  for (const ZoomFile& f : meeting.files) {
    const std::string id = f.StableId();
    if (artifacts.count(id) != 0) continue;
    absl::StatusOr<ZoomDownloader::Result> got = downloader_.Download(f, download_token);
    if (!got.ok()) {
      // Only a refusal that names the file (host not allowed, gone from Zoom) is final; anything
      // else, our own storage included, is worth another attempt later.
      const absl::StatusCode code = got.status().code();
      if (code != absl::StatusCode::kPermissionDenied && code != absl::StatusCode::kNotFound) {
        log::Warn("fetcher", "meeting left for a later attempt",
                  {{"meeting_uuid", meeting.uuid}, {"error", got.status()}});
        return count(CaptureOutcome::kPending);
      }
      // Refused for good (host not allowed, HTML refusal, gone): the item says so plainly.
      problems.push_back(absl::StrCat(f.file_type, " file ", id, " not captured: ",
                                      got.status().message()));
      continue;
    }
    if (!got->problem.empty()) problems.push_back(got->problem);
    zarc::v1::Artifact a;
    a.set_file_id(id);
    a.set_kind(KindOf(f));
    a.set_zoom_file_type(f.file_type);
    a.set_recording_type(f.recording_type);
    a.set_file_name(AttachmentName(f, used_names));
    zarc::v1::BlobRef* ref = a.mutable_blob();
    ref->set_name(got->blob.name);
    ref->set_uri(got->uri);
    ref->set_size(got->blob.size);
    ref->set_sha256(got->blob.sha256);
    ref->set_content_type(got->blob.content_type);
    *a.mutable_recording_start() = ToProto(f.recording_start);
    *a.mutable_recording_end() = ToProto(f.recording_end);
    a.set_listed_size(static_cast<uint64_t>(std::max<int64_t>(0, f.file_size)));
    a.set_participant_email(f.participant_email);
    artifacts[id] = std::move(a);
  }
  // Nothing was added (the only new files were refused again): the last version stands. A refusal
  // on a first capture is published with the item, as a problem, so it is never silent.
  if (previous->has_value() && artifacts.size() == known.size()) {
    for (const std::string& p : problems) {
      log::Warn("fetcher", "file still not captured", {{"meeting_uuid", meeting.uuid}, {"problem", p}});
    }
    return count(CaptureOutcome::kDuplicate);
  }
  for (auto& [id, a] : artifacts) *event.add_artifacts() = a;
  for (std::string& p : problems) event.add_problems(std::move(p));
  event.set_version(previous->has_value() ? (*previous)->version() + 1 : 1);
  event.set_source(source);
  *event.mutable_captured_at() = ToProto(absl::Now());

  if (absl::Status s = publish_(event); !s.ok()) return s;
  if (absl::Status s = versions_.Record(event); !s.ok()) return s;
  if (metrics_->lag != nullptr && event.meeting().end_time().seconds() > 0) {
    metrics_->lag->Observe(std::max<double>(
        0, absl::ToDoubleSeconds(absl::Now() - absl::FromUnixSeconds(event.meeting().end_time().seconds()))));
  }
  log::Info("fetcher", "meeting captured",
            {{"meeting_uuid", meeting.uuid}, {"version", event.version()},
             {"artifacts", event.artifacts_size()}, {"participants", event.participants_size()},
             {"source", SourceName(source)}});
  return count(CaptureOutcome::kCaptured);
}

}  // namespace zarc::fetcher
