#pragma once

#include <string>
#include <vector>

namespace zarc::v1 {
class VerifyReport;
}

namespace zarc::cli {

// Each `zarc <command>` is a function of its arguments (without "zarc <command>") that returns
// the process exit code. Exit codes scripts can rely on:
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;      // the command ran and something failed
inline constexpr int kExitUsage = 2;       // bad arguments or configuration
inline constexpr int kExitProblems = 3;    // doctor: checks found problems; verify: gaps found

int Sync(const std::vector<std::string>& args);
int Log(const std::vector<std::string>& args);
int Doctor(const std::vector<std::string>& args);
int Run(const std::vector<std::string>& args);
int Demo(const std::vector<std::string>& args);
int Verify(const std::vector<std::string>& args);
int Health(const std::vector<std::string>& args);
int Dlq(const std::vector<std::string>& args);

// A completeness report as zarc verify and zarc log print it.
std::string RenderVerifyReport(const zarc::v1::VerifyReport& report);

}  // namespace zarc::cli
