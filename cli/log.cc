// zarc log: the status log, from the zarc.import-log topic or from a running importer.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/grpc_client.h"
#include "runtime/json/json.h"
#include "services/importer/status_log.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::cli {
namespace {

// The largest GetImportStatus answer `zarc log` takes (gRPC's default is 4 MB): about 1.5
// million artifacts of ~170 bytes each.
constexpr int kStatusLogMaxAnswerBytes = 256 * 1024 * 1024;

constexpr char kLogUsage[] =
    "usage: zarc log (--brokers HOST:PORT | --importer HOST:PORT) [--from YYYY-MM-DD] "
    "[--to YYYY-MM-DD] [--format table|csv|json]\n"
    "       [--table days|failed|not_delivered|partially_imported|artifacts | --output-dir DIR]\n\n"
    "Prints the status log per day: items available from source, available for import (after\n"
    "fan-out to mailboxes), imported, partially imported, skipped (duplicates), failed; then every\n"
    "failed item with its item ID, source user, Microsoft 365 user and reason; with --format\n"
    "json or csv also every artifact of every item with its size and SHA-256.\n"
    "  --brokers    read the zarc.import-log topic directly (also ZARC_KAFKA_BROKERS)\n"
    "  --importer   ask a running importer (zarc importer, or zarc run) over gRPC\n"
    "  --format csv writes one table: the one --table names to standard output, or each table\n"
    "               to its own file with --output-dir (days.csv, failed.csv, not_delivered.csv,\n"
    "               partially_imported.csv, artifacts.csv).\n"
    "               A cell starting with = + - @ is prefixed with ' so spreadsheets show text.\n\n";

// days.csv, failed.csv, not_delivered.csv, partially_imported.csv and artifacts.csv in `dir` (created if missing), each written whole
// under a temporary name and renamed, so a reader never sees half a table.
int WriteCsvFiles(const importer::StatusReport& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "zarc log: cannot create --output-dir %s: %s\n", dir.c_str(),
                 ec.message().c_str());
    return kExitFailed;
  }
  for (importer::CsvTable t : importer::kCsvTables) {
    const std::filesystem::path path =
        std::filesystem::path(dir) / absl::StrCat(importer::CsvTableName(t), ".csv");
    const std::filesystem::path tmp = path.string() + ".tmp";
    const std::string csv = importer::RenderCsv(report, t);
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(csv.data(), static_cast<std::streamsize>(csv.size()));
      if (!out.good()) {
        std::fprintf(stderr, "zarc log: cannot write %s\n", tmp.c_str());
        return kExitFailed;
      }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
      std::fprintf(stderr, "zarc log: cannot rename %s to %s: %s\n", tmp.c_str(), path.c_str(),
                   ec.message().c_str());
      return kExitFailed;
    }
    std::printf("wrote %s\n", path.c_str());
  }
  return kExitOk;
}

}  // namespace

int Log(const std::vector<std::string>& args) {
  auto flags = ParseFlags(args, WithSecurityFlags({{"brokers", true}, {"importer", true},
                                                    {"from", true}, {"to", true}, {"format", true},
                                                    {"table", true}, {"output-dir", true},
                                                    {"help", false}}));
  if (!flags.ok()) {
    std::fprintf(stderr, "zarc log: %s\n%s%s", std::string(flags.status().message()).c_str(),
                 kLogUsage, kSecurityUsage);
    return kExitUsage;
  }
  if (flags->count("help")) {
    std::fputs(kLogUsage, stdout);
    std::fputs(kSecurityUsage, stdout);
    return kExitOk;
  }
  std::string brokers = flags->count("brokers") ? (*flags)["brokers"] : "";
  if (brokers.empty()) {
    if (const char* env = std::getenv("ZARC_KAFKA_BROKERS")) brokers = env;
  }
  const std::string format = flags->count("format") ? (*flags)["format"] : "table";
  if (format != "table" && format != "csv" && format != "json") {
    std::fprintf(stderr, "zarc log: --format %s is not one of table, csv, json\n", format.c_str());
    return kExitUsage;
  }
  std::optional<importer::CsvTable> table;
  if (flags->count("table")) {
    absl::StatusOr<importer::CsvTable> parsed = importer::ParseCsvTable((*flags)["table"]);
    if (!parsed.ok()) {
      std::fprintf(stderr, "zarc log: --table: %s\n", std::string(parsed.status().message()).c_str());
      return kExitUsage;
    }
    table = *parsed;
  }
  const std::string output_dir = flags->count("output-dir") ? (*flags)["output-dir"] : "";
  if (format != "csv" && (table.has_value() || !output_dir.empty())) {
    std::fprintf(stderr, "zarc log: --table and --output-dir go with --format csv\n");
    return kExitUsage;
  }
  if (format == "csv" && table.has_value() == !output_dir.empty()) {
    std::fprintf(stderr,
                 "zarc log: --format csv writes one table per file: give --table "
                 "days|failed|not_delivered|partially_imported|artifacts (to standard output) or --output-dir DIR (one file "
                 "per table), not %s\n",
                 table.has_value() ? "both" : "neither");
    return kExitUsage;
  }
  const std::string from = flags->count("from") ? (*flags)["from"] : "";
  const std::string to = flags->count("to") ? (*flags)["to"] : "";
  for (const auto& [day, what] : {std::pair{from, "--from"}, std::pair{to, "--to"}}) {
    if (!day.empty()) {
      if (absl::Status s = importer::ValidateDay(day, what); !s.ok()) {
        std::fprintf(stderr, "zarc log: %s\n", std::string(s.message()).c_str());
        return kExitUsage;
      }
    }
  }

  importer::StatusReport report;
  std::optional<zarc::v1::VerifyReport> completeness;
  if (flags->count("importer")) {
    // The artifacts table lists every artifact of every item in range, with its SHA-256: for a
    // large tenant's month, far beyond gRPC's default 4 MB answer.
    std::shared_ptr<grpc::Channel> channel =
        Dial(*flags, (*flags)["importer"], "log", kStatusLogMaxAnswerBytes);
    if (channel == nullptr) return kExitUsage;
    auto stub = zarc::v1::ImporterControl::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    zarc::v1::GetImportStatusRequest req;
    req.set_from_day(from);
    req.set_to_day(to);
    req.set_with_artifacts(format != "table");  // the text table shows no artifacts
    zarc::v1::GetImportStatusResponse resp;
    grpc::Status s = stub->GetImportStatus(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "zarc log: the importer at %s did not answer: %s\n",
                   (*flags)["importer"].c_str(), s.error_message().c_str());
      return kExitFailed;
    }
    report = importer::FromProto(resp);
    if (resp.has_completeness()) completeness = resp.completeness();
  } else if (!brokers.empty()) {
    kafka::KafkaConfig config;
    config.bootstrap_servers = brokers;
    config.client_id = "zarc-log";
    absl::StatusOr<importer::StatusReport> read = importer::ReadStatusReport(config, from, to);
    if (!read.ok()) {
      std::fprintf(stderr, "zarc log: cannot read zarc.import-log from %s: %s\n", brokers.c_str(),
                   std::string(read.status().message()).c_str());
      return kExitFailed;
    }
    report = *std::move(read);
  } else {
    std::fprintf(stderr, "zarc log: say where the log is: --brokers or --importer\n%s", kLogUsage);
    return kExitUsage;
  }
  if (format == "csv" && !output_dir.empty()) return WriteCsvFiles(report, output_dir);
  std::string out = format == "json"  ? importer::RenderJson(report)
                    : format == "csv" ? importer::RenderCsv(report, *table)
                                      : importer::RenderTable(report);
  // The newest completeness check (zarc verify), where the importer could read it.
  if (completeness.has_value() && format == "table") {
    absl::StrAppend(&out, "\n", RenderVerifyReport(*completeness));
  } else if (completeness.has_value() && format == "json") {
    std::string report_json;
    (void)google::protobuf::util::MessageToJsonString(*completeness, &report_json);
    absl::StatusOr<json::Value> whole = json::Parse(out, "status log");
    absl::StatusOr<json::Value> part = json::Parse(report_json, "completeness report");
    if (whole.ok() && part.ok()) {
      (*whole)["completeness"] = *part;
      out = json::Serialize(*whole) + "\n";
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace zarc::cli
