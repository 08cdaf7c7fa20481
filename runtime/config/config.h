#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace zarc::config {

// Where configuration comes from, lowest precedence first: defaults, the file, the environment,
// command-line flags. Keys are dotted (`zoom.api_url`); the environment spells them
// `ZARC_ZOOM_API_URL`, flags `--zoom.api_url=V` or `--zoom-api-url=V`. A secret may instead be
// read from a file: `ZARC_ZOOM_CLIENT_SECRET_FILE=/run/secrets/x` or `--zoom.client_secret_file=`.
// A config file holds `key = value` lines, `#` comments and blank lines.
struct Sources {
  std::vector<std::string> args;                 // flags, without argv[0]
  std::map<std::string, std::string> env;        // usually the process environment
  std::string file_flag_key = "config";          // `--config=PATH` / ZARC_CONFIG names the file
};

// Reads the process environment into Sources::env.
std::map<std::string, std::string> ProcessEnvironment();

enum class Kind { kString, kInt, kBool, kDuration, kEnum, kUrl, kSecret, kList };

// One declared option, independent of the struct it fills.
struct OptionSpec {
  std::string key;
  Kind kind = Kind::kString;
  std::string default_value;  // as text; empty with `required` means it must be given
  std::string help;
  std::vector<std::string> allowed;  // kEnum
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  bool required = false;
};

// The raw text value of every key after merging sources; secrets included (never print this).
class RawValues {
 public:
  const std::string* Find(absl::string_view key) const;
  std::map<std::string, std::pair<std::string, std::string>> entries;  // key -> (value, origin)
};

// Merges sources against the declared options. Unknown keys, a missing file, a malformed line,
// or a missing required value are errors that name the key and what is allowed.
absl::StatusOr<RawValues> Merge(const std::vector<OptionSpec>& specs, const Sources& sources);

// Parses text as each kind, with errors that name the key, the value (never a secret's) and what
// is allowed.
absl::Status ParseInt(const OptionSpec& spec, absl::string_view text, int64_t* out);
absl::Status ParseBool(const OptionSpec& spec, absl::string_view text, bool* out);
absl::Status ParseDuration(const OptionSpec& spec, absl::string_view text, absl::Duration* out);
absl::Status CheckEnum(const OptionSpec& spec, absl::string_view text);
absl::Status CheckUrl(const OptionSpec& spec, absl::string_view text);
std::vector<std::string> SplitList(absl::string_view text);

// The schema of one service's typed configuration struct T: each option is bound to a member.
// Load() returns a fully validated T or the first problem found; Print() shows every value with
// secrets masked; Reference() is the Markdown reference the README's table is generated from.
template <typename T>
class Schema {
 public:
  using Setter = std::function<absl::Status(T&, const OptionSpec&, absl::string_view)>;
  using Getter = std::function<std::string(const T&)>;

  Schema& String(std::string key, std::string T::*m, std::string def, std::string help) {
    return Add({std::move(key), Kind::kString, std::move(def), std::move(help)},
               [m](T& t, const OptionSpec&, absl::string_view v) {
                 t.*m = std::string(v);
                 return absl::OkStatus();
               },
               [m](const T& t) { return t.*m; });
  }
  Schema& Required(std::string key, std::string T::*m, std::string help) {
    OptionSpec spec{std::move(key), Kind::kString, "", std::move(help)};
    spec.required = true;
    return Add(std::move(spec),
               [m](T& t, const OptionSpec&, absl::string_view v) {
                 t.*m = std::string(v);
                 return absl::OkStatus();
               },
               [m](const T& t) { return t.*m; });
  }
  Schema& Url(std::string key, std::string T::*m, std::string def, std::string help) {
    return Add({std::move(key), Kind::kUrl, std::move(def), std::move(help)},
               [m](T& t, const OptionSpec& s, absl::string_view v) {
                 if (!v.empty()) {
                   if (absl::Status st = CheckUrl(s, v); !st.ok()) return st;
                 }
                 t.*m = std::string(v);
                 return absl::OkStatus();
               },
               [m](const T& t) { return t.*m; });
  }
  Schema& Secret(std::string key, std::string T::*m, std::string help) {
    return Add({std::move(key), Kind::kSecret, "", std::move(help)},
               [m](T& t, const OptionSpec&, absl::string_view v) {
                 t.*m = std::string(v);
                 return absl::OkStatus();
               },
               [m](const T& t) { return (t.*m).empty() ? std::string("(unset)") : std::string("****"); });
  }
  Schema& Int(std::string key, int64_t T::*m, int64_t def, int64_t min, int64_t max, std::string help) {
    OptionSpec spec{std::move(key), Kind::kInt, std::to_string(def), std::move(help)};
    spec.min = min;
    spec.max = max;
    return Add(std::move(spec),
               [m](T& t, const OptionSpec& s, absl::string_view v) { return ParseInt(s, v, &(t.*m)); },
               [m](const T& t) { return std::to_string(t.*m); });
  }
  Schema& Bool(std::string key, bool T::*m, bool def, std::string help) {
    return Add({std::move(key), Kind::kBool, def ? "true" : "false", std::move(help)},
               [m](T& t, const OptionSpec& s, absl::string_view v) { return ParseBool(s, v, &(t.*m)); },
               [m](const T& t) { return std::string(t.*m ? "true" : "false"); });
  }
  Schema& Duration(std::string key, absl::Duration T::*m, std::string def, std::string help) {
    return Add({std::move(key), Kind::kDuration, std::move(def), std::move(help)},
               [m](T& t, const OptionSpec& s, absl::string_view v) {
                 return ParseDuration(s, v, &(t.*m));
               },
               [m](const T& t) { return absl::FormatDuration(t.*m); });
  }
  Schema& Enum(std::string key, std::string T::*m, std::string def,
               std::vector<std::string> allowed, std::string help) {
    OptionSpec spec{std::move(key), Kind::kEnum, std::move(def), std::move(help)};
    spec.allowed = std::move(allowed);
    return Add(std::move(spec),
               [m](T& t, const OptionSpec& s, absl::string_view v) {
                 if (absl::Status st = CheckEnum(s, v); !st.ok()) return st;
                 t.*m = std::string(v);
                 return absl::OkStatus();
               },
               [m](const T& t) { return t.*m; });
  }
  Schema& List(std::string key, std::vector<std::string> T::*m, std::string def, std::string help) {
    return Add({std::move(key), Kind::kList, std::move(def), std::move(help)},
               [m](T& t, const OptionSpec&, absl::string_view v) {
                 t.*m = SplitList(v);
                 return absl::OkStatus();
               },
               [m](const T& t) {
                 std::string out;
                 for (const std::string& s : t.*m) out += (out.empty() ? "" : ",") + s;
                 return out;
               });
  }

  // Adds every option of a nested struct's schema, under its own keys.
  template <typename U>
  Schema& Include(const Schema<U>& sub, U T::*member) {
    for (const auto& o : sub.options_) {
      Setter set = [member, inner = o.set](T& t, const OptionSpec& s, absl::string_view v) {
        return inner(t.*member, s, v);
      };
      Getter get = [member, inner = o.get](const T& t) { return inner(t.*member); };
      options_.push_back({o.spec, std::move(set), std::move(get)});
    }
    for (const auto& check : sub.checks_) {
      checks_.push_back([member, check](const T& t) { return check(t.*member); });
    }
    return *this;
  }

  // A check over the whole struct once every option is set (e.g. "secret required when X").
  Schema& Check(std::function<absl::Status(const T&)> check) {
    checks_.push_back(std::move(check));
    return *this;
  }

  absl::StatusOr<T> Load(const Sources& sources) const {
    std::vector<OptionSpec> specs = Specs();
    absl::StatusOr<RawValues> raw = Merge(specs, sources);
    if (!raw.ok()) return raw.status();
    T out{};
    for (const auto& o : options_) {
      const std::string* v = raw->Find(o.spec.key);
      const std::string text = v != nullptr ? *v : o.spec.default_value;
      if (absl::Status s = o.set(out, o.spec, text); !s.ok()) return s;
    }
    for (const auto& check : checks_) {
      if (absl::Status s = check(out); !s.ok()) return s;
    }
    return out;
  }

  // key = value lines, secrets masked. A key bound to several members (a combined schema, as in
  // the one-binary mode) is shown once, with the first member's value.
  std::string Print(const T& t) const {
    std::string out;
    std::set<std::string> seen;
    for (const auto& o : options_) {
      if (seen.insert(o.spec.key).second) out += o.spec.key + " = " + o.get(t) + "\n";
    }
    return out;
  }

  // Every distinct key, in declaration order (the first declaration of a shared key wins).
  std::vector<OptionSpec> Specs() const {
    std::vector<OptionSpec> specs;
    std::set<std::string> seen;
    for (const auto& o : options_) {
      if (seen.insert(o.spec.key).second) specs.push_back(o.spec);
    }
    return specs;
  }

 private:
  template <typename>
  friend class Schema;
  struct Bound {
    OptionSpec spec;
    Setter set;
    Getter get;
  };
  Schema& Add(OptionSpec spec, Setter set, Getter get) {
    options_.push_back({std::move(spec), std::move(set), std::move(get)});
    return *this;
  }
  std::vector<Bound> options_;
  std::vector<std::function<absl::Status(const T&)>> checks_;
};

// Markdown table (key, environment variable, default, meaning) of a schema's options.
std::string ReferenceTable(const std::vector<OptionSpec>& specs);
std::string EnvName(absl::string_view key);

}  // namespace zarc::config
