#include "tests/support/processes.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace zarc::testing {
namespace {

constexpr const char* kHostFlags[] = {"--listen.address=127.0.0.1", "--grpc.port=0", "--metrics.port=0"};

Service FromLine(const std::string& line, std::unique_ptr<Subprocess> process) {
  Service s;
  s.grpc_port = PortFrom(line, "grpc_port");
  s.metrics_port = PortFrom(line, "metrics_port");
  s.process = std::move(process);
  return s;
}

}  // namespace

int PortFrom(const std::string& line, const std::string& key) {
  const size_t at = line.find(key + "=");
  int port = 0;
  if (at != std::string::npos) {
    (void)absl::SimpleAtoi(line.substr(at + key.size() + 1, line.find(' ', at) - at - key.size() - 1),
                           &port);
  }
  return port;
}

std::string ReadFile(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

std::pair<int, std::string> RunCommand(std::vector<std::string> argv, absl::Duration timeout) {
  auto p = Subprocess::Start({.argv = std::move(argv), .merge_stderr = true});
  if (!p.ok()) return {-1, std::string(p.status().message())};
  // Read while it runs: a command whose output outgrows the pipe would otherwise never exit.
  std::string out = (*p)->ReadRemaining(timeout);
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(5));
  return {code.ok() ? *code : -1, out};
}

absl::StatusOr<Service> StartService(std::vector<std::string> argv,
                                     std::map<std::string, std::string> env) {
  for (const char* a : kHostFlags) argv.push_back(a);
  auto p = Subprocess::Start({.argv = argv, .extra_env = env, .merge_stderr = true});
  if (!p.ok()) return p.status();
  absl::StatusOr<std::string> line = (*p)->WaitForLine("listening grpc_port", absl::Seconds(60));
  if (!line.ok()) return line.status();
  return FromLine(*line, *std::move(p));
}

absl::StatusOr<Service> StartLoggedService(std::vector<std::string> argv,
                                           std::map<std::string, std::string> env,
                                           const std::string& log_path) {
  for (const char* a : kHostFlags) argv.push_back(a);
  const size_t start = ReadFile(log_path).size();
  std::vector<std::string> shell = {"/bin/sh", "-c", "exec \"$@\" >>'" + log_path + "' 2>&1", "sh"};
  shell.insert(shell.end(), argv.begin(), argv.end());
  auto p = Subprocess::Start({.argv = shell, .extra_env = env, .capture_stdout = false});
  if (!p.ok()) return p.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    const std::string text = ReadFile(log_path);
    const size_t at = text.find("listening grpc_port", start);
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      const size_t begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
      return FromLine(text.substr(begin, text.find('\n', at) - begin), *std::move(p));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not start within 60 s; its log ends:\n",
                                                  TailOf(log_path)));
}

absl::StatusOr<std::string> StartDevbroker(std::unique_ptr<Subprocess>* process) {
  auto broker = Subprocess::Start({.argv = {BinPath("zarc-devbroker")}});
  if (!broker.ok()) return broker.status();
  absl::StatusOr<std::string> line = (*broker)->WaitForLine("bootstrap.servers=", absl::Seconds(30));
  if (!line.ok()) return line.status();
  *process = *std::move(broker);
  return line->substr(line->find('=') + 1);
}

absl::StatusOr<std::string> StartZoomSimulator(const std::vector<std::string>& flags,
                                               const std::string& log_path,
                                               std::unique_ptr<Subprocess>* process) {
  return StartSimulator("zarc-zoom-sim", flags, log_path, process);
}

absl::StatusOr<std::string> StartSimulator(const std::string& binary, const std::vector<std::string>& flags,
                                           const std::string& log_path,
                                           std::unique_ptr<Subprocess>* process) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$@\" >'" + log_path + "' 2>&1", "sh",
                                   BinPath(binary)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto p = Subprocess::Start({.argv = argv, .capture_stdout = false});
  if (!p.ok()) return p.status();
  *process = *std::move(p);
  const std::string kListening = "listening on ";
  for (absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;) {
    const std::string text = ReadFile(log_path);
    if (const size_t at = text.find(kListening); at != std::string::npos) {
      const size_t end = text.find('\n', at);
      if (end != std::string::npos) return text.substr(at + kListening.size(), end - at - kListening.size());
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(binary, " did not start: ", TailOf(log_path)));
}

ZarcRunProcess::ZarcRunProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                               std::string log_path)
    : args_(std::move(args)), env_(std::move(env)), log_path_(std::move(log_path)) {
  args_.insert(args_.begin(), {BinPath("zarc"), "run"});
}

ZarcRunProcess::~ZarcRunProcess() {
  if (service_.process) Stop(SIGTERM);
}

absl::Status ZarcRunProcess::Start() {
  absl::StatusOr<Service> s = StartLoggedService(args_, env_, log_path_);
  if (!s.ok()) return s.status();
  service_ = *std::move(s);
  return absl::OkStatus();
}

void ZarcRunProcess::Stop(int signo) {
  if (!service_.process) return;
  service_.process->Signal(signo);
  if (!service_.process->Wait(absl::Seconds(60)).ok()) {
    service_.process->Signal(SIGKILL);
    (void)service_.process->Wait(absl::Seconds(10));
  }
  service_.process.reset();
}

absl::StatusOr<json::Value> ZarcRunProcess::StatusLog() {
  auto [code, out] = RunCommand({BinPath("zarc"), "log", "--format=json",
                                 absl::StrCat("--importer=127.0.0.1:", service_.grpc_port)},
                                absl::Seconds(60));
  if (code != 0) {
    return absl::InternalError(absl::StrCat("zarc log exited ", code, ": ", out.substr(0, 2000)));
  }
  return json::Parse(out.substr(out.find('{')), "zarc log --format=json");
}

std::string TailOf(const std::string& path, size_t max_bytes) {
  const std::string text = ReadFile(path);
  return text.size() <= max_bytes ? text : text.substr(text.size() - max_bytes);
}

}  // namespace zarc::testing
