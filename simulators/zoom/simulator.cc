#include "simulators/zoom/simulator.h"

#include <algorithm>
#include <exception>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/crypto/digest.h"
#include "runtime/log/log.h"
#include "simulators/zoom/file_content.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

using http::ServerRequest;
using http::ServerResponse;
using json::Value;

constexpr absl::string_view kComponent = "zoom-sim";
constexpr int kDefaultPageSize = 30;
constexpr int kMaxPageSize = 300;
constexpr absl::Duration kPageTokenLifetime = absl::Minutes(15);
constexpr absl::Duration kDownloadTokenLifetime = absl::Hours(24);
constexpr absl::Duration kStorageUrlLifetime = absl::Minutes(10);

ServerResponse Json(int status, const Value& body) {
  ServerResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "application/json;charset=UTF-8"}};
  response.body = body.Serialize();
  return response;
}

// Zoom's API error body: {"code": N, "message": "..."}.
ServerResponse ZoomError(int status, int code, absl::string_view message) {
  Value body = Value::Object();
  body["code"] = Value::Number(code);
  body["message"] = json::Str(std::string(message));
  return Json(status, body);
}

ServerResponse InvalidAccessToken() { return ZoomError(401, 124, "Invalid access token."); }

ServerResponse MeetingNotFound(absl::string_view shown) {
  return ZoomError(404, 3001, absl::StrCat("Meeting does not exist: ", shown, "."));
}

// Decodes a path segment that names a user (id or e-mail).
std::string DecodeSegment(absl::string_view raw) { return http::PercentDecode(raw); }

std::optional<std::string> Bearer(const ServerRequest& request) {
  std::optional<std::string> header = http::FindHeader(request.headers, "Authorization");
  if (!header.has_value()) return std::nullopt;
  absl::string_view v = *header;
  if (!absl::ConsumePrefix(&v, "Bearer ") && !absl::ConsumePrefix(&v, "bearer ")) {
    return std::nullopt;
  }
  return std::string(absl::StripAsciiWhitespace(v));
}

// page_size as Zoom takes it: default 30, larger than 300 is capped at 300.
absl::StatusOr<int> PageSize(absl::string_view query) {
  std::optional<std::string> text = http::QueryParam(query, "page_size");
  if (!text.has_value() || text->empty()) return kDefaultPageSize;
  int n = 0;
  if (!absl::SimpleAtoi(*text, &n) || n < 1) {
    return absl::InvalidArgumentError(absl::StrCat("Invalid field: page_size \"", *text, "\"."));
  }
  return std::min(n, kMaxPageSize);
}

absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view text) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(absl::StrCat("Invalid date: \"", text,
                                                   "\", expected yyyy-mm-dd."));
  }
  return day;
}

std::string DayString(absl::CivilDay day) { return absl::FormatCivilTime(day); }

// ---- JSON shapes of the API (field names from the Postman collection's examples) ----

using FileStates = std::map<std::string, FileState>;

FileState StateOf(const FileStates& states, const FileEntry& f) {
  auto it = states.find(f.file_id);
  return it == states.end() ? FileState::kCompleted : it->second;
}

Value RecordingFileJson(const Meeting& m, const FileEntry& f, absl::string_view base,
                        bool processing, bool failed) {
  Value file = Value::Object();
  const bool bare = f.kind == FileKind::kCaptions || f.kind == FileKind::kTimeline;
  // CC and TIMELINE entries come without id, status and file_size (README).
  if (!bare) file["id"] = json::Str(f.file_id);
  file["meeting_id"] = json::Str(m.uuid);
  file["recording_start"] = json::Str(FormatZoomTime(m.recording_start()));
  file["recording_end"] = json::Str(FormatZoomTime(m.end_time()));
  file["file_type"] = json::Str(processing ? "" : std::string(FileTypeName(f.kind)));
  file["file_extension"] = json::Str(std::string(FileExtension(f.kind)));
  if (!bare) file["file_size"] = Value::Number(static_cast<uint64_t>(processing ? 0 : f.size));
  file["play_url"] = json::Str(absl::StrCat(base, "/rec/play/", f.file_id));
  file["download_url"] = json::Str(absl::StrCat(base, "/rec/download/", f.file_id));
  if (!bare) {
    file["status"] = json::Str(processing ? "processing" : failed ? "failed" : "completed");
  }
  file["recording_type"] = json::Str(std::string(RecordingTypeName(f.kind)));
  return file;
}

bool ShowsAsProcessing(const FileEntry& f, bool processing) {
  return processing && (f.kind == FileKind::kVideo || f.kind == FileKind::kTranscript);
}

// The recording object of List recordings / Get meeting recordings / recording.completed.
Value RecordingJson(const Tenant& t, const Meeting& m, absl::string_view base, bool processing,
                    bool transcripts_only, const FileStates& states) {
  Value meeting = Value::Object();
  meeting["uuid"] = json::Str(m.uuid);
  meeting["id"] = Value::Number(m.id);
  meeting["account_id"] = json::Str(t.account_id);
  meeting["host_id"] = json::Str(m.host_id);
  meeting["topic"] = json::Str(m.topic);
  meeting["type"] = Value::Number(m.type);
  meeting["start_time"] = json::Str(FormatZoomTime(m.start_time));
  meeting["timezone"] = json::Str(m.timezone);
  meeting["duration"] = Value::Number(absl::ToInt64Minutes(m.duration));
  Value files = Value::Array();
  uint64_t total = 0;
  size_t n = 0;
  for (const FileEntry& f : m.files) {
    if (IsArchiveKind(f.kind)) continue;
    if (transcripts_only && f.kind != FileKind::kTranscript) continue;
    const FileState state = StateOf(states, f);
    const bool shows_processing =
        ShowsAsProcessing(f, processing) || state == FileState::kProcessing;
    if (!shows_processing) total += f.size;
    files[n++] = RecordingFileJson(m, f, base, shows_processing, state == FileState::kFailed);
  }
  meeting["total_size"] = Value::Number(total);
  meeting["recording_count"] = Value::Number(static_cast<uint64_t>(n));
  meeting["share_url"] =
      json::Str(absl::StrCat(base, "/rec/share/", crypto::HexEncode(m.uuid).substr(0, 24)));
  meeting["recording_files"] = std::move(files);
  return meeting;
}

bool HasExternal(const Meeting& m) {
  for (const Participant& p : m.participants) {
    if (!p.internal) return true;
  }
  return false;
}

int64_t MessageCount(const Meeting& m) { return static_cast<int64_t>(m.chat.size()); }

std::string Lowercase(std::string s) {
  absl::AsciiStrToLower(&s);
  return s;
}

}  // namespace

std::optional<std::string> DecodeMeetingPathSegment(absl::string_view raw) {
  std::string once = http::PercentDecode(raw);
  if (absl::StartsWith(once, "/") || absl::StrContains(once, "//")) return std::nullopt;
  if (absl::StrContains(once, "%")) return http::PercentDecode(once);
  return once;
}

Simulator::Simulator(Tenant tenant, TenantOptions generator, SimulatorOptions options)
    : generator_(std::move(generator)),
      storage_key_(crypto::HexEncode(crypto::HmacSha256(absl::StrCat(options.seed), "storage"))),
      limiter_(options.limits),
      faults_(options.seed),
      options_(std::move(options)),
      tenant_(std::move(tenant)),
      rng_(options_.seed ^ 0x70CE115ull) {
  faults_.Set(options_.faults);
  if (!options_.clock) options_.clock = [] { return absl::Now(); };
  if (!options_.sleep) options_.sleep = [](absl::Duration d) { absl::SleepFor(d); };
}

absl::Time Simulator::Now() const {
  std::function<absl::Time()> clock;
  {
    absl::MutexLock lock(&mu_);
    clock = options_.clock;
  }
  return clock();
}

void Simulator::SetPublicBaseUrl(absl::string_view url) {
  absl::MutexLock lock(&mu_);
  options_.public_base_url = std::string(absl::StripSuffix(url, "/"));
}

void Simulator::SetStorageBaseUrl(absl::string_view url) {
  absl::MutexLock lock(&mu_);
  options_.storage_base_url = std::string(absl::StripSuffix(url, "/"));
}

void Simulator::SetWebhookTransport(WebhookTransport transport) {
  absl::MutexLock lock(&mu_);
  transport_ = std::move(transport);
}

Tenant Simulator::TenantSnapshot() const {
  absl::MutexLock lock(&mu_);
  return tenant_;
}

void Simulator::SetFileState(absl::string_view file_id, FileState state) {
  absl::MutexLock lock(&mu_);
  if (state == FileState::kCompleted) {
    file_states_.erase(std::string(file_id));
  } else {
    file_states_[std::string(file_id)] = state;
  }
}

void Simulator::SetUserRecordingsError(absl::string_view user_id, int http_status) {
  absl::MutexLock lock(&mu_);
  if (http_status == 0) {
    user_recordings_errors_.erase(std::string(user_id));
  } else {
    user_recordings_errors_[std::string(user_id)] = http_status;
  }
}

void Simulator::SetParticipantsHidden(absl::string_view meeting_uuid, bool hidden, int status) {
  absl::MutexLock lock(&mu_);
  if (hidden) {
    hidden_participants_[std::string(meeting_uuid)] = status;
  } else {
    hidden_participants_.erase(std::string(meeting_uuid));
  }
}

std::string Simulator::NewSecret(absl::string_view prefix) {
  std::string raw;
  for (int i = 0; i < 4; ++i) {
    const uint64_t word = rng_.Next();
    raw.append(reinterpret_cast<const char*>(&word), sizeof(word));
  }
  std::string token = crypto::Base64Encode(raw);
  for (char& c : token) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return absl::StrCat(prefix, absl::StripSuffix(token, "="));
}

ServerResponse Simulator::Handle(const ServerRequest& request) {
  ServerResponse response = Dispatch(request);
  log::Debug(kComponent, "request",
             {{"method", request.method}, {"path", request.path}, {"status", response.status}});
  return response;
}

ServerResponse Simulator::Dispatch(const ServerRequest& request) {
  std::vector<std::string> segments =
      absl::StrSplit(absl::StripPrefix(request.path, "/"), '/');
  if (request.path == "/oauth/token") {
    if (request.method != "POST") return ZoomError(405, 405, "Method not allowed.");
    return HandleToken(request);
  }
  if (!segments.empty() && segments[0] == "_sim") return HandleAdmin(request, segments);
  if (request.method == "GET" && segments.size() == 3 && segments[0] == "rec" &&
      segments[1] == "download") {
    return HandleDownload(request, segments[2]);
  }
  if (request.method == "GET" && segments.size() == 4 && segments[0] == "rec" &&
      segments[1] == "archive" && segments[2] == "download") {
    return HandleDownload(request, segments[3]);
  }
  if (request.method == "GET" && segments.size() == 2 && segments[0] == "storage") {
    return HandleStorage(request, segments[1]);
  }
  if (!segments.empty() && segments[0] == "v2") {
    if (request.method != "GET") return ZoomError(405, 405, "Method not allowed.");
    return HandleApi(request, segments);
  }
  return ZoomError(404, 404, absl::StrCat("No such path: ", request.path));
}

// ---- OAuth ----

ServerResponse Simulator::HandleToken(const ServerRequest& request) {
  auto invalid_client = [] {
    Value body = Value::Object();
    body["reason"] = json::Str("Invalid client_id or client_secret");
    body["error"] = json::Str("invalid_client");
    return Json(401, body);
  };
  std::optional<std::string> auth = http::FindHeader(request.headers, "Authorization");
  absl::string_view basic = auth.has_value() ? absl::string_view(*auth) : "";
  if (!absl::ConsumePrefix(&basic, "Basic ")) return invalid_client();
  absl::StatusOr<std::string> decoded = crypto::Base64Decode(absl::StripAsciiWhitespace(basic));
  if (!decoded.ok()) return invalid_client();
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return invalid_client();
  const std::string id = decoded->substr(0, colon);
  const std::string secret = decoded->substr(colon + 1);

  // Zoom reads the grant from the form body; the README says not to use the query string.
  const std::string grant = http::QueryParam(request.body, "grant_type").value_or("");
  const std::string account = http::QueryParam(request.body, "account_id").value_or("");
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  if (!crypto::ConstantTimeEquals(id, options_.client_id) ||
      !crypto::ConstantTimeEquals(secret, options_.client_secret)) {
    return invalid_client();
  }
  if (grant != "account_credentials") {
    Value body = Value::Object();
    body["reason"] = json::Str(absl::StrCat("Unsupported grant type: \"", grant,
                                                "\"; Server-to-Server OAuth uses "
                                                "account_credentials in the form body"));
    body["error"] = json::Str("unsupported_grant_type");
    return Json(400, body);
  }
  if (account != tenant_.account_id) {
    Value body = Value::Object();
    body["reason"] = json::Str(absl::StrCat("Invalid account_id: \"", account, "\""));
    body["error"] = json::Str("invalid_request");
    return Json(400, body);
  }
  // Expired tokens are forgotten so the map stays small.
  for (auto it = access_tokens_.begin(); it != access_tokens_.end();) {
    it = (it->second <= now) ? access_tokens_.erase(it) : std::next(it);
  }
  const std::string token = NewSecret("sim.");
  access_tokens_[token] = now + options_.token_ttl;
  ++tokens_issued_;
  Value body = Value::Object();
  body["access_token"] = json::Str(token);
  body["token_type"] = json::Str("bearer");
  body["expires_in"] = Value::Number(absl::ToInt64Seconds(options_.token_ttl));
  body["scope"] =
      json::Str("meeting:read:admin recording:read:admin user:read:admin archiving:read:admin");
  body["api_url"] = json::Str(options_.public_base_url);
  return Json(200, body);
}

bool Simulator::TokenValid(absl::string_view token, bool for_download) {
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  auto it = access_tokens_.find(std::string(token));
  if (it != access_tokens_.end() && it->second > now) return true;
  if (!for_download) return false;
  auto dl = download_tokens_.find(std::string(token));
  return dl != download_tokens_.end() && dl->second > now;
}

// ---- API ----

ServerResponse Simulator::HandleApi(const ServerRequest& request,
                                    const std::vector<std::string>& segments) {
  std::optional<std::string> token = Bearer(request);
  if (!token.has_value() || !TokenValid(*token, /*for_download=*/false)) {
    return InvalidAccessToken();
  }
  // Category per endpoint: README "Rate limits".
  const size_t n = segments.size();
  Category category = Category::kLight;
  enum class Op {
    kUsers, kUserRecordings, kMeetingRecordings, kPastMeeting, kParticipants, kMeetingArchive,
    kArchives, kUnknown
  } op = Op::kUnknown;
  if (n == 2 && segments[1] == "users") {
    op = Op::kUsers;
    category = Category::kMedium;
  } else if (n == 4 && segments[1] == "users" && segments[3] == "recordings") {
    op = Op::kUserRecordings;
    category = Category::kMedium;
  } else if (n == 4 && segments[1] == "meetings" && segments[3] == "recordings") {
    op = Op::kMeetingRecordings;
  } else if (n == 3 && segments[1] == "past_meetings") {
    op = Op::kPastMeeting;
  } else if (n == 4 && segments[1] == "past_meetings" && segments[3] == "participants") {
    op = Op::kParticipants;
    category = Category::kMedium;
  } else if (n == 4 && segments[1] == "past_meetings" && segments[3] == "archive_files") {
    op = Op::kMeetingArchive;
  } else if (n == 2 && segments[1] == "archive_files") {
    op = Op::kArchives;
    category = Category::kMedium;
  }
  if (op == Op::kUnknown) {
    // A UUID sent with raw slashes lands here, as it does on Zoom's router.
    return ZoomError(404, 404, absl::StrCat("No such API path: ", request.path));
  }

  RateDecision decision = limiter_.Admit(category, Now());
  if (decision.allowed && faults_.NextThrottle()) {
    // A throttle storm: answered as Zoom answers a per-second limit it says was reached.
    decision = {.allowed = false, .daily = false, .limit = decision.limit, .remaining = 0,
                .retry_after = "1"};
  }
  if (!decision.allowed) {
    ServerResponse response = ZoomError(
        429, 429,
        decision.daily ? "You have reached the maximum daily rate limit for this API. Refer to the "
                         "response header for details on when you can make another request."
                       : "You have reached the maximum per-second rate limit for this API. Try "
                         "again later.");
    response.headers.push_back({"X-RateLimit-Category", std::string(CategoryName(category))});
    response.headers.push_back({"X-RateLimit-Type", decision.daily ? "Daily-limit" : "QPS"});
    response.headers.push_back({"X-RateLimit-Limit", absl::StrCat(decision.limit)});
    response.headers.push_back({"X-RateLimit-Remaining", absl::StrCat(decision.remaining)});
    response.headers.push_back({"Retry-After", decision.retry_after});
    return response;
  }
  if (const int delay_ms = faults_.NextSlowMs(); delay_ms > 0) {
    std::function<void(absl::Duration)> sleep;
    {
      absl::MutexLock lock(&mu_);
      sleep = options_.sleep;
    }
    sleep(absl::Milliseconds(delay_ms));
  }
  if (faults_.NextError()) {
    return ZoomError(faults_.config().error_status, faults_.config().error_status,
                     "Internal server error, please try again later.");
  }

  ServerResponse response;
  switch (op) {
    case Op::kUsers:
      response = ListUsers(request.query);
      break;
    case Op::kUserRecordings:
      response = ListUserRecordings(DecodeSegment(segments[2]), request.query);
      break;
    case Op::kMeetingRecordings:
      response = GetMeetingRecordings(segments[2]);
      break;
    case Op::kPastMeeting:
      response = GetPastMeeting(segments[2]);
      break;
    case Op::kParticipants:
      response = ListParticipants(segments[2], request.query);
      break;
    case Op::kMeetingArchive:
      response = GetMeetingArchive(segments[2]);
      break;
    case Op::kArchives:
      response = ListArchives(request.query);
      break;
    case Op::kUnknown:
      break;
  }
  response.headers.push_back({"X-RateLimit-Category", std::string(CategoryName(category))});
  if (decision.limit > 0) {
    response.headers.push_back({"X-RateLimit-Limit", absl::StrCat(decision.limit)});
    response.headers.push_back({"X-RateLimit-Remaining", absl::StrCat(decision.remaining)});
  }
  return response;
}

absl::StatusOr<size_t> Simulator::PageStart(absl::string_view query, absl::string_view scope) {
  std::optional<std::string> token = http::QueryParam(query, "next_page_token");
  if (!token.has_value() || token->empty()) return 0;
  const absl::Time now = options_.clock();
  auto it = cursors_.find(*token);
  if (it == cursors_.end() || it->second.scope != scope ||
      now - it->second.issued > kPageTokenLifetime) {
    return absl::InvalidArgumentError("The next page token is invalid or expired.");
  }
  return it->second.offset;
}

std::string Simulator::NextPageToken(absl::string_view scope, size_t offset) {
  const absl::Time now = options_.clock();
  for (auto it = cursors_.begin(); it != cursors_.end();) {
    it = (now - it->second.issued > kPageTokenLifetime) ? cursors_.erase(it) : std::next(it);
  }
  std::string token = NewSecret("");
  cursors_[token] = PageCursor{std::string(scope), offset, now};
  return token;
}

bool Simulator::StillProcessing(const Meeting& meeting) const {
  if (meeting.processing_listings <= 0) return false;
  auto it = listings_.find(meeting.uuid);
  return it == listings_.end() || it->second < meeting.processing_listings;
}

bool Simulator::CountListing(const Meeting& meeting) {
  const bool processing = StillProcessing(meeting);
  ++listings_[meeting.uuid];
  return processing;
}

std::string Simulator::Fingerprint(const Meeting& meeting, const FileEntry& file) {
  if (StateOf(file_states_, file) == FileState::kBadFingerprint) {
    return crypto::Sha256Hex(absl::StrCat("not the bytes of ", file.file_id));
  }
  auto it = fingerprints_.find(file.file_id);
  if (it != fingerprints_.end()) return it->second;
  std::string sha = FileSha256(meeting, file);
  fingerprints_[file.file_id] = sha;
  return sha;
}

ServerResponse Simulator::ListUsers(absl::string_view query) {
  absl::StatusOr<int> page_size = PageSize(query);
  if (!page_size.ok()) return ZoomError(400, 300, page_size.status().message());
  const std::string status = http::QueryParam(query, "status").value_or("active");
  if (status != "active" && status != "inactive" && status != "pending") {
    return ZoomError(400, 300, absl::StrCat("Invalid field: status \"", status,
                                            "\"; use active, inactive or pending."));
  }
  absl::MutexLock lock(&mu_);
  std::vector<const User*> users;
  for (const User& u : tenant_.users) {
    if (u.status == status) users.push_back(&u);
  }
  const std::string scope = absl::StrCat("users|", status, "|", *page_size);
  absl::StatusOr<size_t> start = PageStart(query, scope);
  if (!start.ok()) return ZoomError(400, 300, start.status().message());
  Value list = Value::Array();
  const size_t end = std::min(users.size(), *start + *page_size);
  for (size_t i = *start, k = 0; i < end; ++i, ++k) {
    const User& u = *users[i];
    Value user = Value::Object();
    user["id"] = json::Str(u.id);
    user["first_name"] = json::Str(u.first_name);
    user["last_name"] = json::Str(u.last_name);
    user["display_name"] = json::Str(absl::StrCat(u.first_name, " ", u.last_name));
    user["email"] = json::Str(u.email);
    user["type"] = Value::Number(u.type);
    user["timezone"] = json::Str(u.timezone);
    user["verified"] = Value::Number(1);
    user["dept"] = json::Str(u.dept);
    user["created_at"] = json::Str(FormatZoomTime(u.created_at));
    user["user_created_at"] = json::Str(FormatZoomTime(u.created_at));
    user["last_login_time"] = json::Str(FormatZoomTime(u.created_at + absl::Hours(24 * 300)));
    user["last_client_version"] = json::Str("5.17.11.34827(mac)");
    user["language"] = json::Str("en-US");
    user["status"] = json::Str(u.status);
    user["role_id"] = json::Str(u.type == 2 ? "1" : "2");
    list[k] = std::move(user);
  }
  Value body = Value::Object();
  body["page_count"] =
      Value::Number(static_cast<uint64_t>((users.size() + *page_size - 1) / *page_size));
  body["page_number"] = Value::Number(1);
  body["page_size"] = Value::Number(*page_size);
  body["total_records"] = Value::Number(static_cast<uint64_t>(users.size()));
  body["next_page_token"] = json::Str(end < users.size() ? NextPageToken(scope, end) : "");
  body["users"] = std::move(list);
  return Json(200, body);
}

ServerResponse Simulator::ListUserRecordings(absl::string_view user_key, absl::string_view query) {
  absl::StatusOr<int> page_size = PageSize(query);
  if (!page_size.ok()) return ZoomError(400, 300, page_size.status().message());
  const absl::Time now = Now();
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  std::optional<std::string> from_text = http::QueryParam(query, "from");
  std::optional<std::string> to_text = http::QueryParam(query, "to");
  absl::CivilDay from = today, to = today + 1;
  if (from_text.has_value() && !from_text->empty()) {
    absl::StatusOr<absl::CivilDay> day = ParseDay(*from_text);
    if (!day.ok()) return ZoomError(400, 300, day.status().message());
    from = *day;
  }
  if (to_text.has_value() && !to_text->empty()) {
    absl::StatusOr<absl::CivilDay> day = ParseDay(*to_text);
    if (!day.ok()) return ZoomError(400, 300, day.status().message());
    to = *day;
  } else if (from_text.has_value() && !from_text->empty()) {
    to = std::max(from, today);
  }
  if (from > to) {
    return ZoomError(400, 300, absl::StrCat("The from date ", DayString(from),
                                            " is after the to date ", DayString(to), "."));
  }
  // At most one month: Zoom silently moves `from` up to one month before `to` (README).
  // "One month before" March 31 is February's last day, not March 2.
  const absl::CivilMonth previous = absl::CivilMonth(to) - 1;
  const absl::CivilDay last_of_previous = absl::CivilDay(absl::CivilMonth(to)) - 1;
  const absl::CivilDay earliest =
      std::min(absl::CivilDay(previous.year(), previous.month(), to.day()), last_of_previous);
  if (from < earliest) from = earliest;

  absl::MutexLock lock(&mu_);
  const User* user = tenant_.FindUser(user_key);
  if (user == nullptr) {
    return ZoomError(404, 1001, absl::StrCat("User does not exist: ", user_key, "."));
  }
  if (auto it = user_recordings_errors_.find(user->id); it != user_recordings_errors_.end()) {
    switch (it->second) {
      case 404:
        return ZoomError(404, 1001, absl::StrCat("User does not exist: ", user_key, "."));
      case 429: {
        ServerResponse r = ZoomError(
            429, 429,
            "You have reached the maximum daily rate limit for this API. Refer to the response "
            "header for details on when you can make another request.");
        r.headers.push_back({"X-RateLimit-Type", "Daily-limit"});
        r.headers.push_back(
            {"Retry-After", FormatZoomTime(absl::FromCivil(today + 1, absl::UTCTimeZone()))});
        return r;
      }
      default:
        return ZoomError(it->second, 300, absl::StrCat("Invalid request for user ", user_key, "."));
    }
  }
  const absl::Time window_start = absl::FromCivil(from, absl::UTCTimeZone());
  const absl::Time window_end = absl::FromCivil(to + 1, absl::UTCTimeZone());
  std::vector<const Meeting*> meetings;
  // Newest first, as Zoom lists them.
  for (auto it = tenant_.meetings.rbegin(); it != tenant_.meetings.rend(); ++it) {
    // A meeting that was archived but never recorded to the cloud is not a recording.
    if (it->host_id == user->id && it->start_time >= window_start &&
        it->start_time < window_end && HasRecordingFiles(*it)) {
      meetings.push_back(&*it);
    }
  }
  const std::string scope =
      absl::StrCat("recordings|", user->id, "|", DayString(from), "|", DayString(to), "|",
                   *page_size);
  absl::StatusOr<size_t> start = PageStart(query, scope);
  if (!start.ok()) return ZoomError(400, 300, start.status().message());
  const size_t end = std::min(meetings.size(), *start + *page_size);
  Value list = Value::Array();
  for (size_t i = *start, k = 0; i < end; ++i, ++k) {
    const bool processing = CountListing(*meetings[i]);
    list[k] = RecordingJson(tenant_, *meetings[i], options_.public_base_url, processing, false,
                            file_states_);
  }
  Value body = Value::Object();
  body["from"] = json::Str(DayString(from));
  body["to"] = json::Str(DayString(to));
  body["page_count"] =
      Value::Number(static_cast<uint64_t>((meetings.size() + *page_size - 1) / *page_size));
  body["page_size"] = Value::Number(*page_size);
  body["total_records"] = Value::Number(static_cast<uint64_t>(meetings.size()));
  body["next_page_token"] =
      json::Str(end < meetings.size() ? NextPageToken(scope, end) : "");
  body["meetings"] = std::move(list);
  return Json(200, body);
}

namespace {

// Finds the meeting a path segment names: a numeric meeting ID (latest instance) or a UUID.
const Meeting* ResolveMeeting(const Tenant& tenant, absl::string_view raw, std::string* shown) {
  std::optional<std::string> key = DecodeMeetingPathSegment(raw);
  *shown = key.value_or(http::PercentDecode(raw));
  if (!key.has_value()) return nullptr;
  int64_t id = 0;
  if (!key->empty() && std::all_of(key->begin(), key->end(), absl::ascii_isdigit) &&
      absl::SimpleAtoi(*key, &id)) {
    return tenant.FindLatestMeetingById(id);
  }
  return tenant.FindMeetingByUuid(*key);
}

}  // namespace

ServerResponse Simulator::GetMeetingRecordings(absl::string_view raw_meeting) {
  absl::MutexLock lock(&mu_);
  std::string shown;
  const Meeting* meeting = ResolveMeeting(tenant_, raw_meeting, &shown);
  if (meeting == nullptr || !HasRecordingFiles(*meeting)) {
    return ZoomError(404, 3301, "There is no recording for this meeting.");
  }
  const bool processing = CountListing(*meeting);
  return Json(200, RecordingJson(tenant_, *meeting, options_.public_base_url, processing, false,
                                 file_states_));
}

ServerResponse Simulator::GetPastMeeting(absl::string_view raw_meeting) {
  absl::MutexLock lock(&mu_);
  std::string shown;
  const Meeting* m = ResolveMeeting(tenant_, raw_meeting, &shown);
  if (m == nullptr) return MeetingNotFound(shown);
  const User* host = tenant_.FindUser(m->host_id);
  Value body = Value::Object();
  body["uuid"] = json::Str(m->uuid);
  body["id"] = Value::Number(m->id);
  body["host_id"] = json::Str(m->host_id);
  body["type"] = Value::Number(m->type);
  body["topic"] = json::Str(m->topic);
  body["user_name"] =
      json::Str(host ? absl::StrCat(host->first_name, " ", host->last_name) : "");
  body["user_email"] = json::Str(host ? host->email : "");
  body["start_time"] = json::Str(FormatZoomTime(m->start_time));
  body["end_time"] = json::Str(FormatZoomTime(m->end_time()));
  body["duration"] = Value::Number(absl::ToInt64Minutes(m->duration));
  int64_t total_minutes = 0;
  for (const Participant& p : m->participants) {
    total_minutes += absl::ToInt64Minutes(p.leave_time - p.join_time);
  }
  body["total_minutes"] = Value::Number(total_minutes);
  body["participants_count"] = Value::Number(static_cast<uint64_t>(m->participants.size()));
  body["dept"] = json::Str(host ? host->dept : "");
  body["source"] = json::Str("Zoom");
  return Json(200, body);
}

ServerResponse Simulator::ListParticipants(absl::string_view raw_meeting,
                                           absl::string_view query) {
  absl::StatusOr<int> page_size = PageSize(query);
  if (!page_size.ok()) return ZoomError(400, 300, page_size.status().message());
  absl::MutexLock lock(&mu_);
  std::string shown;
  const Meeting* m = ResolveMeeting(tenant_, raw_meeting, &shown);
  if (m == nullptr) return MeetingNotFound(shown);
  const auto hidden = hidden_participants_.find(m->uuid);
  if (hidden != hidden_participants_.end() && hidden->second == 404) return MeetingNotFound(shown);
  if (hidden != hidden_participants_.end() && hidden->second == 500) {
    return ZoomError(500, 500, "Internal Error.");
  }
  const std::string scope = absl::StrCat("participants|", m->uuid, "|", *page_size);
  absl::StatusOr<size_t> start = PageStart(query, scope);
  if (!start.ok()) return ZoomError(400, 300, start.status().message());
  const size_t total = hidden != hidden_participants_.end() ? 0 : m->participants.size();
  const size_t end = std::min(total, *start + *page_size);
  Value list = Value::Array();
  for (size_t i = *start, k = 0; i < end; ++i, ++k) {
    const Participant& p = m->participants[i];
    Value row = Value::Object();
    row["id"] = json::Str(p.id);
    row["name"] = json::Str(p.name);
    row["user_id"] = json::Str(p.user_id);
    row["registrant_id"] = json::Str("");
    row["user_email"] = json::Str(p.email);
    row["join_time"] = json::Str(FormatZoomTime(p.join_time));
    row["leave_time"] = json::Str(FormatZoomTime(p.leave_time));
    row["duration"] = Value::Number(absl::ToInt64Seconds(p.leave_time - p.join_time));
    row["failover"] = Value::Boolean(false);
    row["status"] = json::Str("in_meeting");
    row["internal_user"] = Value::Boolean(p.internal);
    list[k] = std::move(row);
  }
  Value body = Value::Object();
  body["page_count"] = Value::Number(static_cast<uint64_t>((total + *page_size - 1) / *page_size));
  body["page_size"] = Value::Number(*page_size);
  body["total_records"] = Value::Number(static_cast<uint64_t>(total));
  body["next_page_token"] = json::Str(end < total ? NextPageToken(scope, end) : "");
  body["participants"] = std::move(list);
  return Json(200, body);
}

namespace {

// The archived-meeting object of the Archiving API and recording.archive_files_completed.
Value ArchiveMeetingJson(const Tenant& t, const Meeting& m, absl::string_view base,
                         const std::function<std::string(const FileEntry&)>& fingerprint,
                         const FileStates& states) {
  Value files = Value::Array();
  uint64_t total = 0;
  size_t n = 0;
  for (const FileEntry& f : m.files) {
    if (!IsArchiveKind(f.kind)) continue;
    Value file = Value::Object();
    file["id"] = json::Str(f.file_id);
    file["file_type"] = json::Str(std::string(FileTypeName(f.kind)));
    file["file_extension"] = json::Str(std::string(FileExtension(f.kind)));
    const FileState state = StateOf(states, f);
    const bool processing = state == FileState::kProcessing;
    file["file_size"] = Value::Number(static_cast<uint64_t>(processing ? 0 : f.size));
    file["download_url"] = json::Str(absl::StrCat(base, "/rec/archive/download/", f.file_id));
    file["status"] = json::Str(processing                    ? "processing"
                                   : state == FileState::kFailed ? "failed"
                                                                 : "completed");
    file["recording_type"] = json::Str(std::string(RecordingTypeName(f.kind)));
    file["individual"] = Value::Boolean(f.individual);
    file["participant_email"] = json::Str(f.participant_email);
    file["participant_join_time"] =
        json::Str(FormatZoomTime(f.individual ? f.participant_join_time : m.start_time));
    file["participant_leave_time"] =
        json::Str(FormatZoomTime(f.individual ? f.participant_leave_time : m.end_time()));
    file["encryption_fingerprint"] = json::Str(fingerprint(f));
    if (f.kind == FileKind::kArchiveChat) {
      file["number_of_messages"] = Value::Number(MessageCount(m));
    }
    file["storage_location"] = json::Str("US");
    file["auto_delete"] = Value::Boolean(false);
    total += f.size;
    files[n++] = std::move(file);
  }
  Value meeting = Value::Object();
  meeting["uuid"] = json::Str(m.uuid);
  meeting["id"] = Value::Number(m.id);
  meeting["host_id"] = json::Str(m.host_id);
  meeting["topic"] = json::Str(m.topic);
  meeting["type"] = Value::Number(m.type);
  meeting["start_time"] = json::Str(FormatZoomTime(m.start_time));
  meeting["timezone"] = json::Str(m.timezone);
  meeting["duration"] = Value::Number(absl::ToInt64Minutes(m.duration));
  meeting["duration_in_second"] = Value::Number(absl::ToInt64Seconds(m.duration));
  meeting["total_size"] = Value::Number(total);
  meeting["recording_count"] = Value::Number(static_cast<uint64_t>(n));
  meeting["meeting_type"] = json::Str(HasExternal(m) ? "external" : "internal");
  meeting["account_name"] = json::Str(t.account_name);
  meeting["complete_time"] = json::Str(FormatZoomTime(m.archive_complete_time()));
  meeting["is_breakout_room"] = Value::Boolean(false);
  meeting["parent_meeting_id"] = json::Str("");
  meeting["status"] = json::Str("completed");
  meeting["archive_files"] = std::move(files);
  return meeting;
}

}  // namespace

ServerResponse Simulator::GetMeetingArchive(absl::string_view raw_meeting) {
  absl::MutexLock lock(&mu_);
  std::string shown;
  const Meeting* m = ResolveMeeting(tenant_, raw_meeting, &shown);
  if (m == nullptr || !HasArchiveFiles(*m)) {
    return ZoomError(404, 3001, absl::StrCat("Meeting ", shown, " does not exist."));
  }
  auto fingerprint = [&](const FileEntry& f) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return Fingerprint(*m, f);
  };
  return Json(200,
              ArchiveMeetingJson(tenant_, *m, options_.public_base_url, fingerprint, file_states_));
}

ServerResponse Simulator::ListArchives(absl::string_view query) {
  {
    // Zoom's spec does not publish this answer; a refusal is what an account without the
    // feature gets, and what the fetcher's detection must tell from an empty listing.
    absl::MutexLock lock(&mu_);
    if (!tenant_.archiving) {
      return ZoomError(400, 300, "Archiving is not enabled for this account.");
    }
  }
  absl::StatusOr<int> page_size = PageSize(query);
  if (!page_size.ok()) return ZoomError(400, 300, page_size.status().message());
  const absl::Time now = Now();
  absl::Time from = now - absl::Hours(24), to = now;
  for (auto [name, target] : {std::pair<const char*, absl::Time*>{"from", &from}, {"to", &to}}) {
    std::optional<std::string> text = http::QueryParam(query, name);
    if (!text.has_value() || text->empty()) continue;
    absl::StatusOr<absl::Time> t = ParseZoomTime(*text);
    if (!t.ok()) {
      return ZoomError(400, 300, absl::StrCat("Invalid field: ", name, " \"", *text,
                                              "\", expected yyyy-MM-dd'T'HH:mm:ssZ."));
    }
    *target = *t;
  }
  if (from > to) return ZoomError(400, 300, "The from time must be before the to time.");
  if (to - from > absl::Hours(24 * 7)) {
    return ZoomError(400, 300, "The maximum date range is 7 days: from and to cannot be more "
                               "than 7 days apart.");
  }
  const std::string date_type = http::QueryParam(query, "query_date_type")
                                    .value_or("meeting_start_time");
  if (date_type != "meeting_start_time" && date_type != "archive_complete_time") {
    return ZoomError(400, 300, absl::StrCat("Invalid field: query_date_type \"", date_type,
                                            "\"; use meeting_start_time or "
                                            "archive_complete_time."));
  }
  absl::MutexLock lock(&mu_);
  std::vector<const Meeting*> meetings;
  for (const Meeting& m : tenant_.meetings) {
    const absl::Time t =
        date_type == "meeting_start_time" ? m.start_time : m.archive_complete_time();
    if (HasArchiveFiles(m) && t >= from && t <= to) meetings.push_back(&m);
  }
  const std::string scope = absl::StrCat("archives|", FormatZoomTime(from), "|",
                                         FormatZoomTime(to), "|", date_type, "|", *page_size);
  absl::StatusOr<size_t> start = PageStart(query, scope);
  if (!start.ok()) return ZoomError(400, 300, start.status().message());
  const size_t end = std::min(meetings.size(), *start + *page_size);
  Value list = Value::Array();
  for (size_t i = *start, k = 0; i < end; ++i, ++k) {
    const Meeting* m = meetings[i];
    auto fingerprint = [&](const FileEntry& f) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return Fingerprint(*m, f);
    };
    list[k] = ArchiveMeetingJson(tenant_, *m, options_.public_base_url, fingerprint, file_states_);
  }
  Value body = Value::Object();
  body["from"] = json::Str(FormatZoomTime(from));
  body["to"] = json::Str(FormatZoomTime(to));
  body["page_size"] = Value::Number(*page_size);
  body["total_records"] = Value::Number(static_cast<uint64_t>(meetings.size()));
  body["next_page_token"] =
      json::Str(end < meetings.size() ? NextPageToken(scope, end) : "");
  body["meetings"] = std::move(list);
  return Json(200, body);
}

// ---- Downloads ----

namespace {

// Ends the stream after `limit` bytes although the full length was announced: a truncated
// download as a client sees it when the connection drops.
class TruncatedSource final : public io::ByteSource {
 public:
  TruncatedSource(std::unique_ptr<io::ByteSource> inner, uint64_t limit)
      : inner_(std::move(inner)), left_(limit) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    if (left_ == 0) return 0;
    absl::StatusOr<size_t> n = inner_->Read(buffer, std::min<uint64_t>(size, left_));
    if (n.ok()) left_ -= *n;
    return n;
  }

 private:
  std::unique_ptr<io::ByteSource> inner_;
  uint64_t left_;
};

std::string StorageSignature(absl::string_view key, absl::string_view file_id, int64_t expiry) {
  return crypto::HmacSha256Hex(key, absl::StrCat(file_id, ":", expiry)).substr(0, 32);
}

}  // namespace

ServerResponse Simulator::HandleDownload(const ServerRequest& request, absl::string_view file_id) {
  // Zoom takes the OAuth token (or a webhook download_token) as a Bearer header, or a
  // download_token as ?access_token=.
  std::optional<std::string> token = Bearer(request);
  if (!token.has_value()) token = http::QueryParam(request.query, "access_token");
  if (!token.has_value() || !TokenValid(*token, /*for_download=*/true)) {
    return InvalidAccessToken();
  }
  if (const int delay_ms = faults_.NextSlowMs(); delay_ms > 0) {
    std::function<void(absl::Duration)> sleep;
    {
      absl::MutexLock lock(&mu_);
      sleep = options_.sleep;
    }
    sleep(absl::Milliseconds(delay_ms));
  }
  if (faults_.NextError()) {
    const int status = faults_.config().error_status;
    return ZoomError(status, status, "Internal server error, please try again later.");
  }
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  std::optional<Tenant::FileRef> ref = tenant_.FindFile(file_id);
  if (!ref.has_value()) {
    return ZoomError(404, 3301, absl::StrCat("This recording does not exist: ", file_id, "."));
  }
  const FileState state = StateOf(file_states_, *ref->file);
  if (ShowsAsProcessing(*ref->file, StillProcessing(*ref->meeting)) ||
      state == FileState::kProcessing) {
    return ZoomError(404, 3301, "This recording is still processing. Try again later.");
  }
  if (state == FileState::kFailed) {
    return ZoomError(404, 3301, absl::StrCat("This recording failed to process: ", file_id, "."));
  }
  ++downloads_started_;
  const int64_t expiry = absl::ToUnixSeconds(now + kStorageUrlLifetime);
  const std::string& base =
      options_.storage_base_url.empty() ? options_.public_base_url : options_.storage_base_url;
  ServerResponse response;
  response.status = 302;
  response.headers = {
      {"Location", absl::StrCat(base, "/storage/", file_id, "?exp=", expiry,
                                "&sig=", StorageSignature(storage_key_, file_id, expiry))},
      {"Content-Type", "text/html;charset=utf-8"}};
  return response;
}

ServerResponse Simulator::HandleStorage(const ServerRequest& request, absl::string_view file_id) {
  const std::string exp_text = http::QueryParam(request.query, "exp").value_or("");
  const std::string sig = http::QueryParam(request.query, "sig").value_or("");
  int64_t expiry = 0;
  const absl::Time now = Now();
  if (!absl::SimpleAtoi(exp_text, &expiry) ||
      !crypto::ConstantTimeEquals(sig, StorageSignature(storage_key_, file_id, expiry))) {
    ServerResponse response;
    response.status = 403;
    response.headers = {{"Content-Type", "text/plain"}};
    response.body = "Signature does not match; request a fresh download URL.";
    return response;
  }
  if (absl::FromUnixSeconds(expiry) < now) {
    ServerResponse response;
    response.status = 403;
    response.headers = {{"Content-Type", "text/plain"}};
    response.body = "Request has expired; request a fresh download URL.";
    return response;
  }
  bool refuse = false;
  {
    absl::MutexLock lock(&mu_);
    std::optional<Tenant::FileRef> ref = tenant_.FindFile(file_id);
    refuse = ref.has_value() && StateOf(file_states_, *ref->file) == FileState::kHtmlRefusal;
  }
  if (refuse || faults_.NextHtml()) {
    // What Zoom answers instead of a file when it refuses: a web page with status 200.
    ServerResponse response;
    response.status = 200;
    response.headers = {{"Content-Type", "text/html;charset=utf-8"}};
    response.body =
        "<!DOCTYPE html><html><head><title>Zoom</title></head><body><h1>Sorry, you don't have "
        "permission to download this recording.</h1></body></html>";
    return response;
  }
  const bool truncate = faults_.NextTruncate();
  const double fraction = faults_.config().truncate_fraction;
  absl::MutexLock lock(&mu_);
  std::optional<Tenant::FileRef> ref = tenant_.FindFile(file_id);
  if (!ref.has_value()) {
    ServerResponse response;
    response.status = 404;
    response.headers = {{"Content-Type", "text/plain"}};
    response.body = "No such object.";
    return response;
  }
  const FileEntry& file = *ref->file;
  ServerResponse response;
  response.status = 200;
  response.headers = {
      {"Content-Type", std::string(ContentTypeFor(file.kind))},
      {"Content-Disposition",
       absl::StrCat("attachment; filename=\"", file.file_id, ".",
                    Lowercase(std::string(FileExtension(file.kind))), "\"")}};
  response.content_length = file.size;
  response.body_stream = OpenFile(*ref->meeting, file);
  if (truncate) {
    response.body_stream = std::make_unique<TruncatedSource>(
        std::move(response.body_stream), static_cast<uint64_t>(file.size * fraction));
  }
  return response;
}

// ---- Webhooks ----

absl::StatusOr<WebhookRequest> Simulator::BuildWebhook(absl::string_view event,
                                                       absl::string_view meeting_uuid) {
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  if (options_.webhook_secret.empty()) {
    return absl::FailedPreconditionError(
        "no webhook secret configured; start the simulator with --webhook-secret");
  }
  const Meeting* m = tenant_.FindMeetingByUuid(meeting_uuid);
  if (m == nullptr) {
    return absl::NotFoundError(absl::StrCat("meeting \"", meeting_uuid,
                                            "\" is not in the simulated tenant"));
  }
  const User* host = tenant_.FindUser(m->host_id);
  Value object;
  bool with_download_token = true;
  if (event == "recording.completed" || event == "recording.transcript_completed") {
    if (!HasRecordingFiles(*m)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "meeting \"", meeting_uuid, "\" has no cloud recording (it is archive-only)"));
    }
    object = RecordingJson(tenant_, *m, options_.public_base_url, StillProcessing(*m),
                           event == "recording.transcript_completed", file_states_);
    object["host_email"] = json::Str(host ? host->email : "");
    object["password"] = json::Str("");
    object["recording_play_passcode"] = json::Str("");
  } else if (event == "recording.archive_files_completed") {
    if (!HasArchiveFiles(*m)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "meeting \"", meeting_uuid, "\" has no archive files (archiving is off)"));
    }
    auto fingerprint = [&](const FileEntry& f) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return Fingerprint(*m, f);
    };
    object = ArchiveMeetingJson(tenant_, *m, options_.public_base_url, fingerprint, file_states_);
  } else if (event == "meeting.ended") {
    with_download_token = false;
    object = Value::Object();
    object["id"] = json::Str(absl::StrCat(m->id));
    object["uuid"] = json::Str(m->uuid);
    object["host_id"] = json::Str(m->host_id);
    object["topic"] = json::Str(m->topic);
    object["type"] = Value::Number(m->type);
    object["start_time"] = json::Str(FormatZoomTime(m->start_time));
    object["timezone"] = json::Str(m->timezone);
    object["duration"] = Value::Number(absl::ToInt64Minutes(m->duration));
    object["end_time"] = json::Str(FormatZoomTime(m->end_time()));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown webhook event \"", event,
        "\"; use recording.completed, recording.transcript_completed, "
        "recording.archive_files_completed, meeting.ended or endpoint.url_validation"));
  }
  Value payload = Value::Object();
  payload["account_id"] = json::Str(tenant_.account_id);
  payload["object"] = std::move(object);
  Value root = Value::Object();
  root["event"] = json::Str(std::string(event));
  root["event_ts"] = Value::Number(absl::ToUnixMillis(now));
  root["payload"] = std::move(payload);
  if (with_download_token) {
    const std::string token = NewSecret("dl.");
    download_tokens_[token] = now + kDownloadTokenLifetime;
    root["download_token"] = json::Str(token);
  }
  return SignWebhook(options_.webhook_url, options_.webhook_secret, root.Serialize(), now);
}

ServerResponse Simulator::FireWebhook(absl::string_view body) {
  Value request;
  absl::StatusOr<Value> parsed = json::Parse(body, "body");
  if (!parsed.ok()) {
    return ZoomError(400, 300, absl::StrCat("body is not JSON: ", parsed.status().message()));
  }
  request = *std::move(parsed);
  if (!request.IsObject() || !request.HasString("event")) {
    return ZoomError(400, 300,
                     "body must be {\"event\": \"recording.completed\", \"meeting_uuid\": \"...\"}");
  }
  const std::string event = request.at("event").AsString();
  const std::string uuid =
      request.HasString("meeting_uuid") ? request.at("meeting_uuid").AsString() : "";
  WebhookTransport transport;
  std::string url, secret;
  {
    absl::MutexLock lock(&mu_);
    transport = transport_;
    url = options_.webhook_url;
    secret = options_.webhook_secret;
  }
  if (!transport || url.empty()) {
    return ZoomError(412, 412, "no webhook URL configured; start with --webhook-url and "
                               "--webhook-secret");
  }
  const absl::Time now = Now();
  Value answer = Value::Object();
  if (event == "endpoint.url_validation") {
    std::string plain;
    {
      absl::MutexLock lock(&mu_);
      plain = NewSecret("");
    }
    WebhookRequest signed_request = SignWebhook(url, secret, UrlValidationBody(plain, now), now);
    absl::StatusOr<WebhookReply> reply = transport(signed_request);
    if (!reply.ok()) return ZoomError(502, 502, reply.status().message());
    absl::Status check = CheckUrlValidationReply(secret, plain, reply->status, reply->body);
    answer["status"] = Value::Number(reply->status);
    answer["validated"] = Value::Boolean(check.ok());
    if (!check.ok()) answer["error"] = json::Str(std::string(check.message()));
    return Json(200, answer);
  }
  if (uuid.empty()) return ZoomError(400, 300, "meeting_uuid is required for this event");
  absl::StatusOr<WebhookRequest> signed_request = BuildWebhook(event, uuid);
  if (!signed_request.ok()) {
    return ZoomError(absl::IsNotFound(signed_request.status()) ? 404 : 400, 300,
                     signed_request.status().message());
  }
  absl::StatusOr<WebhookReply> reply = transport(*signed_request);
  if (!reply.ok()) {
    return ZoomError(502, 502, absl::StrCat("webhook delivery failed: ",
                                            reply.status().message()));
  }
  {
    absl::MutexLock lock(&mu_);
    ++webhooks_sent_;
  }
  log::Info(kComponent, "webhook delivered", {{"event", event}, {"status", reply->status}});
  answer["status"] = Value::Number(reply->status);
  answer["delivered"] = Value::Boolean(reply->status >= 200 && reply->status < 300);
  answer["request_body"] = json::Str(signed_request->body);
  return Json(200, answer);
}

// ---- Admin ----

ServerResponse Simulator::AddMeeting(absl::string_view body) {
  Value request;
  absl::StatusOr<Value> parsed = body.empty() ? absl::StatusOr<Value>(Value::Object())
                                 : json::Parse(body, "body");
  if (!parsed.ok()) {
    return ZoomError(400, 300, absl::StrCat("body is not JSON: ", parsed.status().message()));
  }
  request = *std::move(parsed);
  if (!request.IsObject()) return ZoomError(400, 300, "body must be a JSON object");
  MeetingOverrides overrides;
  for (const auto& [key, field] : request.AsObject()) {
    if (key == "uuid" && field.IsString()) {
      overrides.uuid = field.AsString();
    } else if (key == "host_id" && field.IsString()) {
      overrides.host_id = field.AsString();
    } else if (key == "topic" && field.IsString()) {
      overrides.topic = field.AsString();
    } else if (key == "start_time" && field.IsString()) {
      absl::StatusOr<absl::Time> t = ParseZoomTime(field.AsString());
      if (!t.ok()) return ZoomError(400, 300, t.status().message());
      overrides.start_time = *t;
    } else if (key == "duration" && field.IsInteger()) {
      overrides.duration = absl::Minutes(field.AsInt());
    } else {
      return ZoomError(400, 300,
                       absl::StrCat("field \"", key, "\" = ", field.Serialize(),
                                    " is not allowed; use uuid, host_id, topic, start_time "
                                    "(yyyy-MM-ddTHH:mm:ssZ) and duration (minutes)"));
    }
  }
  absl::MutexLock lock(&mu_);
  if (overrides.uuid.has_value() && tenant_.FindMeetingByUuid(*overrides.uuid) != nullptr) {
    return ZoomError(409, 300, absl::StrCat("meeting \"", *overrides.uuid, "\" already exists"));
  }
  const int index = generator_.meetings + static_cast<int>(tenant_.meetings.size()) + 1000 +
                    added_meetings_;
  if (!overrides.start_time.has_value()) {
    // A meeting that has just ended, like the ones webhooks announce.
    overrides.start_time = absl::FromUnixSeconds(
        absl::ToUnixSeconds(options_.clock() - absl::Minutes(45)) / 60 * 60);
  }
  absl::StatusOr<Meeting> meeting = GenerateMeeting(tenant_, generator_, index, overrides);
  if (!meeting.ok()) return ZoomError(400, 300, meeting.status().message());
  ++added_meetings_;
  auto at = std::upper_bound(
      tenant_.meetings.begin(), tenant_.meetings.end(), meeting->start_time,
      [](absl::Time t, const Meeting& m) { return t < m.start_time; });
  const Meeting& added = *tenant_.meetings.insert(at, *std::move(meeting));
  Tenant one;
  one.account_id = tenant_.account_id;
  one.domain = tenant_.domain;
  one.meetings.push_back(added);
  Value manifest = json::ParseOrNull(ManifestJson(one));
  return Json(201, manifest.at("meetings").at(0));
}

ServerResponse Simulator::SetState(absl::string_view body) {
  Value request;
  absl::StatusOr<Value> parsed = json::Parse(body, "body");
  if (!parsed.ok()) {
    return ZoomError(400, 300, absl::StrCat("body is not JSON: ", parsed.status().message()));
  }
  request = *std::move(parsed);
  const char* kUsage =
      "body must be {\"file_id\": ID, \"state\": completed|processing|failed|html|"
      "bad_fingerprint}, {\"user_id\": ID, \"recordings_error\": 0|400|404|429} or "
      "{\"meeting_uuid\": UUID, \"participants\": shown|empty|404|500}";
  if (!request.IsObject()) return ZoomError(400, 300, kUsage);
  auto text = [&](const char* key) {
    return request.HasString(key) ? request.at(key).AsString() : std::string();
  };
  if (!text("file_id").empty()) {
    static const std::map<std::string, FileState> kStates = {
        {"completed", FileState::kCompleted},
        {"processing", FileState::kProcessing},
        {"failed", FileState::kFailed},
        {"html", FileState::kHtmlRefusal},
        {"bad_fingerprint", FileState::kBadFingerprint}};
    auto it = kStates.find(text("state"));
    if (it == kStates.end()) {
      return ZoomError(400, 300,
                       absl::StrCat("state \"", text("state"), "\" is not allowed; ", kUsage));
    }
    {
      absl::MutexLock lock(&mu_);
      if (!tenant_.FindFile(text("file_id")).has_value()) {
        return ZoomError(404, 3301, absl::StrCat("no file \"", text("file_id"), "\""));
      }
    }
    SetFileState(text("file_id"), it->second);
  } else if (!text("user_id").empty() && request.HasInteger("recordings_error")) {
    SetUserRecordingsError(text("user_id"), request.at("recordings_error").AsInt());
  } else if (!text("meeting_uuid").empty()) {
    const std::string p = text("participants");
    if (p != "shown" && p != "empty" && p != "404" && p != "500") {
      return ZoomError(400, 300, absl::StrCat("participants \"", p, "\" is not allowed; ", kUsage));
    }
    SetParticipantsHidden(text("meeting_uuid"), p != "shown",
                          p == "404" ? 404 : p == "500" ? 500 : 0);
  } else {
    return ZoomError(400, 300, kUsage);
  }
  log::Info(kComponent, "state changed", {{"request", std::string(body)}});
  return Json(200, request);
}

ServerResponse Simulator::Stats() {
  Value categories = Value::Object();
  for (Category c : {Category::kLight, Category::kMedium, Category::kHeavy}) {
    const CategoryStats s = limiter_.Stats(c);
    Value entry = Value::Object();
    entry["requests"] = Value::Number(s.requests);
    entry["accepted"] = Value::Number(s.accepted);
    entry["rejected"] = Value::Number(s.rejected_qps + s.rejected_daily);
    entry["rejected_qps"] = Value::Number(s.rejected_qps);
    entry["rejected_daily"] = Value::Number(s.rejected_daily);
    entry["max_requests_in_second"] = Value::Number(s.max_requests_in_second);
    entry["max_accepted_in_second"] = Value::Number(s.max_accepted_in_second);
    categories[std::string(CategoryName(c))] = std::move(entry);
  }
  const FaultStats f = faults_.stats();
  Value faults = Value::Object();
  faults["errors"] = Value::Number(f.errors);
  faults["slow"] = Value::Number(f.slow);
  faults["truncated"] = Value::Number(f.truncated);
  faults["html"] = Value::Number(f.html);
  faults["throttled"] = Value::Number(f.throttled);
  Value body = Value::Object();
  body["categories"] = std::move(categories);
  body["faults"] = std::move(faults);
  absl::MutexLock lock(&mu_);
  body["tokens_issued"] = Value::Number(tokens_issued_);
  body["downloads_started"] = Value::Number(downloads_started_);
  body["webhooks_sent"] = Value::Number(webhooks_sent_);
  body["meetings"] = Value::Number(static_cast<uint64_t>(tenant_.meetings.size()));
  return Json(200, body);
}

ServerResponse Simulator::HandleAdmin(const ServerRequest& request,
                                      const std::vector<std::string>& segments) {
  const std::string route = absl::StrJoin(segments, "/");
  if (request.method == "GET" && route == "_sim/stats") return Stats();
  if (route == "_sim/faults") {
    if (request.method == "POST") {
      absl::StatusOr<FaultConfig> config = ParseFaultConfigJson(request.body, faults_.config());
      if (!config.ok()) return ZoomError(400, 300, config.status().message());
      faults_.Set(*config);
      log::Info(kComponent, "faults configured", {{"config", request.body}});
    }
    const FaultConfig c = faults_.config();
    Value body = Value::Object();
    for (auto [name, rule] : {std::pair<const char*, FaultRule>{"error", c.error},
                              {"slow", c.slow},
                              {"truncate", c.truncate},
                              {"html", c.html},
                              {"throttle", c.throttle}}) {
      Value r = Value::Object();
      r["every_n"] = Value::Number(rule.every_n);
      r["probability"] = Value::Number(rule.probability);
      body[name] = std::move(r);
    }
    body["error_status"] = Value::Number(c.error_status);
    body["slow_ms"] = Value::Number(c.slow_ms);
    body["truncate_fraction"] = Value::Number(c.truncate_fraction);
    return Json(200, body);
  }
  if (request.method == "POST" && route == "_sim/webhooks/fire") return FireWebhook(request.body);
  if (request.method == "POST" && route == "_sim/webhooks/build") {
    Value in;
    absl::StatusOr<Value> parsed = json::Parse(request.body, "body");
    if (!parsed.ok()) {
      return ZoomError(400, 300, absl::StrCat("body is not JSON: ", parsed.status().message()));
    }
    in = *std::move(parsed);
    if (!in.IsObject() || !in.HasString("event") || !in.HasString("meeting_uuid")) {
      return ZoomError(400, 300, "body must be {\"event\": \"...\", \"meeting_uuid\": \"...\"}");
    }
    absl::StatusOr<WebhookRequest> built =
        BuildWebhook(in.at("event").AsString(), in.at("meeting_uuid").AsString());
    if (!built.ok()) return ZoomError(400, 300, built.status().message());
    Value headers = Value::Object();
    for (const auto& [k, v] : built->headers) headers[k] = json::Str(v);
    Value body = Value::Object();
    body["headers"] = std::move(headers);
    body["body"] = json::Str(built->body);
    return Json(200, body);
  }
  if (request.method == "POST" && route == "_sim/meetings") return AddMeeting(request.body);
  if (request.method == "POST" && route == "_sim/state") return SetState(request.body);
  if (request.method == "GET" && route == "_sim/manifest") {
    const bool sha = http::QueryParam(request.query, "sha256").value_or("true") != "false";
    Tenant snapshot = TenantSnapshot();
    ServerResponse response;
    response.headers = {{"Content-Type", "application/json"}};
    response.body = ManifestJson(snapshot, sha);
    return response;
  }
  return ZoomError(404, 404, absl::StrCat("No such admin path: ", request.method, " /", route));
}

}  // namespace zarc::zoom_sim
