// libFuzzer target for config files (runtime/config): the file is merged against a schema with
// every kind of option (string, required, URL, secret, int with bounds, bool, duration, enum,
// list). Asserts: errors say what and never show the secret; a loaded config prints the secret
// masked; what Print shows, fed back as a file, loads as the same config. Inputs that name a
// `*_file` secret are skipped: that reads the named path, which is the operator's choice, not
// file content. Also replayed by config_fuzz_replay_test.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/config/config.h"
#include "runtime/testing/fuzz/fuzz_support.h"

namespace {

struct FuzzConfig {
  std::string name;
  std::string api_url;
  std::string client_id;
  std::string client_secret;
  int64_t workers = 0;
  bool verbose = false;
  absl::Duration timeout;
  std::string tls;
  std::vector<std::string> topics;
};

const zarc::config::Schema<FuzzConfig>& FuzzSchema() {
  static const auto* schema = [] {
    auto* s = new zarc::config::Schema<FuzzConfig>();
    s->String("service.name", &FuzzConfig::name, "zarc", "a name")
        .Url("zoom.api_url", &FuzzConfig::api_url, "https://api.zoom.us/v2", "a URL")
        .Required("zoom.client_id", &FuzzConfig::client_id, "a required value")
        .Secret("zoom.client_secret", &FuzzConfig::client_secret, "a secret")
        .Int("fetcher.workers", &FuzzConfig::workers, 4, 1, 64, "a bounded number")
        .Bool("log.verbose", &FuzzConfig::verbose, false, "a switch")
        .Duration("http.timeout", &FuzzConfig::timeout, "60s", "a duration")
        .Enum("imap.tls", &FuzzConfig::tls, "implicit", {"none", "starttls", "implicit"}, "a choice")
        .List("kafka.topics", &FuzzConfig::topics, "a,b", "a list");
    return s;
  }();
  return *schema;
}

std::string WriteTemp(absl::string_view text) {
  static const std::string path = absl::StrCat("/tmp/zarc-config-fuzz-", getpid(), ".conf");
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(text.data(), text.size());
  return path;
}

absl::StatusOr<FuzzConfig> LoadText(absl::string_view text) {
  zarc::config::Sources sources;
  sources.args = {absl::StrCat("--config=", WriteTemp(text))};
  return FuzzSchema().Load(sources);
}

size_t Occurrences(absl::string_view text, absl::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != absl::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using zarc::fuzz::Require;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (absl::StrContains(absl::AsciiStrToLower(input), "file")) return 0;
  absl::StatusOr<FuzzConfig> config = LoadText(input);
  if (!config.ok()) {
    Require(!config.status().message().empty(), "a refused file says why");
    return 0;
  }
  const std::string printed = FuzzSchema().Print(*config);
  const std::string& secret = config->client_secret;
  std::string reloadable;
  for (absl::string_view line : absl::StrSplit(printed, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "zoom.client_secret = ")) {
      Require(line == "zoom.client_secret = ****" || line == "zoom.client_secret = (unset)",
              "the secret prints masked");
      continue;
    }
    absl::StrAppend(&reloadable, line, "\n");
  }
  // The secret is absent from the output unless a non-secret value happens to contain it.
  if (secret.size() >= 6 && Occurrences(input, secret) == 1) {
    Require(!absl::StrContains(printed, secret), "Print never shows the secret");
  }
  if (!secret.empty()) {
    absl::StrAppend(&reloadable, "zoom.client_secret = ", secret, "\n");
  }
  absl::StatusOr<FuzzConfig> again = LoadText(reloadable);
  Require(again.ok(), "what Print shows loads again");
  Require(FuzzSchema().Print(*again) == printed, "and is the same config");
  Require(again->client_secret == secret, "the same secret");
  return 0;
}
