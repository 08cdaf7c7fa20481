// DumpContractResponses: drives a Simulator over every API path and writes what it answers, for
// contract/check_contract.py.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/crypto/digest.h"
#include "simulators/zoom/simulator.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

using json::Value;

struct Call {
  std::string path_template;  // the spec's path key
  std::string path;           // raw, percent-encoded as a client sends it
  std::string query;
};

}  // namespace

absl::StatusOr<int> DumpContractResponses(const TenantOptions& tenant_options,
                                          absl::string_view dir) {
  const absl::Time now = tenant_options.from + absl::Hours(24 * (tenant_options.days + 1));
  SimulatorOptions options;
  options.clock = [now] { return now; };
  options.public_base_url = "http://127.0.0.1:9";
  Tenant tenant = GenerateTenant(tenant_options);
  if (tenant.meetings.empty()) {
    return absl::InvalidArgumentError("the tenant to dump needs at least one meeting");
  }
  Simulator sim(tenant, tenant_options, options);

  http::ServerRequest token_request;
  token_request.method = "POST";
  token_request.path = "/oauth/token";
  token_request.headers = {
      {"Authorization",
       absl::StrCat("Basic ", crypto::Base64Encode(absl::StrCat(options.client_id, ":",
                                                                options.client_secret)))},
      {"Content-Type", "application/x-www-form-urlencoded"}};
  token_request.body = absl::StrCat("grant_type=account_credentials&account_id=",
                                    http::PercentEncode(tenant.account_id));
  http::ServerResponse token_response = sim.Handle(token_request);
  if (token_response.status != 200) {
    return absl::InternalError(absl::StrCat("token endpoint answered ", token_response.status,
                                            ": ", token_response.body));
  }
  const std::string token =
      json::ParseOrNull(token_response.body).at("access_token").AsString();

  auto encode_uuid = [](const std::string& uuid) {
    const bool odd = !uuid.empty() && (uuid[0] == '/' || uuid.find("//") != std::string::npos);
    return odd ? http::PercentEncode(http::PercentEncode(uuid)) : http::PercentEncode(uuid);
  };

  std::vector<Call> calls;
  calls.push_back({"/users", "/v2/users", "status=active&page_size=2"});
  calls.push_back({"/users", "/v2/users", "status=active&page_size=300"});
  const std::string from = absl::FormatCivilTime(
      absl::ToCivilDay(tenant_options.from, absl::UTCTimeZone()) - 40);
  const std::string to = absl::FormatCivilTime(absl::ToCivilDay(now, absl::UTCTimeZone()));
  for (const User& u : tenant.users) {
    calls.push_back({"/users/{userId}/recordings",
                     absl::StrCat("/v2/users/", http::PercentEncode(u.id), "/recordings"),
                     absl::StrCat("from=", from, "&to=", to, "&page_size=300")});
  }
  int odd_seen = 0;
  for (size_t i = 0; i < tenant.meetings.size(); ++i) {
    const Meeting& m = tenant.meetings[i];
    const bool odd = m.uuid[0] == '/' || m.uuid.find("//") != std::string::npos;
    // Every odd UUID, and a sample of the others, is looked up each way Zoom allows.
    if (!(odd || i % 4 == 0)) continue;
    odd_seen += odd;
    const std::string key = encode_uuid(m.uuid);
    calls.push_back({"/meetings/{meetingId}/recordings",
                     absl::StrCat("/v2/meetings/", key, "/recordings"), ""});
    calls.push_back({"/past_meetings/{meetingId}", absl::StrCat("/v2/past_meetings/", key), ""});
    calls.push_back({"/past_meetings/{meetingId}/participants",
                     absl::StrCat("/v2/past_meetings/", key, "/participants"), "page_size=300"});
    calls.push_back({"/past_meetings/{meetingUUID}/archive_files",
                     absl::StrCat("/v2/past_meetings/", key, "/archive_files"), ""});
    calls.push_back({"/meetings/{meetingId}/recordings",
                     absl::StrCat("/v2/meetings/", m.id, "/recordings"), ""});
  }
  calls.push_back(
      {"/archive_files", "/v2/archive_files",
       absl::StrCat("from=", http::PercentEncode(FormatZoomTime(tenant_options.from)),
                    "&to=", http::PercentEncode(FormatZoomTime(tenant_options.from +
                                                               absl::Hours(24 * 7))),
                    "&page_size=300&query_date_type=meeting_start_time")});
  calls.push_back(
      {"/archive_files", "/v2/archive_files",
       absl::StrCat("from=", http::PercentEncode(FormatZoomTime(tenant_options.from)),
                    "&to=", http::PercentEncode(FormatZoomTime(tenant_options.from +
                                                               absl::Hours(24 * 7))),
                    "&page_size=1&query_date_type=archive_complete_time")});

  int written = 0;
  for (const Call& call : calls) {
    http::ServerRequest request;
    request.method = "GET";
    request.path = call.path;
    request.query = call.query;
    request.headers = {{"Authorization", absl::StrCat("Bearer ", token)}};
    http::ServerResponse response = sim.Handle(request);
    if (response.status != 200) {
      return absl::InternalError(absl::StrCat("GET ", call.path, "?", call.query, " answered ",
                                              response.status, ": ", response.body));
    }
    Value record = Value::Object();
    record["path"] = json::Str(call.path_template);
    record["request"] = json::Str(absl::StrCat(call.path, "?", call.query));
    record["status"] = Value::Number(response.status);
    absl::StatusOr<Value> body = json::Parse(response.body, "answer");
    if (!body.ok()) {
      return absl::InternalError(
          absl::StrCat("GET ", call.path, " answered non-JSON: ", body.status().message()));
    }
    record["body"] = *std::move(body);
    const std::string file = absl::StrFormat("%s/%04d.json", dir, written);
    std::ofstream out(file, std::ios::binary);
    out << record.Serialize();
    out.close();
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", file,
                                              "; check that the directory exists and is writable"));
    }
    ++written;
  }
  if (odd_seen == 0) {
    return absl::InternalError("the dumped tenant has no UUID needing double encoding");
  }
  return written;
}

}  // namespace zarc::zoom_sim
