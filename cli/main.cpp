// zarc: the command a user types. `zarc run` for one machine, `zarc <stage>` for one stage of a
// multi-process or Kubernetes deployment, and the tools around them.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "runtime/build_info/build_info.h"
#include "services/converter/converter_main.h"
#include "services/fetcher/fetcher_main.h"
#include "services/importer/importer_main.h"
#include "services/mapper/mapper_main.h"

namespace {

constexpr char kUsage[] =
    "usage: zarc <command> [options]   (zarc <command> --help for its options)\n\n"
    "  demo        archive a generated demo tenant from the Zoom simulator, end to end, here\n"
    "  run         all four stages in one process (embedded Kafka unless kafka.brokers is set)\n"
    "  fetcher     one stage: capture Zoom meetings (polling, webhooks, Sync)\n"
    "  converter   one stage: render each meeting as an RFC 5322 message\n"
    "  mapper      one stage: resolve participants to Microsoft 365 mailboxes\n"
    "  importer    one stage: archive and deliver into Inbox/Zoom Meetings, write the status log\n"
    "  sync        backfill a date range through a running fetcher, with progress\n"
    "  log         print the status log (per day, and every failed item with its reason)\n"
    "  dlq         list what the stages gave up on (the dead-letter topic) and replay it\n"
    "  verify      the completeness check: every meeting at Zoom against what was captured and\n"
    "              delivered; the gaps are driven again\n"
    "  doctor      check every configured endpoint and credential, and say how to fix problems\n"
    "  health      ask a running service over gRPC whether it is serving (exit 0 if so)\n"
    "  version     print the version, the git commit and the build date (also --version)\n\n"
    "Exit codes: 0 success, 1 failure, 2 bad usage or configuration, 3 doctor or verify found problems.\n";

int RunStage(int (*stage_main)(int, char**), const char* name, int argc, char** argv) {
  std::string program = std::string("zarc ") + name;
  std::vector<char*> args = {program.data()};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  return stage_main(static_cast<int>(args.size()) - 1, args.data());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? zarc::cli::kExitUsage : zarc::cli::kExitOk;
  }
  const std::string command = argv[1];
  if (command == "--version" || command == "version") {
    if (argc > 2) {
      std::fprintf(stderr, "zarc %s takes no arguments\n", command.c_str());
      return zarc::cli::kExitUsage;
    }
    std::fputs(zarc::VersionLine("zarc").c_str(), stdout);
    return zarc::cli::kExitOk;
  }
  const std::vector<std::string> rest(argv + 2, argv + argc);
  if (command == "fetcher") return RunStage(zarc::fetcher::RunFetcherService, "fetcher", argc, argv);
  if (command == "converter") {
    return RunStage(zarc::converter::RunConverterService, "converter", argc, argv);
  }
  if (command == "mapper") return RunStage(zarc::mapper::RunMapperService, "mapper", argc, argv);
  if (command == "importer") {
    return RunStage(zarc::importer::RunImporterService, "importer", argc, argv);
  }
  if (command == "run") return zarc::cli::Run(rest);
  if (command == "demo") return zarc::cli::Demo(rest);
  if (command == "sync") return zarc::cli::Sync(rest);
  if (command == "log") return zarc::cli::Log(rest);
  if (command == "dlq") return zarc::cli::Dlq(rest);
  if (command == "doctor") return zarc::cli::Doctor(rest);
  if (command == "verify") return zarc::cli::Verify(rest);
  if (command == "health") return zarc::cli::Health(rest);
  std::fprintf(stderr, "zarc: unknown command \"%s\"\n\n%s", command.c_str(), kUsage);
  return zarc::cli::kExitUsage;
}
