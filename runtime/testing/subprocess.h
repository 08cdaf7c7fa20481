#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace zarc::testing {

// A child process started with posix_spawn (safe in a process that already has threads), its
// stdout and stderr readable line by line. Destruction kills it (SIGKILL) if still running.
class Subprocess {
 public:
  struct Options {
    std::vector<std::string> argv;                  // argv[0] is the program path
    std::map<std::string, std::string> extra_env;   // added to (or overriding) this environment
    bool capture_stdout = true;
    bool merge_stderr = false;  // stderr into the same pipe as stdout; else inherited
  };

  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const Options& options);
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Reads lines until one contains `needle`; returns that line. Fails after `timeout` or at EOF,
  // quoting what was read so a failing test shows the child's output.
  absl::StatusOr<std::string> WaitForLine(absl::string_view needle, absl::Duration timeout);
  // Everything read so far (lines consumed by WaitForLine included).
  const std::string& output() const { return output_; }
  // Reads the rest of stdout until EOF (child exited or closed it).
  std::string ReadRemaining(absl::Duration timeout);

  void Signal(int signo);
  // Waits for exit; returns the exit code, or 128+signal if killed by a signal.
  absl::StatusOr<int> Wait(absl::Duration timeout);

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = 0;
  std::string output_;
  std::string pending_;  // read but not yet returned by WaitForLine
};

// Path of an executable built into build/bin (from ZARC_BINARY_DIR), or of a test binary in
// build/tests.
std::string BinPath(absl::string_view name);
std::string TestBinPath(absl::string_view name);
std::string SourcePath(absl::string_view relative);
// A fresh temporary directory, removed (recursively) by the returned object's destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Peak resident set size of this process so far (VmHWM), in bytes.
uint64_t PeakRssBytes();
// Current resident set size (VmRSS), in bytes.
uint64_t CurrentRssBytes();

}  // namespace zarc::testing
