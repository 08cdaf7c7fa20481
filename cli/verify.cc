// zarc verify: the completeness check, through the fetcher's FetcherControl.Verify.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/grpc_client.h"
#include "cli/progress.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::cli {
namespace {

constexpr char kVerifyUsage[] =
    "usage: zarc verify --from DATE --to DATE [--fetcher HOST:PORT] [--report-only]\n"
    "                   [--format table|json]\n\n"
    "Asks Zoom for every meeting instance that started in [from, to) and compares it with what\n"
    "zarc captured and delivered: fully delivered, partially delivered (which file is missing and\n"
    "why), not delivered (which deliveries lack a result, or why they failed), not captured. The\n"
    "gaps are driven again (captured now, or published again) unless --report-only. The report is\n"
    "kept for the status log (zarc log) and the zarc_verify_* metrics. DATE is YYYY-MM-DD (UTC) or\n"
    "RFC 3339.\n"
    "  --fetcher      the fetcher's gRPC address (default 127.0.0.1:7001; zarc run: 127.0.0.1:7000)\n"
    "  --report-only  report the gaps, do not drive them\n"
    "Exit code 0 when nothing is missing, 3 when something is (or a Zoom listing failed), 1 when\n"
    "the check could not run.\n\n";

std::string Time(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

const char* StateName(zarc::v1::VerifyGap::State s) {
  switch (s) {
    case zarc::v1::VerifyGap::STATE_NOT_CAPTURED: return "not captured";
    case zarc::v1::VerifyGap::STATE_NOT_DELIVERED: return "not delivered";
    case zarc::v1::VerifyGap::STATE_PARTIALLY_DELIVERED: return "partially delivered";
    default: return "unknown";
  }
}

}  // namespace

std::string RenderVerifyReport(const zarc::v1::VerifyReport& r) {
  std::string out = absl::StrCat("Completeness check of meetings started ", Time(r.from()), " to ",
                                 Time(r.to()), " UTC (ran ", Time(r.ran_at()), ")\n");
  absl::StrAppend(&out, "  meetings at Zoom      ", r.meetings_at_zoom(), "\n",
                  "  captured              ", r.captured(), "\n",
                  "  fully delivered       ", r.fully_delivered(), "\n",
                  "  partially delivered   ", r.partially_delivered(), "\n",
                  "  not delivered         ", r.not_delivered(), "\n",
                  "  not captured          ", r.not_captured(), "\n");
  for (const std::string& e : r.listing_errors()) {
    absl::StrAppend(&out, "  Zoom listing failed (the check is incomplete): ", e, "\n");
  }
  if (r.gaps_size() > 0) absl::StrAppend(&out, "Gaps:\n");
  for (const zarc::v1::VerifyGap& g : r.gaps()) {
    absl::StrAppend(&out, "  ", Time(g.start_time()), "  ", StateName(g.state()), "  ", g.meeting_uuid(),
                    "  \"", g.topic(), "\"");
    if (g.mailboxes() > 0) {
      absl::StrAppend(&out, "  (", g.mailboxes_settled(), " of ", g.mailboxes(), " mailboxes settled)");
    }
    absl::StrAppend(&out, "\n");
    for (const std::string& reason : g.reasons()) absl::StrAppend(&out, "      - ", reason, "\n");
    if (!g.driven().empty()) absl::StrAppend(&out, "      driven again: ", g.driven(), "\n");
  }
  if (r.missing() == 0 && r.listing_errors_size() == 0) {
    absl::StrAppend(&out, "Nothing is missing.\n");
  } else {
    absl::StrAppend(&out, r.missing(), " meeting(s) with something missing",
                    r.report_only() ? " (not driven: --report-only)\n"
                                    : "; driven again: run zarc verify later to confirm\n");
  }
  return out;
}

int Verify(const std::vector<std::string>& args) {
  auto flags = ParseFlags(args, WithSecurityFlags({{"from", true}, {"to", true}, {"fetcher", true},
                                                    {"report-only", false}, {"format", true},
                                                    {"help", false}}));
  if (!flags.ok() || flags->count("help") || !flags->count("from") || !flags->count("to")) {
    if (!flags.ok()) std::fprintf(stderr, "zarc verify: %s\n", std::string(flags.status().message()).c_str());
    std::fputs(kVerifyUsage, flags.ok() && flags->count("help") ? stdout : stderr);
    std::fputs(kSecurityUsage, flags.ok() && flags->count("help") ? stdout : stderr);
    return flags.ok() && flags->count("help") ? kExitOk : kExitUsage;
  }
  absl::Time from, to;
  if (!ParseDate((*flags)["from"], &from) || !ParseDate((*flags)["to"], &to) || to <= from) {
    std::fprintf(stderr, "zarc verify: --from %s --to %s: need two dates (YYYY-MM-DD) with from < to\n",
                 (*flags)["from"].c_str(), (*flags)["to"].c_str());
    return kExitUsage;
  }
  const std::string format = flags->count("format") ? (*flags)["format"] : "table";
  if (format != "table" && format != "json") {
    std::fprintf(stderr, "zarc verify: --format %s is not one of table, json\n", format.c_str());
    return kExitUsage;
  }
  const std::string address = flags->count("fetcher") ? (*flags)["fetcher"] : std::string("127.0.0.1:7001");
  std::shared_ptr<grpc::Channel> channel = Dial(*flags, address, "verify");
  if (channel == nullptr) return kExitUsage;
  auto fetcher = zarc::v1::FetcherControl::NewStub(channel);
  zarc::v1::VerifyRequest req;
  req.mutable_from()->set_seconds(absl::ToUnixSeconds(from));
  req.mutable_to()->set_seconds(absl::ToUnixSeconds(to));
  req.set_report_only(flags->count("report-only") > 0);
  zarc::v1::VerifyReport report;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(6));
  grpc::Status s = fetcher->Verify(&ctx, req, &report);
  if (!s.ok()) {
    std::fprintf(stderr, "zarc verify: the fetcher at %s could not check: %s\n", address.c_str(),
                 s.error_message().c_str());
    return kExitFailed;
  }
  if (format == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(report, &json, options);
    std::fputs(json.c_str(), stdout);
  } else {
    std::fputs(RenderVerifyReport(report).c_str(), stdout);
  }
  return report.missing() == 0 && report.listing_errors_size() == 0 ? kExitOk : kExitProblems;
}

}  // namespace zarc::cli
