#include "simulators/zoom/simulator.h"

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "simulators/zoom/file_content.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

using json::Value;

class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(TenantOptions{}, SimulatorOptions{}); }

  void Start(TenantOptions tenant_options, SimulatorOptions options) {
    tenant_options.seed = 7;
    tenant_options.users = tenant_options.users == 5 ? 6 : tenant_options.users;
    tenant_options.meetings = tenant_options.meetings == 20 ? 60 : tenant_options.meetings;
    tenant_options.days = 20;
    tenant_options_ = tenant_options;
    tenant_ = GenerateTenant(tenant_options);
    now_ = tenant_options.from + absl::Hours(24 * 25);
    options.clock = [this] { return now_; };
    options.sleep = [this](absl::Duration d) { slept_ += d; };
    options.public_base_url = "http://zoom.test";
    if (options.webhook_secret.empty()) options.webhook_secret = "hook-secret";
    if (options.webhook_url.empty()) options.webhook_url = "http://127.0.0.1:1/zoom/webhook";
    sim_ = std::make_unique<Simulator>(tenant_, tenant_options, options);
  }

  http::ServerResponse Send(const std::string& method, const std::string& path,
                            const std::string& query = "", const std::string& body = "",
                            http::Headers headers = {}) {
    http::ServerRequest request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.body = body;
    request.headers = std::move(headers);
    return sim_->Handle(request);
  }

  http::ServerResponse RequestToken(const std::string& id, const std::string& secret,
                                    const std::string& body) {
    return Send("POST", "/oauth/token", "", body,
                {{"Authorization", "Basic " + crypto::Base64Encode(id + ":" + secret)},
                 {"Content-Type", "application/x-www-form-urlencoded"}});
  }

  std::string Token() {
    http::ServerResponse r = RequestToken(
        "zarc-sim-client", "zarc-sim-secret",
        "grant_type=account_credentials&account_id=" + http::PercentEncode(tenant_.account_id));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::ParseOrNull(r.body).at("access_token").AsString();
  }

  http::ServerResponse Get(const std::string& path, const std::string& query = "") {
    if (token_.empty()) token_ = Token();
    return Send("GET", path, query, "", {{"Authorization", "Bearer " + token_}});
  }

  static Value Json(const http::ServerResponse& r) { return json::ParseOrNull(r.body); }

  static std::string Header(const http::ServerResponse& r, const std::string& name) {
    return http::FindHeader(r.headers, name).value_or("<none>");
  }

  static std::string DoubleEncode(const std::string& uuid) {
    return http::PercentEncode(http::PercentEncode(uuid));
  }

  const Meeting& OddMeeting(bool leading_slash) {
    for (const Meeting& m : tenant_.meetings) {
      if (leading_slash ? m.uuid[0] == '/' : absl::StrContains(m.uuid, "//")) return m;
    }
    ADD_FAILURE() << "no odd UUID in tenant";
    return tenant_.meetings[0];
  }

  std::string ReadBody(http::ServerResponse& r) {
    if (!r.body_stream) return r.body;
    std::string out, buffer(8192, '\0');
    while (true) {
      absl::StatusOr<size_t> n = r.body_stream->Read(buffer.data(), buffer.size());
      if (!n.ok() || *n == 0) break;
      out.append(buffer.data(), *n);
    }
    return out;
  }

  TenantOptions tenant_options_;
  Tenant tenant_;
  absl::Time now_;
  absl::Duration slept_;
  std::unique_ptr<Simulator> sim_;
  std::string token_;
};

// ---- OAuth ----

TEST_F(SimulatorTest, TokenEndpointIssuesBearerTokensInZoomsShape) {
  http::ServerResponse r = RequestToken(
      "zarc-sim-client", "zarc-sim-secret",
      "grant_type=account_credentials&account_id=" + http::PercentEncode(tenant_.account_id));
  ASSERT_EQ(r.status, 200) << r.body;
  Value body = Json(r);
  EXPECT_EQ(body.at("token_type").AsString(), "bearer");
  EXPECT_EQ(body.at("expires_in").AsInt(), 3600);
  EXPECT_EQ(body.at("api_url").AsString(), "http://zoom.test");
  EXPECT_TRUE(body.HasString("scope"));
  EXPECT_FALSE(body.Has("refresh_token"));
  // Several tokens may be live at once.
  const std::string first = body.at("access_token").AsString();
  const std::string second = Token();
  EXPECT_NE(first, second);
  for (const std::string& t : {first, second}) {
    EXPECT_EQ(Send("GET", "/v2/users", "", "", {{"Authorization", "Bearer " + t}}).status, 200);
  }
}

TEST_F(SimulatorTest, BadCredentialsGetInvalidClient) {
  const std::string form =
      "grant_type=account_credentials&account_id=" + http::PercentEncode(tenant_.account_id);
  std::vector<http::ServerResponse> refused;
  refused.push_back(RequestToken("zarc-sim-client", "wrong", form));
  refused.push_back(RequestToken("nobody", "zarc-sim-secret", form));
  refused.push_back(Send("POST", "/oauth/token", "", form));
  for (const http::ServerResponse& r : refused) {
    EXPECT_EQ(r.status, 401);
    Value body = Json(r);
    EXPECT_EQ(body.at("error").AsString(), "invalid_client");
    EXPECT_EQ(body.at("reason").AsString(), "Invalid client_id or client_secret");
  }
  EXPECT_EQ(RequestToken("zarc-sim-client", "zarc-sim-secret", "grant_type=client_credentials")
                .status,
            400);
  EXPECT_EQ(RequestToken("zarc-sim-client", "zarc-sim-secret",
                         "grant_type=account_credentials&account_id=other")
                .status,
            400);
}

TEST_F(SimulatorTest, TokensReallyExpire) {
  const std::string token = Token();
  auto call = [&] { return Send("GET", "/v2/users", "", "", {{"Authorization", "Bearer " + token}}); };
  EXPECT_EQ(call().status, 200);
  now_ += absl::Seconds(3599);
  EXPECT_EQ(call().status, 200);
  now_ += absl::Seconds(2);
  http::ServerResponse expired = call();
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(Json(expired).at("code").AsInt(), 124);
  EXPECT_EQ(Json(expired).at("message").AsString(), "Invalid access token.");
  EXPECT_EQ(Send("GET", "/v2/users", "", "", {{"Authorization", "Bearer forged"}}).status, 401);
  EXPECT_EQ(Send("GET", "/v2/users").status, 401);
}

// ---- Listing and paging ----

TEST_F(SimulatorTest, UserPagingWalksEveryUserExactlyOnce) {
  std::multiset<std::string> seen;
  std::string next;
  int pages = 0;
  do {
    http::ServerResponse r = Get("/v2/users", "status=active&page_size=4&next_page_token=" + next);
    ASSERT_EQ(r.status, 200) << r.body;
    Value body = Json(r);
    EXPECT_EQ(body.at("total_records").AsInt(), 6);
    EXPECT_EQ(body.at("page_size").AsInt(), 4);
    for (const Value& u : body.at("users").AsArray()) {
      seen.insert(u.at("id").AsString());
      EXPECT_TRUE(u.at("type").IsInteger());
    }
    next = body.at("next_page_token").AsString();
    ++pages;
  } while (!next.empty());
  EXPECT_EQ(pages, 2);
  std::multiset<std::string> expected;
  for (const User& u : tenant_.users) expected.insert(u.id);
  EXPECT_EQ(seen, expected);
}

TEST_F(SimulatorTest, RecordingPagingWalksEveryMeetingOfEveryUserOnce) {
  std::multiset<std::string> seen;
  for (const User& u : tenant_.users) {
    std::string next;
    do {
      http::ServerResponse r =
          Get("/v2/users/" + u.id + "/recordings",
              "from=" + absl::FormatCivilTime(absl::ToCivilDay(tenant_options_.from,
                                                               absl::UTCTimeZone())) +
                  "&to=" + absl::FormatCivilTime(absl::ToCivilDay(now_, absl::UTCTimeZone())) +
                  "&page_size=3&next_page_token=" + next);
      ASSERT_EQ(r.status, 200) << r.body;
      Value body = Json(r);
      for (const Value& m : body.at("meetings").AsArray()) {
        seen.insert(m.at("uuid").AsString());
        EXPECT_EQ(m.at("host_id").AsString(), u.id);
        EXPECT_TRUE(m.at("type").IsInteger());
        for (const Value& f : m.at("recording_files").AsArray()) {
          const std::string type = f.at("file_type").AsString();
          if (type == "CC" || type == "TIMELINE") {
            EXPECT_FALSE(f.Has("id"));
            EXPECT_FALSE(f.Has("status"));
            EXPECT_FALSE(f.Has("file_size"));
          } else {
            EXPECT_TRUE(f.HasString("id"));
          }
          EXPECT_TRUE(absl::StartsWith(f.at("download_url").AsString(),
                                       "http://zoom.test/rec/download/"));
        }
      }
      next = body.at("next_page_token").AsString();
    } while (!next.empty());
  }
  std::multiset<std::string> expected;
  for (const Meeting& m : tenant_.meetings) expected.insert(m.uuid);
  EXPECT_EQ(seen, expected);
}

TEST_F(SimulatorTest, PageTokensExpireAfterFifteenMinutesAndAreScoped) {
  http::ServerResponse first = Get("/v2/users", "page_size=2");
  const std::string next = Json(first).at("next_page_token").AsString();
  ASSERT_FALSE(next.empty());
  // Another listing's token is not accepted.
  EXPECT_EQ(Get("/v2/users", "page_size=3&next_page_token=" + next).status, 400);
  now_ += absl::Minutes(16);
  http::ServerResponse late = Get("/v2/users", "page_size=2&next_page_token=" + next);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(Json(late).at("code").AsInt(), 300);
}

TEST_F(SimulatorTest, RangesOverAMonthAreSilentlyClamped) {
  const User& host = *tenant_.FindUser(tenant_.meetings.back().host_id);
  http::ServerResponse r =
      Get("/v2/users/" + http::PercentEncode(host.email) + "/recordings",
          "from=2020-01-01&to=2024-04-15&page_size=300");
  ASSERT_EQ(r.status, 200) << r.body;
  Value body = Json(r);
  EXPECT_EQ(body.at("from").AsString(), "2024-03-15");
  EXPECT_EQ(body.at("to").AsString(), "2024-04-15");
  // Nothing before the clamped `from` is listed.
  const absl::Time clamp = absl::FromCivil(absl::CivilDay(2024, 3, 15), absl::UTCTimeZone());
  for (const Value& m : body.at("meetings").AsArray()) {
    EXPECT_GE(*ParseZoomTime(m.at("start_time").AsString()), clamp);
  }
  // A range within a month is kept as asked.
  body = Json(Get("/v2/users/" + host.id + "/recordings", "from=2024-03-01&to=2024-03-31"));
  EXPECT_EQ(body.at("from").AsString(), "2024-03-01");
  // One month before March 31 is the last day of February.
  body = Json(Get("/v2/users/" + host.id + "/recordings", "from=2024-01-01&to=2024-03-31"));
  EXPECT_EQ(body.at("from").AsString(), "2024-02-29");
  EXPECT_EQ(Get("/v2/users/" + host.id + "/recordings", "from=2024-13-01").status, 400);
  http::ServerResponse unknown = Get("/v2/users/nobody/recordings");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json(unknown).at("code").AsInt(), 1001);
}

TEST_F(SimulatorTest, ArchiveListingAllowsAtMostSevenDays) {
  http::ServerResponse wide =
      Get("/v2/archive_files", "from=2024-03-01T00:00:00Z&to=2024-03-08T00:00:01Z");
  EXPECT_EQ(wide.status, 400);
  EXPECT_EQ(Json(wide).at("code").AsInt(), 300);
  EXPECT_TRUE(absl::StrContains(Json(wide).at("message").AsString(), "7 days"));
  EXPECT_EQ(Get("/v2/archive_files", "from=2024-03-01&to=2024-03-02").status, 400);
  EXPECT_EQ(Get("/v2/archive_files", "from=2024-03-01T00:00:00Z&to=2024-03-02T00:00:00Z&"
                                     "query_date_type=bogus")
                .status,
            400);

  // Seven-day windows over the whole tenant list every meeting once, with fingerprints.
  std::multiset<std::string> seen;
  for (absl::Time from = tenant_options_.from; from < now_; from += absl::Hours(24 * 7)) {
    std::string next;
    do {
      http::ServerResponse r = Get(
          "/v2/archive_files",
          "from=" + http::PercentEncode(FormatZoomTime(from)) +
              "&to=" + http::PercentEncode(FormatZoomTime(from + absl::Hours(24 * 7) - absl::Seconds(1))) +
              "&page_size=5&next_page_token=" + next);
      ASSERT_EQ(r.status, 200) << r.body;
      Value body = Json(r);
      for (const Value& m : body.at("meetings").AsArray()) {
        seen.insert(m.at("uuid").AsString());
        const Meeting* meeting = tenant_.FindMeetingByUuid(m.at("uuid").AsString());
        ASSERT_NE(meeting, nullptr);
        for (const Value& f : m.at("archive_files").AsArray()) {
          EXPECT_EQ(f.at("encryption_fingerprint").AsString(),
                    *ExpectedSha256(tenant_, f.at("id").AsString()));
        }
      }
      next = body.at("next_page_token").AsString();
    } while (!next.empty());
  }
  EXPECT_EQ(seen.size(), tenant_.meetings.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
}

TEST_F(SimulatorTest, EachApiListsOnlyTheMeetingsItHolds) {
  TenantOptions options;
  options.recordings_only_every = 3;
  options.archive_only_every = 4;
  Start(options, SimulatorOptions{});
  std::set<std::string> recorded, archived, listed_recordings, listed_archive;
  for (const Meeting& m : tenant_.meetings) {
    if (HasRecordingFiles(m)) recorded.insert(m.uuid);
    if (HasArchiveFiles(m)) archived.insert(m.uuid);
  }
  ASSERT_LT(recorded.size(), tenant_.meetings.size());
  ASSERT_LT(archived.size(), tenant_.meetings.size());
  const std::string to = absl::FormatCivilTime(absl::ToCivilDay(now_, absl::UTCTimeZone()));
  const std::string from =
      absl::FormatCivilTime(absl::ToCivilDay(tenant_options_.from, absl::UTCTimeZone()));
  for (const User& u : tenant_.users) {
    http::ServerResponse r =
        Get("/v2/users/" + u.id + "/recordings", "from=" + from + "&to=" + to + "&page_size=300");
    ASSERT_EQ(r.status, 200) << r.body;
    const Value body = Json(r);
    for (const Value& m : body.at("meetings").AsArray()) {
      EXPECT_GT(m.at("recording_files").size(), 0u);
      listed_recordings.insert(m.at("uuid").AsString());
    }
  }
  for (absl::Time t = tenant_options_.from; t < now_; t += absl::Hours(24 * 7)) {
    http::ServerResponse r = Get(
        "/v2/archive_files",
        "from=" + http::PercentEncode(FormatZoomTime(t)) + "&to=" +
            http::PercentEncode(FormatZoomTime(t + absl::Hours(24 * 7) - absl::Seconds(1))) +
            "&page_size=300");
    ASSERT_EQ(r.status, 200) << r.body;
    const Value body = Json(r);
    for (const Value& m : body.at("meetings").AsArray()) {
      listed_archive.insert(m.at("uuid").AsString());
    }
  }
  EXPECT_EQ(listed_recordings, recorded);
  EXPECT_EQ(listed_archive, archived);
  // An archive-only meeting has no cloud recording, but Zoom knows its participants.
  for (const Meeting& m : tenant_.meetings) {
    if (HasRecordingFiles(m)) continue;
    http::ServerResponse r = Get("/v2/meetings/" + DoubleEncode(m.uuid) + "/recordings");
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_TRUE(absl::StrContains(r.body, "3301")) << r.body;
    EXPECT_EQ(Get("/v2/past_meetings/" + DoubleEncode(m.uuid) + "/participants").status, 200);
    break;
  }
}

// ---- UUID encoding ----

TEST_F(SimulatorTest, OddUuidsAreFoundOnlyWhenDoubleEncoded) {
  for (bool leading : {true, false}) {
    const Meeting& m = OddMeeting(leading);
    for (const char* suffix : {"", "/participants", "/archive_files"}) {
      http::ServerResponse twice = Get("/v2/past_meetings/" + DoubleEncode(m.uuid) + suffix);
      EXPECT_EQ(twice.status, 200) << m.uuid << suffix << twice.body;
      http::ServerResponse once = Get("/v2/past_meetings/" + http::PercentEncode(m.uuid) + suffix);
      EXPECT_EQ(once.status, 404) << m.uuid << suffix;
      EXPECT_EQ(Json(once).at("code").AsInt(), 3001) << once.body;
    }
    EXPECT_EQ(Json(Get("/v2/past_meetings/" + DoubleEncode(m.uuid))).at("uuid").AsString(),
              m.uuid);
    EXPECT_EQ(Get("/v2/meetings/" + DoubleEncode(m.uuid) + "/recordings").status, 200);
    EXPECT_EQ(Get("/v2/meetings/" + http::PercentEncode(m.uuid) + "/recordings").status, 404);
  }
  // An ordinary UUID works encoded once (or twice).
  const Meeting* plain = nullptr;
  for (const Meeting& m : tenant_.meetings) {
    if (m.uuid.find('/') == std::string::npos) plain = &m;
  }
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(Get("/v2/past_meetings/" + http::PercentEncode(plain->uuid)).status, 200);
  EXPECT_EQ(Get("/v2/past_meetings/" + DoubleEncode(plain->uuid)).status, 200);
}

TEST_F(SimulatorTest, NumericMeetingIdGivesTheLatestInstance) {
  std::map<int64_t, const Meeting*> latest;
  int64_t recurring = 0;
  for (const Meeting& m : tenant_.meetings) {
    if (latest.count(m.id)) recurring = m.id;
    latest[m.id] = &m;  // meetings are in start order
  }
  ASSERT_NE(recurring, 0) << "tenant has no recurring meeting";
  Value body = Json(Get(absl::StrCat("/v2/past_meetings/", recurring)));
  EXPECT_EQ(body.at("uuid").AsString(), latest[recurring]->uuid);
  EXPECT_TRUE(body.at("id").IsInteger());
}

TEST_F(SimulatorTest, ParticipantsKeepOneRowPerJoin) {
  const Meeting* with_rejoin = nullptr;
  for (const Meeting& m : tenant_.meetings) {
    std::set<std::string> ids;
    for (const Participant& p : m.participants) {
      if (!p.id.empty() && !ids.insert(p.id).second) with_rejoin = &m;
    }
  }
  ASSERT_NE(with_rejoin, nullptr);
  std::vector<Value> rows;
  std::string next;
  do {
    Value body = Json(Get("/v2/past_meetings/" + DoubleEncode(with_rejoin->uuid) + "/participants",
                          "page_size=1&next_page_token=" + next));
    for (const Value& p : body.at("participants").AsArray()) rows.push_back(p);
    next = body.at("next_page_token").AsString();
  } while (!next.empty());
  ASSERT_EQ(rows.size(), with_rejoin->participants.size());
  std::set<std::string> user_ids;
  for (const Value& row : rows) user_ids.insert(row.at("user_id").AsString());
  EXPECT_EQ(user_ids.size(), rows.size());  // every join has its own participant id
}

// ---- Rate limits ----

TEST_F(SimulatorTest, RateLimitAnswers429WithZoomsHeaders) {
  SimulatorOptions options;
  options.limits[Category::kMedium] = {2, 0};
  options.limits[Category::kLight] = {0, 3};
  Start(TenantOptions{}, options);
  const User& user = tenant_.users[0];
  EXPECT_EQ(Get("/v2/users/" + user.id + "/recordings").status, 200);
  EXPECT_EQ(Get("/v2/users/" + user.id + "/recordings").status, 200);
  http::ServerResponse qps = Get("/v2/users/" + user.id + "/recordings");
  ASSERT_EQ(qps.status, 429);
  EXPECT_EQ(Json(qps).at("code").AsInt(), 429);
  EXPECT_EQ(Json(qps).at("message").AsString(),
            "You have reached the maximum per-second rate limit for this API. Try again later.");
  EXPECT_EQ(Header(qps, "X-RateLimit-Category"), "Medium");
  EXPECT_EQ(Header(qps, "X-RateLimit-Type"), "QPS");
  EXPECT_EQ(Header(qps, "X-RateLimit-Limit"), "2");
  EXPECT_EQ(Header(qps, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(Header(qps, "Retry-After"), "1");
  now_ += absl::Seconds(1);
  EXPECT_EQ(Get("/v2/users/" + user.id + "/recordings").status, 200);

  const std::string meeting = "/v2/past_meetings/" + DoubleEncode(tenant_.meetings[0].uuid);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get(meeting).status, 200);
  http::ServerResponse daily = Get(meeting);
  ASSERT_EQ(daily.status, 429);
  EXPECT_EQ(Header(daily, "X-RateLimit-Category"), "Light");
  EXPECT_EQ(Header(daily, "X-RateLimit-Type"), "Daily-limit");
  EXPECT_EQ(Header(daily, "X-RateLimit-Limit"), "3");
  const absl::CivilDay tomorrow = absl::ToCivilDay(now_, absl::UTCTimeZone()) + 1;
  EXPECT_EQ(Header(daily, "Retry-After"),
            FormatZoomTime(absl::FromCivil(tomorrow, absl::UTCTimeZone())));

  Value stats = Json(Send("GET", "/_sim/stats"));
  EXPECT_EQ(stats.at("categories").at("Medium").at("rejected").AsInt(), 1);
  EXPECT_EQ(stats.at("categories").at("Medium").at("max_accepted_in_second").AsInt(), 2);
  EXPECT_EQ(stats.at("categories").at("Medium").at("max_requests_in_second").AsInt(), 3);
  EXPECT_EQ(stats.at("categories").at("Light").at("rejected_daily").AsInt(), 1);
}

// ---- Downloads ----

TEST_F(SimulatorTest, DownloadsNeedATokenAndRedirectToStorage) {
  const Meeting& m = tenant_.meetings[0];
  const FileEntry& video = m.files[0];
  const std::string path = "/rec/download/" + video.file_id;
  EXPECT_EQ(Send("GET", path).status, 401);
  EXPECT_EQ(Send("GET", path, "", "", {{"Authorization", "Bearer nope"}}).status, 401);
  http::ServerResponse redirect = Get(path);
  ASSERT_EQ(redirect.status, 302);
  const std::string location = Header(redirect, "Location");
  ASSERT_TRUE(absl::StartsWith(location, "http://zoom.test/storage/" + video.file_id + "?"))
      << location;
  const std::string query = location.substr(location.find('?') + 1);
  // The storage URL needs no token, but a valid signature.
  http::ServerResponse file = Send("GET", "/storage/" + video.file_id, query);
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(Header(file, "Content-Type"), "video/mp4");
  ASSERT_TRUE(file.body_stream != nullptr);
  EXPECT_EQ(file.content_length, video.size);
  EXPECT_EQ(crypto::Sha256Hex(ReadBody(file)), *ExpectedSha256(tenant_, video.file_id));
  EXPECT_EQ(Send("GET", "/storage/" + video.file_id, query + "0").status, 403);
  now_ += absl::Minutes(11);
  EXPECT_EQ(Send("GET", "/storage/" + video.file_id, query).status, 403);
}

TEST_F(SimulatorTest, StorageCanLiveOnAnotherHost) {
  sim_->SetStorageBaseUrl("http://storage.other.test:8080/");
  http::ServerResponse redirect = Get("/rec/download/" + tenant_.meetings[0].files[2].file_id);
  ASSERT_EQ(redirect.status, 302);
  EXPECT_TRUE(absl::StartsWith(Header(redirect, "Location"),
                               "http://storage.other.test:8080/storage/"));
}

TEST_F(SimulatorTest, ArchiveDownloadsWorkWithTheirOwnPath) {
  const Meeting& m = tenant_.meetings[1];
  for (const FileEntry& f : m.files) {
    if (!IsArchiveKind(f.kind)) continue;
    http::ServerResponse redirect = Get("/rec/archive/download/" + f.file_id);
    ASSERT_EQ(redirect.status, 302);
    const std::string location = Header(redirect, "Location");
    http::ServerResponse file =
        Send("GET", "/storage/" + f.file_id, location.substr(location.find('?') + 1));
    EXPECT_EQ(crypto::Sha256Hex(ReadBody(file)), *ExpectedSha256(tenant_, f.file_id));
  }
}

TEST_F(SimulatorTest, WebhookDownloadTokenOpensDownloads) {
  absl::StatusOr<WebhookRequest> hook =
      sim_->BuildWebhook("recording.completed", tenant_.meetings[0].uuid);
  ASSERT_TRUE(hook.ok()) << hook.status();
  const std::string download_token = json::ParseOrNull(hook->body).at("download_token").AsString();
  const std::string path = "/rec/download/" + tenant_.meetings[0].files[1].file_id;
  EXPECT_EQ(Send("GET", path, "access_token=" + download_token).status, 302);
  EXPECT_EQ(Send("GET", path, "", "", {{"Authorization", "Bearer " + download_token}}).status, 302);
  // It is not an API token.
  EXPECT_EQ(Send("GET", "/v2/users", "", "", {{"Authorization", "Bearer " + download_token}}).status,
            401);
  now_ += absl::Hours(25);
  EXPECT_EQ(Send("GET", path, "access_token=" + download_token).status, 401);
}

TEST_F(SimulatorTest, ProcessingFilesCompleteAfterSomeListings) {
  TenantOptions tenant_options;
  tenant_options.processing_every = 1;
  tenant_options.processing_listings = 2;
  Start(tenant_options, SimulatorOptions{});
  const Meeting& m = tenant_.meetings[0];
  const std::string path = "/v2/meetings/" + DoubleEncode(m.uuid) + "/recordings";
  auto mp4 = [&](const Value& body) {
    for (const Value& f : body.at("recording_files").AsArray()) {
      if (f.at("file_extension").AsString() == "MP4") return f;
    }
    return Value();
  };
  for (int i = 0; i < 2; ++i) {
    // Until the file has completed, its download is refused too.
    EXPECT_EQ(Get("/rec/download/" + m.files[0].file_id).status, 404);
    Value f = mp4(Json(Get(path)));
    EXPECT_EQ(f.at("id").AsString(), m.files[0].file_id);
    EXPECT_EQ(f.at("file_type").AsString(), "");
    EXPECT_EQ(f.at("file_size").AsInt(), 0);
    EXPECT_EQ(f.at("status").AsString(), "processing");
  }
  Value done = mp4(Json(Get(path)));
  EXPECT_EQ(done.at("file_type").AsString(), "MP4");
  EXPECT_EQ(done.at("status").AsString(), "completed");
  EXPECT_EQ(Get("/rec/download/" + done.at("id").AsString()).status, 302);
}

// ---- Faults ----

TEST_F(SimulatorTest, InjectedFaultsFireAsConfigured) {
  http::ServerResponse set = Send("POST", "/_sim/faults", "",
                                  R"({"error": {"every_n": 2}, "error_status": 503,
                                      "slow": {"every_n": 3}, "slow_ms": 250})");
  ASSERT_EQ(set.status, 200) << set.body;
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i) statuses.push_back(Get("/v2/users").status);
  EXPECT_EQ(statuses, (std::vector<int>{200, 503, 200, 503, 200, 503}));
  EXPECT_EQ(slept_, absl::Milliseconds(500));
  EXPECT_EQ(Send("POST", "/_sim/faults", "", R"({"bogus": 1})").status, 400);

  ASSERT_EQ(Send("POST", "/_sim/faults", "",
                 R"({"error": {"every_n": 0}, "slow": {"every_n": 0},
                     "truncate": {"every_n": 2}, "truncate_fraction": 0.25,
                     "html": {"every_n": 3}})")
                .status,
            200);
  const FileEntry& video = tenant_.meetings[0].files[0];
  auto fetch = [&] {
    http::ServerResponse redirect = Get("/rec/download/" + video.file_id);
    const std::string location = Header(redirect, "Location");
    return Send("GET", "/storage/" + video.file_id, location.substr(location.find('?') + 1));
  };
  http::ServerResponse whole = fetch();
  EXPECT_EQ(ReadBody(whole).size(), video.size);
  http::ServerResponse cut = fetch();
  EXPECT_EQ(cut.content_length, video.size);  // the full length is announced...
  EXPECT_EQ(ReadBody(cut).size(), video.size / 4);  // ...but the stream ends early
  http::ServerResponse html = fetch();
  EXPECT_EQ(html.status, 200);
  EXPECT_TRUE(absl::StartsWith(Header(html, "Content-Type"), "text/html"));
  EXPECT_TRUE(absl::StrContains(html.body, "<html>"));
  Value stats = Json(Send("GET", "/_sim/stats"));
  EXPECT_EQ(stats.at("faults").at("truncated").AsInt(), 1);
  EXPECT_EQ(stats.at("faults").at("html").AsInt(), 1);
  EXPECT_EQ(stats.at("faults").at("errors").AsInt(), 3);
}

TEST_F(SimulatorTest, AThrottleStormAnswersPerSecondLimitsWithRetryAfter) {
  ASSERT_EQ(Send("POST", "/_sim/faults", "", R"({"throttle": {"every_n": 2}})").status, 200);
  std::vector<int> statuses;
  http::ServerResponse throttled;
  for (int i = 0; i < 4; ++i) {
    http::ServerResponse r = Get("/v2/users");
    statuses.push_back(r.status);
    if (r.status == 429) throttled = std::move(r);
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 429, 200, 429}));
  EXPECT_EQ(Header(throttled, "Retry-After"), "1");
  EXPECT_EQ(Header(throttled, "X-RateLimit-Type"), "QPS");
  EXPECT_EQ(Json(Send("GET", "/_sim/stats")).at("faults").at("throttled").AsInt(), 2);
}

// ---- Webhooks and run-time meetings ----

TEST_F(SimulatorTest, WebhooksAreSignedAndShapedLikeZooms) {
  std::vector<WebhookRequest> sent;
  sim_->SetWebhookTransport([&](const WebhookRequest& r) -> absl::StatusOr<WebhookReply> {
    sent.push_back(r);
    return WebhookReply{200, ""};
  });
  const Meeting& m = OddMeeting(true);
  for (const char* event : {"recording.completed", "recording.transcript_completed",
                            "recording.archive_files_completed", "meeting.ended"}) {
    http::ServerResponse r = Send("POST", "/_sim/webhooks/fire", "",
                                  Value::Object({{"event", json::Str(event)},
                                                 {"meeting_uuid", json::Str(m.uuid)}})
                                      .Serialize());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(Json(r).at("delivered").AsBool());
  }
  ASSERT_EQ(sent.size(), 4u);
  for (const WebhookRequest& w : sent) {
    EXPECT_EQ(w.url, "http://127.0.0.1:1/zoom/webhook");
    const std::string ts = *http::FindHeader(w.headers, "x-zm-request-timestamp");
    EXPECT_EQ(ts, absl::StrCat(absl::ToUnixSeconds(now_)));
    EXPECT_EQ(*http::FindHeader(w.headers, "x-zm-signature"),
              "v0=" + crypto::HmacSha256Hex("hook-secret", "v0:" + ts + ":" + w.body));
    Value body = json::ParseOrNull(w.body);
    EXPECT_EQ(body.at("payload").at("account_id").AsString(), tenant_.account_id);
    EXPECT_EQ(body.at("payload").at("object").at("uuid").AsString(), m.uuid);
  }
  Value completed = json::ParseOrNull(sent[0].body);
  EXPECT_EQ(completed.at("event").AsString(), "recording.completed");
  EXPECT_TRUE(completed.HasString("download_token"));
  EXPECT_EQ(completed.at("payload").at("object").at("recording_files").size(), 6u);
  Value transcript = json::ParseOrNull(sent[1].body);
  ASSERT_EQ(transcript.at("payload").at("object").at("recording_files").size(), 1u);
  EXPECT_EQ(transcript.at("payload").at("object").at("recording_files").at(0).at("file_type")
                .AsString(),
            "TRANSCRIPT");
  EXPECT_TRUE(json::ParseOrNull(sent[2].body).at("payload").at("object").HasArray("archive_files"));
  Value ended = json::ParseOrNull(sent[3].body);
  EXPECT_FALSE(ended.Has("download_token"));
  EXPECT_TRUE(ended.at("payload").at("object").HasString("end_time"));

  EXPECT_EQ(Send("POST", "/_sim/webhooks/fire", "",
                 R"({"event": "recording.started", "meeting_uuid": "x"})")
                .status,
            404);
  EXPECT_EQ(Send("POST", "/_sim/webhooks/fire", "",
                 Value::Object({{"event", json::Str("recording.exploded")},
                                {"meeting_uuid", json::Str(m.uuid)}})
                     .Serialize())
                .status,
            400);
}

TEST_F(SimulatorTest, UrlValidationHandshakeChecksTheAnswer) {
  std::string secret_used = "hook-secret";
  sim_->SetWebhookTransport([&](const WebhookRequest& r) -> absl::StatusOr<WebhookReply> {
    const std::string plain =
        json::ParseOrNull(r.body).at("payload").at("plainToken").AsString();
    Value reply = Value::Object();
    reply["plainToken"] = json::Str(plain);
    reply["encryptedToken"] = json::Str(crypto::HmacSha256Hex(secret_used, plain));
    return WebhookReply{200, reply.Serialize()};
  });
  const std::string fire = R"({"event": "endpoint.url_validation"})";
  EXPECT_TRUE(Json(Send("POST", "/_sim/webhooks/fire", "", fire)).at("validated").AsBool());
  secret_used = "wrong-secret";
  Value failed = Json(Send("POST", "/_sim/webhooks/fire", "", fire));
  EXPECT_FALSE(failed.at("validated").AsBool());
  EXPECT_TRUE(absl::StrContains(failed.at("error").AsString(), "encryptedToken"));
}

TEST_F(SimulatorTest, MeetingsAddedAtRunTimeAreServed) {
  http::ServerResponse added = Send(
      "POST", "/_sim/meetings", "",
      Value::Object({{"uuid", json::Str("/new//meeting==")},
                     {"host_id", json::Str(tenant_.users[1].id)}})
          .Serialize());
  ASSERT_EQ(added.status, 201) << added.body;
  Value manifest = Json(added);
  EXPECT_EQ(manifest.at("uuid").AsString(), "/new//meeting==");
  ASSERT_GT(manifest.at("files").size(), 0u);
  http::ServerResponse got = Get("/v2/meetings/" + DoubleEncode("/new//meeting==") + "/recordings");
  ASSERT_EQ(got.status, 200) << got.body;
  // It ended 45 minutes before "now" and shows up in its host's listing.
  const std::string yesterday =
      absl::FormatCivilTime(absl::ToCivilDay(now_, absl::UTCTimeZone()) - 1);
  Value listing = Json(Get("/v2/users/" + tenant_.users[1].id + "/recordings",
                           "from=" + yesterday + "&to=" + yesterday));
  bool found = false;
  for (const Value& m : listing.at("meetings").AsArray()) {
    found = found || m.at("uuid").AsString() == "/new//meeting==";
  }
  EXPECT_TRUE(found) << listing.Serialize();
  const std::string file_id = manifest.at("files").at(0).at("file_id").AsString();
  EXPECT_EQ(manifest.at("files").at(0).at("sha256").AsString(),
            *ExpectedSha256(sim_->TenantSnapshot(), file_id));
  EXPECT_EQ(Send("POST", "/_sim/meetings", "", R"({"uuid": "/new//meeting=="})").status, 409);
  EXPECT_EQ(Send("POST", "/_sim/meetings", "", R"({"colour": "red"})").status, 400);
}

TEST_F(SimulatorTest, SingleFilesUsersAndMeetingsCanBeMadeToMisbehave) {
  const Meeting& m = tenant_.meetings[0];
  const FileEntry* video = nullptr;
  const FileEntry* archive_chat = nullptr;
  for (const FileEntry& f : m.files) {
    if (f.kind == FileKind::kVideo) video = &f;
    if (f.kind == FileKind::kArchiveChat) archive_chat = &f;
  }
  ASSERT_NE(video, nullptr);
  ASSERT_NE(archive_chat, nullptr);
  auto state = [&](const std::string& body) {
    return Send("POST", "/_sim/state", "", body).status;
  };
  auto recording = [&](const std::string& file_id) {
    const Value listing = Json(Get("/v2/meetings/" + DoubleEncode(m.uuid) + "/recordings"));
    for (const Value& f : listing.at("recording_files").AsArray()) {
      if (f.HasString("id") && f.at("id").AsString() == file_id) return f;
    }
    return Value::Null();
  };
  auto archived = [&](const std::string& file_id) {
    const Value listing = Json(Get("/v2/past_meetings/" + DoubleEncode(m.uuid) + "/archive_files"));
    for (const Value& f : listing.at("archive_files").AsArray()) {
      if (f.at("id").AsString() == file_id) return f;
    }
    return Value::Null();
  };

  ASSERT_EQ(state(R"({"file_id": ")" + video->file_id + R"(", "state": "processing"})"), 200);
  EXPECT_EQ(recording(video->file_id).at("file_type").AsString(), "");
  EXPECT_EQ(recording(video->file_id).at("status").AsString(), "processing");
  EXPECT_EQ(Get("/rec/download/" + video->file_id).status, 404);
  ASSERT_EQ(state(R"({"file_id": ")" + video->file_id + R"(", "state": "completed"})"), 200);
  EXPECT_EQ(recording(video->file_id).at("file_type").AsString(), "MP4");
  EXPECT_EQ(Get("/rec/download/" + video->file_id).status, 302);

  ASSERT_EQ(state(R"({"file_id": ")" + archive_chat->file_id + R"(", "state": "failed"})"), 200);
  EXPECT_EQ(archived(archive_chat->file_id).at("status").AsString(), "failed");
  ASSERT_EQ(state(R"({"file_id": ")" + archive_chat->file_id + R"(", "state": "bad_fingerprint"})"),
            200);
  EXPECT_NE(archived(archive_chat->file_id).at("encryption_fingerprint").AsString(),
            FileSha256(m, *archive_chat));

  const std::string user = tenant_.users[0].id;
  ASSERT_EQ(state(R"({"user_id": ")" + user + R"(", "recordings_error": 404})"), 200);
  EXPECT_EQ(Get("/v2/users/" + user + "/recordings").status, 404);
  ASSERT_EQ(state(R"({"user_id": ")" + user + R"(", "recordings_error": 0})"), 200);
  EXPECT_EQ(Get("/v2/users/" + user + "/recordings").status, 200);

  const std::string participants = "/v2/past_meetings/" + DoubleEncode(m.uuid) + "/participants";
  ASSERT_EQ(state(R"({"meeting_uuid": ")" + m.uuid + R"(", "participants": "empty"})"), 200);
  EXPECT_EQ(Json(Get(participants)).at("participants").size(), 0u);
  ASSERT_EQ(state(R"({"meeting_uuid": ")" + m.uuid + R"(", "participants": "404"})"), 200);
  EXPECT_EQ(Get(participants).status, 404);
  ASSERT_EQ(state(R"({"meeting_uuid": ")" + m.uuid + R"(", "participants": "500"})"), 200);
  EXPECT_EQ(Get(participants).status, 500);
  ASSERT_EQ(state(R"({"meeting_uuid": ")" + m.uuid + R"(", "participants": "shown"})"), 200);
  EXPECT_GT(Json(Get(participants)).at("participants").size(), 0u);

  EXPECT_EQ(state(R"({"file_id": ")" + video->file_id + R"(", "state": "sideways"})"), 400);
  EXPECT_EQ(state(R"({"file_id": "no-such-file", "state": "failed"})"), 404);
  EXPECT_EQ(state(R"({"colour": "red"})"), 400);
}

TEST_F(SimulatorTest, UnknownPathsAndMethodsGetZoomErrors) {
  EXPECT_EQ(Get("/v2/nothing/here").status, 404);
  EXPECT_EQ(Send("DELETE", "/v2/users", "", "", {{"Authorization", "Bearer " + Token()}}).status,
            405);
  EXPECT_EQ(Send("GET", "/elsewhere").status, 404);
  // A UUID sent with raw slashes does not reach a handler.
  EXPECT_EQ(Get("/v2/past_meetings//abc//def==").status, 404);
}

TEST(DecodeMeetingPathSegmentTest, FollowsZoomsDoubleEncodingRule) {
  EXPECT_EQ(DecodeMeetingPathSegment("%252Fab%252F%252Fc%253D%253D"), "/ab//c==");
  EXPECT_EQ(DecodeMeetingPathSegment("%2Fab%2F%2Fc%3D%3D"), std::nullopt);
  EXPECT_EQ(DecodeMeetingPathSegment("ab%2F%2Fc%3D%3D"), std::nullopt);
  EXPECT_EQ(DecodeMeetingPathSegment("ab%2Fc%3D%3D"), "ab/c==");
  EXPECT_EQ(DecodeMeetingPathSegment("abc%3D%3D"), "abc==");
  EXPECT_EQ(DecodeMeetingPathSegment("85188877305"), "85188877305");
}

TEST(ContractDumpTest, WritesOneFilePerCall) {
  char dir_template[] = "/tmp/zoom_sim_dumpXXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  TenantOptions options;
  options.meetings = 12;
  absl::StatusOr<int> written = DumpContractResponses(options, dir_template);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_GT(*written, 20);
  EXPECT_FALSE(DumpContractResponses(options, "/nonexistent/dir").ok());
  std::system(absl::StrCat("rm -rf ", dir_template).c_str());
}

}  // namespace
}  // namespace zarc::zoom_sim
