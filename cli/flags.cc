#include "cli/flags.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace zarc::cli {

absl::StatusOr<std::map<std::string, std::string>> ParseFlags(
    const std::vector<std::string>& args, const std::map<std::string, bool>& allowed) {
  std::map<std::string, std::string> out;
  auto known = [&] {
    std::vector<std::string> names;
    for (const auto& [name, takes_value] : allowed) names.push_back("--" + name);
    return absl::StrJoin(names, ", ");
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    // -h is the one short flag every command takes.
    if (arg == "-h" && allowed.count("help")) arg = "--help";
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\"; allowed: ", known()));
    }
    arg = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto it = allowed.find(arg);
    if (it == allowed.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", arg, "; allowed: ", known()));
    }
    if (it->second && !has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", arg, " needs a value"));
      }
      value = args[++i];
    } else if (!it->second) {
      value = has_value ? value : "true";
    }
    out[arg] = value;
  }
  return out;
}

}  // namespace zarc::cli
