// Test helper for stage_runner_crash_test: one StageRunner copying --in to --out, printing
// "handled P/O" when its handler runs and "acked P/O" when the outputs are acknowledged (just
// before the commit). --die-before-commit-at O makes it _exit(3) at that point for offset O;
// --hang-before-commit-at O makes it print "hanging P/O" and block there (to be SIGKILLed).
// SIGTERM stops it cleanly (exit 0).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/kafka/stage_runner.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "runtime/log/log.h"

namespace {

void Say(const std::string& line) {
  std::cout << line << std::endl;  // flushed: the test reads it through a pipe
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string bootstrap, group, in, out;
  int64_t die_at = -1, hang_at = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--bootstrap")
      bootstrap = value;
    else if (flag == "--group")
      group = value;
    else if (flag == "--in")
      in = value;
    else if (flag == "--out")
      out = value;
    else if (flag == "--die-before-commit-at")
      (void)absl::SimpleAtoi(value, &die_at);
    else if (flag == "--hang-before-commit-at")
      (void)absl::SimpleAtoi(value, &hang_at);
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  zarc::log::Configure(zarc::log::Level::kWarn, zarc::log::Format::kText);

  zarc::kafka::StageRunnerOptions options;
  options.stage = "crash-test";
  options.group_id = group;
  options.input_topics = {in};
  options.before_commit_for_testing = [&](const zarc::kafka::Record& record) {
    const std::string where = absl::StrCat(record.partition, "/", record.offset);
    Say("acked " + where);
    if (record.offset == die_at) _exit(3);
    if (record.offset == hang_at) {
      Say("hanging " + where);
      while (true) pause();
    }
  };
  auto runner = zarc::kafka::StageRunner::Create(
      zarc::kafka::testing::FastTestConfig(bootstrap), options,
      [&](const zarc::kafka::Record& record)
          -> absl::StatusOr<std::vector<zarc::kafka::OutgoingRecord>> {
        Say(absl::StrCat("handled ", record.partition, "/", record.offset));
        return std::vector<zarc::kafka::OutgoingRecord>{
            {out, record.key, absl::StrCat("copy of ", record.partition, "/", record.offset), {}}};
      });
  if (!runner.ok()) {
    std::cerr << runner.status() << "\n";
    return 1;
  }
  std::thread signal_watcher([&] {
    int signo = 0;
    sigwait(&stop_signals, &signo);
    (*runner)->Stop();
  });
  signal_watcher.detach();  // blocked in sigwait until the process ends
  const absl::Status status = (*runner)->Run();
  Say(status.ok() ? "stopped" : "failed: " + status.ToString());
  return status.ok() ? 0 : 1;
}
