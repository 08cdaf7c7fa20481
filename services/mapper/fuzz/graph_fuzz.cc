// libFuzzer target for the Microsoft Graph answers the mapper parses: the token response, a
// single user lookup, the $batch answer (per-request statuses, bodies and Retry-After) and the
// group member pages with their @odata.nextLink. The input's first line picks the call ("single",
// "batch", anything else: "group"); the rest is the script of HTTP answers (scripted_http.h) the
// fake Graph gives, token endpoint first. Also replayed by mapper_fuzz_replay_test.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "runtime/testing/fuzz/fuzz_support.h"
#include "runtime/testing/fuzz/scripted_http.h"
#include "services/mapper/graph_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::mapper;
  using zarc::fuzz::Require;
  zarc::fuzz::QuietLogs();
  constexpr absl::string_view kSecret = "fuzz-graph-client-secret";
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::string_view mode = zarc::fuzz::TakeLine(input);

  zarc::fuzz::FakeClock clock;
  zarc::fuzz::ScriptedHttp http(input, {"https://graph.fuzz/", "https://login.fuzz/"}, clock);
  GraphCredentials credentials;
  credentials.login_url = "https://login.fuzz";
  credentials.api_url = "https://graph.fuzz";
  credentials.tenant_id = "tenant";
  credentials.client_id = "client";
  credentials.client_secret = std::string(kSecret);
  GraphTokenSource tokens(http, credentials, [&clock] { return clock.Now(); });
  GraphClientOptions options;
  options.batch_size = 2;
  options.patience = absl::Minutes(2);
  options.sleep = [&clock](absl::Duration d) { clock.Sleep(d); };
  options.now = [&clock] { return clock.Now(); };
  GraphClient client(http, tokens, credentials.api_url, options, nullptr);

  absl::Status status;
  if (mode == "single" || mode == "batch") {
    const std::vector<std::string> addresses =
        mode == "single" ? std::vector<std::string>{"alice@corp.example"}
                         : std::vector<std::string>{"alice@corp.example", "bob@corp.example",
                                                    "carol@corp.example"};
    absl::StatusOr<std::vector<std::optional<DirectoryUser>>> users = client.FindUsers(addresses);
    status = users.status();
    if (users.ok()) {
      Require(users->size() == addresses.size(), "one answer per address");
      for (const std::optional<DirectoryUser>& u : *users) {
        Require(!u.has_value() || !u->id.empty(), "a resolved user has an id");
      }
    }
  } else {
    absl::StatusOr<std::set<std::string>> ids = client.GroupMemberIds("group-1");
    status = ids.status();
  }
  if (!status.ok()) {
    Require(!status.message().empty(), "a failure says why");
    // (Unless the fake Graph itself echoed it: its error text is quoted.)
    Require(absl::StrContains(input, kSecret) || !absl::StrContains(status.message(), kSecret),
            "a failure never shows the secret");
  }
  return 0;
}
