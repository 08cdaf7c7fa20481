#pragma once

#include <string>
#include <vector>

namespace zarc::cli {

// Each `zarc <command>` is a function of its arguments (without "zarc <command>") that returns
// the process exit code. Exit codes scripts can rely on:
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;      // the command ran and something failed
inline constexpr int kExitUsage = 2;       // bad arguments or configuration
inline constexpr int kExitProblems = 3;    // doctor: checks found problems

int Sync(const std::vector<std::string>& args);
int Log(const std::vector<std::string>& args);
int Doctor(const std::vector<std::string>& args);
int Run(const std::vector<std::string>& args);
int Demo(const std::vector<std::string>& args);

}  // namespace zarc::cli
