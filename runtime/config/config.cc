#include "runtime/config/config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace zarc::config {
namespace {

std::string Normalize(absl::string_view key) {
  std::string out = absl::AsciiStrToLower(key);
  for (char& c : out) {
    if (c == '-' || c == '_') c = '.';
  }
  return out;
}

std::string KnownKeys(const std::vector<OptionSpec>& specs) {
  std::vector<std::string> keys;
  for (const OptionSpec& s : specs) keys.push_back(s.key);
  return absl::StrJoin(keys, ", ");
}

absl::StatusOr<std::string> ReadSecretFile(absl::string_view key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the file ", path, " given for secret ", key,
                     ": check that it exists and is readable by this process"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string value = buffer.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

// Finds the option a (possibly `_file`-suffixed) key names. Sets *is_file for the secret-file form.
const OptionSpec* Lookup(const std::map<std::string, const OptionSpec*>& by_norm,
                         absl::string_view key, bool* is_file) {
  const std::string norm = Normalize(key);
  *is_file = false;
  if (auto it = by_norm.find(norm); it != by_norm.end()) return it->second;
  if (absl::EndsWith(norm, ".file")) {
    auto it = by_norm.find(norm.substr(0, norm.size() - 5));
    if (it != by_norm.end() && it->second->kind == Kind::kSecret) {
      *is_file = true;
      return it->second;
    }
  }
  return nullptr;
}

}  // namespace

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;
    env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  return env;
}

std::string EnvName(absl::string_view key) {
  std::string out = "ZARC_" + absl::AsciiStrToUpper(key);
  for (char& c : out) {
    if (c == '.' || c == '-') c = '_';
  }
  return out;
}

const std::string* RawValues::Find(absl::string_view key) const {
  auto it = entries.find(std::string(key));
  return it == entries.end() ? nullptr : &it->second.first;
}

absl::StatusOr<RawValues> Merge(const std::vector<OptionSpec>& specs, const Sources& sources) {
  std::map<std::string, const OptionSpec*> by_norm;
  for (const OptionSpec& s : specs) by_norm[Normalize(s.key)] = &s;
  RawValues raw;

  auto set = [&](const OptionSpec& spec, bool is_file, const std::string& value,
                 const std::string& origin) -> absl::Status {
    if (is_file) {
      absl::StatusOr<std::string> secret = ReadSecretFile(spec.key, value);
      if (!secret.ok()) return secret.status();
      raw.entries[spec.key] = {*secret, origin + " (file " + value + ")"};
    } else {
      raw.entries[spec.key] = {value, origin};
    }
    return absl::OkStatus();
  };

  // Flags first parsed into pairs, so the config file they name is known before applying them.
  std::vector<std::pair<std::string, std::string>> flags;
  for (size_t i = 0; i < sources.args.size(); ++i) {
    absl::string_view arg = sources.args[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\": options are given as --key=value"));
    }
    std::string name, value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < sources.args.size() && !absl::StartsWith(sources.args[i + 1], "--")) {
      name = std::string(arg);
      value = sources.args[++i];
    } else {
      name = std::string(arg);
      value = "true";  // a bare --flag is a boolean switch
    }
    flags.emplace_back(std::move(name), std::move(value));
  }

  std::string file;
  if (auto it = sources.env.find(EnvName(sources.file_flag_key)); it != sources.env.end()) {
    file = it->second;
  }
  for (const auto& [name, value] : flags) {
    if (Normalize(name) == Normalize(sources.file_flag_key)) file = value;
  }

  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file ", file, " cannot be read: check the path given to --",
                       sources.file_flag_key, " or ", EnvName(sources.file_flag_key)));
    }
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      absl::string_view text = absl::StripAsciiWhitespace(line);
      if (text.empty() || text[0] == '#') continue;
      const size_t eq = text.find('=');
      if (eq == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("config file ", file, " line ", line_number,
                                                       ": expected `key = value`"));
      }
      const std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
      const std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
      bool is_file = false;
      const OptionSpec* spec = Lookup(by_norm, key, &is_file);
      if (spec == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("config file ", file, " line ", line_number,
                                                       ": unknown key \"", key,
                                                       "\"; known keys: ", KnownKeys(specs)));
      }
      if (absl::Status s = set(*spec, is_file, value, absl::StrCat(file, ":", line_number));
          !s.ok()) {
        return s;
      }
    }
  }

  for (const OptionSpec& spec : specs) {
    const std::string env_name = EnvName(spec.key);
    if (auto it = sources.env.find(env_name); it != sources.env.end()) {
      if (absl::Status s = set(spec, false, it->second, env_name); !s.ok()) return s;
    }
    if (spec.kind == Kind::kSecret) {
      if (auto it = sources.env.find(env_name + "_FILE"); it != sources.env.end()) {
        if (absl::Status s = set(spec, true, it->second, env_name + "_FILE"); !s.ok()) return s;
      }
    }
  }

  for (const auto& [name, value] : flags) {
    if (Normalize(name) == Normalize(sources.file_flag_key)) continue;
    bool is_file = false;
    const OptionSpec* spec = Lookup(by_norm, name, &is_file);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option --", name, "; known options: ", KnownKeys(specs)));
    }
    if (absl::Status s = set(*spec, is_file, value, "--" + name); !s.ok()) return s;
  }

  for (const OptionSpec& spec : specs) {
    const std::string* v = raw.Find(spec.key);
    if (spec.required && (v == nullptr || v->empty())) {
      return absl::InvalidArgumentError(absl::StrCat(
          spec.key, " is required (", spec.help, "): set --", spec.key, "=..., ", EnvName(spec.key),
          spec.kind == Kind::kSecret ? absl::StrCat(", ", EnvName(spec.key), "_FILE") : "",
          " or `", spec.key, " = ...` in the config file"));
    }
  }
  return raw;
}

absl::Status ParseInt(const OptionSpec& spec, absl::string_view text, int64_t* out) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.key, " = \"", text, "\" is not a whole number"));
  }
  if (v < spec.min || v > spec.max) {
    return absl::InvalidArgumentError(absl::StrCat(spec.key, " = ", v, " is out of range: allowed ",
                                                   spec.min, " to ", spec.max));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseBool(const OptionSpec& spec, absl::string_view text, bool* out) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on") {
    *out = true;
  } else if (t == "false" || t == "0" || t == "no" || t == "off") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.key, " = \"", text, "\" is not a boolean: allowed true or false"));
  }
  return absl::OkStatus();
}

absl::Status ParseDuration(const OptionSpec& spec, absl::string_view text, absl::Duration* out) {
  absl::Duration d;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(std::string(text), &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.key, " = \"", text, "\" is not a duration: allowed e.g. 90s, 15m, 24h, 1h30m"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.key, " = \"", text, "\" is negative"));
  }
  *out = d;
  return absl::OkStatus();
}

absl::Status CheckEnum(const OptionSpec& spec, absl::string_view text) {
  for (const std::string& a : spec.allowed) {
    if (a == text) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(spec.key, " = \"", text,
                                                 "\" is not allowed: use one of ",
                                                 absl::StrJoin(spec.allowed, ", ")));
}

absl::Status CheckUrl(const OptionSpec& spec, absl::string_view text) {
  const bool scheme_ok = absl::StartsWith(text, "http://") || absl::StartsWith(text, "https://") ||
                         absl::StartsWith(text, "file://");
  if (!scheme_ok || text.find(' ') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.key, " = \"", text, "\" is not a URL: allowed http://, https:// or file:// URLs"));
  }
  return absl::OkStatus();
}

std::vector<std::string> SplitList(absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

std::string ReferenceTable(const std::vector<OptionSpec>& specs) {
  std::string out = "| key | environment | default | meaning |\n| --- | --- | --- | --- |\n";
  for (const OptionSpec& s : specs) {
    std::string env = "`" + EnvName(s.key) + "`";
    if (s.kind == Kind::kSecret) env += " or `" + EnvName(s.key) + "_FILE`";
    std::string def = s.required ? "(required)" : s.default_value.empty() ? "" : "`" + s.default_value + "`";
    std::string help = s.help;
    if (s.kind == Kind::kEnum) help += " (" + absl::StrJoin(s.allowed, ", ") + ")";
    if (s.kind == Kind::kSecret) help += " (secret)";
    absl::StrAppend(&out, "| `", s.key, "` | ", env, " | ", def, " | ", help, " |\n");
  }
  return out;
}

}  // namespace zarc::config
