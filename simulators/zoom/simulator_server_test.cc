// zarc-zoom-sim as a process, over real sockets: what the fetcher and the demo see.
#include <signal.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/http_client.h"
#include "runtime/http/http_server.h"
#include "runtime/testing/subprocess.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

using json::Value;

// Hashes what it is given and keeps only the count: memory stays flat however large the file.
class HashingSink final : public io::ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override {
    hash_.Update(bytes);
    size_ += bytes.size();
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }
  std::string Hex() { return hash_.FinishHex(); }
  uint64_t size() const { return size_; }

 private:
  crypto::Sha256 hash_;
  uint64_t size_ = 0;
};

uint64_t ChildPeakRssBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmHWM:")) {
      uint64_t kb = 0;
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb * 1024;
    }
  }
  return 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct RunningSim {
  std::unique_ptr<testing::Subprocess> process;
  std::string base;
  Value manifest;
};

RunningSim StartSim(const testing::TempDir& dir, std::vector<std::string> extra) {
  RunningSim sim;
  const std::string manifest = dir.path() + "/manifest.json";
  testing::Subprocess::Options options;
  options.argv = {testing::BinPath("zarc-zoom-sim"), "--from", "2024-03-04", "--seed", "3",
                  "--manifest-out", manifest, "--log-level", "warn"};
  options.argv.insert(options.argv.end(), extra.begin(), extra.end());
  auto process = testing::Subprocess::Start(options);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return sim;
  sim.process = *std::move(process);
  absl::StatusOr<std::string> line =
      sim.process->WaitForLine("zarc-zoom-sim listening on ", absl::Seconds(30));
  EXPECT_TRUE(line.ok()) << line.status();
  if (!line.ok()) return sim;
  sim.base = std::string(absl::StripAsciiWhitespace(
      line->substr(line->find("http://"))));
  sim.manifest = json::ParseOrNull(ReadFile(manifest));
  return sim;
}

absl::StatusOr<std::string> FetchToken(http::HttpClient& client, const RunningSim& sim) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = sim.base + "/oauth/token";
  request.headers = {
      {"Authorization", "Basic " + crypto::Base64Encode("zarc-sim-client:zarc-sim-secret")},
      {"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = "grant_type=account_credentials&account_id=" +
                 http::PercentEncode(sim.manifest.at("account_id").AsString());
  absl::StatusOr<http::ClientResponse> response = client.Send(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::InternalError(absl::StrCat("token: ", response->status, " ", response->body));
  }
  return json::ParseOrNull(response->body).at("access_token").AsString();
}

TEST(SimulatorServerTest, ServesTheApiAndStreamsALargeRecordingInBoundedMemory) {
  testing::TempDir dir;
  constexpr uint64_t kVideoBytes = 256ull << 20;
  RunningSim sim = StartSim(dir, {"--meetings", "1", "--users", "2", "--recording-bytes",
                                  absl::StrCat(kVideoBytes)});
  ASSERT_FALSE(sim.base.empty());
  std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  absl::StatusOr<std::string> token = FetchToken(*client, sim);
  ASSERT_TRUE(token.ok()) << token.status();

  const Value& meeting = sim.manifest.at("meetings").at(0);
  http::ClientRequest list;
  list.url = absl::StrCat(sim.base, "/v2/users/", meeting.at("host_id").AsString(),
                          "/recordings?from=2024-03-01&to=2024-03-31");
  list.headers = {{"Authorization", "Bearer " + *token}};
  absl::StatusOr<http::ClientResponse> listed = client->Send(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->status, 200) << listed->body;
  const Value files = json::ParseOrNull(listed->body).at("meetings").at(0).at("recording_files");
  std::string download_url;
  for (const Value& f : files.AsArray()) {
    if (f.at("file_type").AsString() == "MP4") download_url = f.at("download_url").AsString();
  }
  ASSERT_TRUE(absl::StartsWith(download_url, sim.base + "/rec/download/")) << download_url;

  // The client does not follow redirects: do it by hand, without the token, as a careful client.
  http::ClientRequest get;
  get.url = download_url;
  get.headers = {{"Authorization", "Bearer " + *token}};
  absl::StatusOr<http::ClientResponse> redirect = client->Send(get);
  ASSERT_TRUE(redirect.ok()) << redirect.status();
  ASSERT_EQ(redirect->status, 302);
  http::ClientRequest storage;
  storage.url = *http::FindHeader(redirect->headers, "Location");
  HashingSink sink;
  absl::StatusOr<http::ClientResponse> downloaded = client->SendStreaming(storage, sink);
  ASSERT_TRUE(downloaded.ok()) << downloaded.status();
  ASSERT_EQ(downloaded->status, 200);
  EXPECT_EQ(sink.size(), kVideoBytes);
  std::string expected_sha;
  for (const Value& f : meeting.at("files").AsArray()) {
    if (f.at("kind").AsString() == "video") expected_sha = f.at("sha256").AsString();
  }
  EXPECT_EQ(sink.Hex(), expected_sha);
  // The simulator streamed 256 MiB from its generator: its peak memory stays far below that.
  const uint64_t peak = ChildPeakRssBytes(sim.process->pid());
  EXPECT_GT(peak, 0u);
  EXPECT_LT(peak, 64ull << 20) << "peak RSS of zarc-zoom-sim: " << peak;

  sim.process->Signal(SIGTERM);
  absl::StatusOr<int> code = sim.process->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

TEST(SimulatorServerTest, DeliversSignedWebhooksToTheConfiguredUrl) {
  // A receiver that checks signatures the way the fetcher must.
  absl::Mutex mu;
  std::vector<std::string> events;
  int bad_signatures = 0;
  const std::string secret = "wh-secret";
  auto receiver = http::HttpServer::Start(
      http::ServerOptions{}, [&](const http::ServerRequest& r) {
        http::ServerResponse response;
        const std::string ts = http::FindHeader(r.headers, "x-zm-request-timestamp").value_or("");
        const std::string sig = http::FindHeader(r.headers, "x-zm-signature").value_or("");
        absl::MutexLock lock(&mu);
        if (sig != "v0=" + crypto::HmacSha256Hex(secret, "v0:" + ts + ":" + r.body)) {
          ++bad_signatures;
          response.status = 401;
          return response;
        }
        Value body = json::ParseOrNull(r.body);
        const std::string event = body.at("event").AsString();
        events.push_back(event);
        if (event == "endpoint.url_validation") {
          const std::string plain = body.at("payload").at("plainToken").AsString();
          Value reply = Value::Object();
          reply["plainToken"] = json::Str(plain);
          reply["encryptedToken"] = json::Str(crypto::HmacSha256Hex(secret, plain));
          response.body = reply.Serialize();
          response.headers = {{"Content-Type", "application/json"}};
        }
        return response;
      });
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  testing::TempDir dir;
  RunningSim sim = StartSim(
      dir, {"--meetings", "3", "--webhook-url",
            absl::StrCat("http://127.0.0.1:", (*receiver)->port(), "/zoom/events"),
            "--webhook-secret", secret});
  ASSERT_FALSE(sim.base.empty());
  std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  auto fire = [&](const std::string& event, const std::string& uuid) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = sim.base + "/_sim/webhooks/fire";
    request.body = Value::Object({{"event", json::Str(event)},
                                  {"meeting_uuid", json::Str(uuid)}})
                       .Serialize();
    absl::StatusOr<http::ClientResponse> response = client->Send(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? json::ParseOrNull(response->body) : Value();
  };
  const std::string uuid = sim.manifest.at("meetings").at(1).at("uuid").AsString();
  EXPECT_TRUE(fire("endpoint.url_validation", "").at("validated").AsBool());
  EXPECT_TRUE(fire("recording.completed", uuid).at("delivered").AsBool());
  EXPECT_TRUE(fire("meeting.ended", uuid).at("delivered").AsBool());
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(bad_signatures, 0);
    EXPECT_EQ(events, (std::vector<std::string>{"endpoint.url_validation", "recording.completed",
                                                "meeting.ended"}));
  }
  (*receiver)->Stop();
}

TEST(SimulatorServerTest, RefusesBadFlagsWithAClearMessage) {
  testing::Subprocess::Options options;
  options.argv = {testing::BinPath("zarc-zoom-sim"), "--plan", "platinum"};
  options.merge_stderr = true;
  auto process = testing::Subprocess::Start(options);
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_NE(*code, 0);
  const std::string output = (*process)->ReadRemaining(absl::Seconds(5));
  EXPECT_TRUE(absl::StrContains((*process)->output() + output, "platinum"))
      << (*process)->output() << output;
}

}  // namespace
}  // namespace zarc::zoom_sim
