// libFuzzer target for the Microsoft Graph answers the importer's Graph target parses while it
// delivers one message: the token response, the childFolders list and folder creation, the
// message search, the created message, upload sessions and chunk answers, attachment lists, with
// their errors, 401s, 429s and Retry-After. The input's first line picks the message ("split": one
// whose attachments go separately, one of them through an upload session; anything else: a small
// one posted whole); the rest is the script of HTTP answers (scripted_http.h). Also replayed by
// importer_fuzz_replay_test.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/http/http_types.h"
#include "runtime/io/byte_stream.h"
#include "runtime/testing/fuzz/fuzz_support.h"
#include "runtime/testing/fuzz/scripted_http.h"
#include "services/importer/graph_target.h"

namespace {

std::string Base64Lines(size_t bytes, char fill) {
  // Base64 of `bytes` copies of `fill` is the same 4 characters repeated; 76 per line.
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  const unsigned char f = static_cast<unsigned char>(fill);
  for (size_t i = 0; i + 3 <= bytes; i += 3) {
    encoded.push_back(kAlphabet[f >> 2]);
    encoded.push_back(kAlphabet[((f & 3) << 4) | (f >> 4)]);
    encoded.push_back(kAlphabet[((f & 0xF) << 2) | (f >> 6)]);
    encoded.push_back(kAlphabet[f & 0x3F]);
  }
  std::string out;
  for (size_t i = 0; i < encoded.size(); i += 76) absl::StrAppend(&out, encoded.substr(i, 76), "\r\n");
  return out;
}

std::string Message(bool split) {
  std::string m =
      "From: Zoom <no-reply@zoom.example>\r\nTo: alice@corp.example\r\n"
      "Subject: Weekly sync\r\nMessage-ID: <fuzz-1@zarc>\r\nMIME-Version: 1.0\r\n";
  if (!split) return m + "Content-Type: text/plain; charset=utf-8\r\n\r\nThe transcript.\r\n";
  absl::StrAppend(&m, "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n",
                  "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe meeting.\r\n",
                  "--b1\r\nContent-Type: text/vtt; name=\"t.vtt\"\r\n"
                  "Content-Disposition: attachment; filename=\"t.vtt\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  Base64Lines(300, 'a'),
                  "--b1\r\nContent-Type: video/mp4; name=\"v.mp4\"\r\n"
                  "Content-Disposition: attachment; filename=\"v.mp4\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  Base64Lines(1200, 'v'), "--b1--\r\n");
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::importer;
  using zarc::fuzz::Require;
  zarc::fuzz::QuietLogs();
  constexpr absl::string_view kSecret = "fuzz-graph-client-secret";
  constexpr absl::string_view kMailbox = "alice@corp.example";
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  const bool split = zarc::fuzz::TakeLine(input) == "split";

  zarc::fuzz::FakeClock clock;
  // A delivery's bearer token goes to its own mailbox's URLs only, whatever ids Graph answers.
  const std::string own_mailbox =
      absl::StrCat("https://graph.fuzz/v1.0/users/", zarc::http::PercentEncode(kMailbox), "/");
  zarc::fuzz::ScriptedHttp http(input, {own_mailbox, "https://login.fuzz/"}, clock);
  GraphTargetOptions options;
  options.credentials.login_url = "https://login.fuzz";
  options.credentials.api_url = "https://graph.fuzz";
  options.credentials.tenant_id = "tenant";
  options.credentials.client_id = "client";
  options.credentials.client_secret = std::string(kSecret);
  options.patience = absl::Minutes(2);
  options.direct_post_limit = 600;
  options.keep_attachment_limit = 200;
  options.upload_session_min = 500;
  options.chunk_bytes = 512;
  options.now = [&clock] { return clock.Now(); };
  options.sleep = [&clock](absl::Duration d) { clock.Sleep(d); };
  options.limits.now = options.now;
  options.limits.sleep = options.sleep;
  zarc::mapper::GraphTokenSource tokens(http, options.credentials, options.now);
  GraphTarget target(http, tokens, options);

  const std::string message = Message(split);
  DeliveryRequest request;
  request.mailbox = std::string(kMailbox);
  request.message_id = "fuzz-1@zarc";
  request.topic = "Weekly sync";
  request.internal_date = clock.Now();
  request.size = message.size();
  request.open = [&message]() -> absl::StatusOr<std::unique_ptr<zarc::io::ByteSource>> {
    return std::make_unique<zarc::io::StringSource>(message);
  };
  absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(request);
  if (!outcome.ok()) {
    Require(!outcome.status().message().empty(), "a failure says why");
    Require(absl::StrContains(input, kSecret) ||
                !absl::StrContains(outcome.status().message(), kSecret),
            "a failure never shows the secret");
  }
  return 0;
}
