#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/json/json.h"
#include "runtime/testing/subprocess.h"

// What the cross-service tests share for running zarc's executables as separate processes.
namespace zarc::testing {

// The number after "KEY=" in a log line ("listening grpc_port=7001 metrics_port=9401"), or 0.
int PortFrom(const std::string& line, const std::string& key);

std::string ReadFile(const std::string& path);

// Runs a short-lived command and returns (exit code, stdout+stderr); -1 if it did not finish.
std::pair<int, std::string> RunCommand(std::vector<std::string> argv, absl::Duration timeout);

// A zarc service (or `zarc run`) on 127.0.0.1 with gRPC and metrics on free ports.
struct Service {
  std::unique_ptr<Subprocess> process;
  int grpc_port = 0;
  int metrics_port = 0;
};

// Starts `argv` with --listen.address=127.0.0.1 --grpc.port=0 --metrics.port=0 and waits until
// it says where it listens. Its output stays in the pipe: for chatty or long runs use
// StartLoggedService.
absl::StatusOr<Service> StartService(std::vector<std::string> argv,
                                     std::map<std::string, std::string> env = {});

// The same, with the service's output appended to `log_path` (so a long run never blocks on a
// full pipe, and a restarted service adds to the same log).
absl::StatusOr<Service> StartLoggedService(std::vector<std::string> argv,
                                           std::map<std::string, std::string> env,
                                           const std::string& log_path);

// zarc-devbroker (a durable mock Kafka cluster on 127.0.0.1), kept in *process; returns its
// bootstrap servers.
absl::StatusOr<std::string> StartDevbroker(std::unique_ptr<Subprocess>* process);

// A simulator (`binary` in build/bin, e.g. "zarc-graph-sim") with `flags`, its output in
// `log_path`; returns its base URL ("http://127.0.0.1:PORT") and keeps the process in *process.
absl::StatusOr<std::string> StartSimulator(const std::string& binary, const std::vector<std::string>& flags,
                                           const std::string& log_path,
                                           std::unique_ptr<Subprocess>* process);
// StartSimulator("zarc-zoom-sim", ...).
absl::StatusOr<std::string> StartZoomSimulator(const std::vector<std::string>& flags,
                                               const std::string& log_path,
                                               std::unique_ptr<Subprocess>* process);

// `zarc run` as a child process on 127.0.0.1, its output appended to one log file across restarts.
class ZarcRunProcess {
 public:
  // `args` follow "zarc run"; `env` is added to the environment.
  ZarcRunProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                 std::string log_path);
  ~ZarcRunProcess();
  absl::Status Start();
  // Sends `signo` (SIGKILL: a crash; SIGTERM: a clean stop) and waits for the exit.
  void Stop(int signo);
  int grpc_port() const { return service_.grpc_port; }
  int metrics_port() const { return service_.metrics_port; }
  const std::string& log_path() const { return log_path_; }
  // `zarc log --format=json` through this process's importer.
  absl::StatusOr<json::Value> StatusLog();

 private:
  std::vector<std::string> args_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  Service service_;
};

// The last `max_bytes` of a file, for failure messages.
std::string TailOf(const std::string& path, size_t max_bytes = 4000);

}  // namespace zarc::testing
