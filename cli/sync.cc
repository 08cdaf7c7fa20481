// zarc sync: a backfill through the fetcher's FetcherControl.Sync, with progress.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>

#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/grpc_client.h"
#include "cli/progress.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::cli {
namespace {

constexpr char kSyncUsage[] =
    "usage: zarc sync --from DATE --to DATE [--fetcher HOST:PORT] [--importer HOST:PORT] "
    "[--archiving]\n\n"
    "Captures every meeting that started in [from, to) through a running fetcher (zarc run or\n"
    "zarc fetcher) and shows progress. DATE is YYYY-MM-DD (UTC) or RFC 3339.\n"
    "  --fetcher    the fetcher's gRPC address (default 127.0.0.1:7001; zarc run: 127.0.0.1:7000)\n"
    "  --importer   the importer's gRPC address, to count deliveries (optional)\n"
    "  --archiving  list archive files only (Zoom's Archiving API) this time; without it\n"
    "               the sync lists what fetcher.sources says (default auto: both sources\n"
    "               when the account has the Archiving API)\n"
    "Exit code 0 when every meeting was captured, 1 when some failed or are still pending.\n\n";

// Deliveries recorded by the importer so far (all days), or -1 if it cannot be asked.
int64_t Delivered(zarc::v1::ImporterControl::Stub* importer) {
  if (importer == nullptr) return -1;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  zarc::v1::GetImportStatusRequest req;
  zarc::v1::GetImportStatusResponse resp;
  if (!importer->GetImportStatus(&ctx, req, &resp).ok()) return -1;
  int64_t n = 0;
  for (const auto& d : resp.days()) n += d.imported() + d.partially_imported() + d.skipped();
  return n;
}

}  // namespace

int Sync(const std::vector<std::string>& args) {
  auto flags = ParseFlags(args, WithSecurityFlags({{"from", true}, {"to", true}, {"fetcher", true},
                                                    {"importer", true}, {"archiving", false},
                                                    {"help", false}}));
  if (!flags.ok() || flags->count("help") || !flags->count("from") || !flags->count("to")) {
    if (!flags.ok()) std::fprintf(stderr, "zarc sync: %s\n", std::string(flags.status().message()).c_str());
    std::fputs(kSyncUsage, flags.ok() && flags->count("help") ? stdout : stderr);
    std::fputs(kSecurityUsage, flags.ok() && flags->count("help") ? stdout : stderr);
    return flags.ok() && flags->count("help") ? kExitOk : kExitUsage;
  }
  absl::Time from, to;
  if (!ParseDate((*flags)["from"], &from) || !ParseDate((*flags)["to"], &to) || to <= from) {
    std::fprintf(stderr, "zarc sync: --from %s --to %s: need two dates (YYYY-MM-DD) with from < to\n",
                 (*flags)["from"].c_str(), (*flags)["to"].c_str());
    return kExitUsage;
  }
  const std::string fetcher_address =
      flags->count("fetcher") ? (*flags)["fetcher"] : std::string("127.0.0.1:7001");
  std::shared_ptr<grpc::Channel> fetcher_channel = Dial(*flags, fetcher_address, "sync");
  if (fetcher_channel == nullptr) return kExitUsage;
  auto fetcher = zarc::v1::FetcherControl::NewStub(fetcher_channel);
  std::unique_ptr<zarc::v1::ImporterControl::Stub> importer;
  if (flags->count("importer")) {
    std::shared_ptr<grpc::Channel> importer_channel = Dial(*flags, (*flags)["importer"], "sync");
    if (importer_channel == nullptr) return kExitUsage;
    importer = zarc::v1::ImporterControl::NewStub(importer_channel);
  }

  zarc::v1::SyncRequest req;
  req.mutable_from()->set_seconds(absl::ToUnixSeconds(from));
  req.mutable_to()->set_seconds(absl::ToUnixSeconds(to));
  req.set_use_archiving_api(flags->count("archiving") > 0);
  zarc::v1::SyncResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status s = fetcher->Sync(&ctx, req, &resp);
  if (!s.ok()) {
    std::fprintf(stderr, "zarc sync: the fetcher at %s refused or is unreachable: %s\n",
                 fetcher_address.c_str(), s.error_message().c_str());
    return kExitFailed;
  }
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  const absl::Time start = absl::Now();
  const int64_t delivered_before = Delivered(importer.get());
  absl::Time last_plain = absl::InfinitePast();
  while (true) {
    zarc::v1::GetSyncStatusRequest status_req;
    status_req.set_sync_id(resp.sync_id());
    zarc::v1::SyncStatus status;
    grpc::ClientContext status_ctx;
    status_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = fetcher->GetSyncStatus(&status_ctx, status_req, &status);
    if (!st.ok()) {
      std::fprintf(stderr, "\nzarc sync: lost the fetcher at %s: %s\n", fetcher_address.c_str(),
                   st.error_message().c_str());
      return kExitFailed;
    }
    SyncSnapshot snap;
    snap.found = status.meetings_found();
    snap.captured = status.meetings_captured();
    snap.failed = status.meetings_failed();
    const int64_t delivered_now = Delivered(importer.get());
    snap.delivered = delivered_before < 0 || delivered_now < 0 ? -1 : delivered_now - delivered_before;
    snap.elapsed = absl::Now() - start;
    snap.done = status.state() != zarc::v1::SyncStatus::STATE_RUNNING;
    if (terminal) {
      std::printf("\r%s", ProgressLine(snap, true).c_str());
      std::fflush(stdout);
    } else if (snap.done || absl::Now() - last_plain > absl::Seconds(5)) {
      std::printf("%s\n", ProgressLine(snap, false).c_str());
      std::fflush(stdout);
      last_plain = absl::Now();
    }
    if (snap.done) {
      if (terminal) std::printf("\n");
      if (status.state() == zarc::v1::SyncStatus::STATE_FAILED) {
        std::fprintf(stderr, "zarc sync: failed: %s\n", status.error().c_str());
        return kExitFailed;
      }
      return snap.failed > 0 ? kExitFailed : kExitOk;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

}  // namespace zarc::cli
