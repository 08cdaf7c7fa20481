#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/http/http_client.h"
#include "runtime/io/byte_stream.h"
#include "services/importer/mailbox_target.h"
#include "services/mapper/graph_client.h"

namespace zarc::importer {

// Exchange Online's per-mailbox limits (BRIEF.md, "Contracts"), enforced on our side so the
// importer waits instead of being throttled. Thread-safe.
//  - at most `concurrency` requests in flight per mailbox (a semaphore per mailbox);
//  - at most `upload_bytes` of uploaded content per sliding `window` per mailbox.
class MailboxLimiter {
 public:
  struct Options {
    int concurrency = 4;
    uint64_t upload_bytes = 150ull << 20;
    absl::Duration window = absl::Minutes(5);
    // Injectable for tests; defaults absl::Now and absl::SleepFor.
    std::function<absl::Time()> now;
    std::function<void(absl::Duration)> sleep;
  };
  explicit MailboxLimiter(Options options);

  // Blocks until a request slot of `mailbox` is free. Every Acquire needs one Release.
  void Acquire(const std::string& mailbox);
  void Release(const std::string& mailbox);

  // Waits until `bytes` fit the mailbox's window, then records them. UNAVAILABLE when that would
  // take past `deadline`; INVALID_ARGUMENT when `bytes` alone exceed the budget.
  absl::Status ChargeUpload(const std::string& mailbox, uint64_t bytes, absl::Time deadline);

 private:
  struct State {
    int in_flight = 0;
    std::deque<std::pair<absl::Time, uint64_t>> uploads;  // (when, bytes), oldest first
  };
  absl::Time Now() const;

  const Options options_;
  absl::Mutex mutex_;
  std::map<std::string, State> mailboxes_ ABSL_GUARDED_BY(mutex_);
};

struct GraphTargetOptions {
  mapper::GraphCredentials credentials;
  std::string ca_file;  // extra PEM CA for Graph and the identity platform
  // How long one delivery keeps waiting out 429s, 5xx, unreachable Graph and the upload budget
  // before it gives up with UNAVAILABLE (the stage retries the delivery later).
  absl::Duration patience = absl::Minutes(2);
  // First wait before retrying a 5xx or transport failure (doubling); a 429 waits its Retry-After.
  absl::Duration backoff = absl::Milliseconds(200);
  // Messages up to this size are posted whole: base64 grows them by 4/3 and a Graph request may
  // be at most 4 MB (4,194,304 bytes).
  uint64_t direct_post_limit = 3'000'000;
  // Attachment parts larger than this (encoded) are taken out of the posted MIME and added to the
  // created message separately; smaller ones stay in the MIME.
  uint64_t keep_attachment_limit = 512 << 10;
  // Attachments of at least this many bytes go through createUploadSession (Graph's minimum);
  // smaller ones are posted as a fileAttachment.
  uint64_t upload_session_min = 3ull << 20;
  // Upload session chunk size: under 4 MB and a multiple of 320 KiB, as Graph recommends.
  uint64_t chunk_bytes = 10 * 320 * 1024;
  // Create each message from JSON as a received item (PidTagMessageFlags read and not unsent,
  // delivered and submitted at the meeting start, Message-ID and X-* headers as internet message
  // headers, body and attachments from the MIME). false: post the MIME, which Graph always makes a
  // draft dated at import.
  bool received = true;
  // Exchange Online's hard message size limit; larger messages fail permanently.
  uint64_t max_message_bytes = 150ull << 20;
  MailboxLimiter::Options limits;
  // Injectable for tests; defaults absl::Now and absl::SleepFor.
  std::function<absl::Time()> now;
  std::function<void(absl::Duration)> sleep;
};

// Delivers into the mailbox's Inbox/Zoom Meetings through Microsoft Graph (app-only, client
// credentials; the app needs the Mail.ReadWrite application permission).
//
// Per delivery: the "Zoom Meetings" child folder of the inbox is found or created (cached per
// mailbox); a message with the same internetMessageId in it means kAlreadyThere once it is
// complete (below); a message up to direct_post_limit is POSTed as base64 MIME. A larger one is
// split while streaming it: the MIME with the same headers and bodies but without its large
// attachment parts is posted, then each removed attachment is added to the created message
// (createUploadSession and PUTs of chunk_bytes, its base64 decoded chunk by chunk from a second
// read of the message). Memory per delivery is bounded by about direct_post_limit + chunk_bytes
// whatever the message size. Only the top-level parts of a multipart message are split (as the
// converter renders it: text/HTML alternative, then attachments); base64 attachment parts only.
//
// With `received` (the default) each message is created from JSON (GraphMessageJson) with its
// extended properties, so Graph stores a received, read message (isDraft false) whose
// receivedDateTime is the meeting start. Graph makes messages created from MIME drafts dated at
// import; `received = false` keeps that old behaviour.
// What Graph mode cannot preserve (use the IMAP target where these matter):
//  - The message Graph stores is rebuilt from JSON: Graph exports its own MIME later (other
//    boundaries, headers in Graph's form; only the X-* headers go in as internet headers, which
//    Graph allows for custom headers only). The archive keeps the original bytes.
//  - A split message's large attachments are Graph attachments of the created message, not parts
//    of its original MIME: the MIME Graph exports later is not byte-identical to the archive copy
//    (the archive keeps the original).
//
// A split message is created in several requests, so a failure in between can leave it without
// an attachment. Then the message is deleted again and the delivery answers UNAVAILABLE, so the
// stage retries it from the start. If that delete fails too, the retry still finds the gap:
// a message found by its Message-ID counts as delivered only when it has every removed attachment
// (same name, at least the decoded size; listed with GET .../attachments). An incomplete one is
// deleted and the message delivered again. Two importers delivering the same message to the same
// mailbox at once could take each other's unfinished message for an incomplete one; each then
// fails transiently and a retry converges (deliveries are keyed by mailbox, so this needs a
// consumer-group rebalance mid-delivery).
//
// Errors: no mailbox (404 MailboxNotEnabledForRESTAPI, ErrorInvalidUser) → NOT_FOUND, permanent;
// 429 (after Retry-After), 5xx and network failures past `patience` → UNAVAILABLE; a 401 refreshes
// the token once. Thread-safe.
class GraphTarget final : public MailboxTarget {
 public:
  // `http` and `tokens` must outlive the target.
  GraphTarget(http::HttpClient& http, mapper::GraphTokenSource& tokens, GraphTargetOptions options);
  // Owns its HTTP client and token source, built from `options.credentials` and `ca_file`.
  static std::unique_ptr<GraphTarget> Create(GraphTargetOptions options);
  ~GraphTarget() override;

  absl::StatusOr<DeliveryOutcome> Deliver(const DeliveryRequest& request) override;
  std::string name() const override { return "graph"; }

 private:
  struct Reply {
    int status = 0;
    std::string body;
    http::Headers headers;
  };
  struct Plan;
  GraphTarget(std::unique_ptr<http::HttpClient> owned_http,
              std::unique_ptr<mapper::GraphTokenSource> owned_tokens, GraphTargetOptions options);

  // One request with the mailbox's limits and retries of 429, 5xx, transport failures (until
  // `deadline`) and 401 (once, with a new token). `authorized` false for upload URLs.
  absl::StatusOr<Reply> Send(const std::string& mailbox, const std::string& method,
                             const std::string& url, const std::string& body,
                             const http::Headers& headers, bool authorized, absl::Time deadline);
  absl::StatusOr<std::string> FolderId(const std::string& user, absl::Time deadline);
  absl::StatusOr<std::string> CreateMessage(const std::string& user, const std::string& folder,
                                            const std::string& mime, absl::Time received,
                                            absl::Time deadline);
  absl::Status AddAttachments(const std::string& user, const std::string& message_id,
                              const DeliveryRequest& request, const Plan& plan,
                              absl::Time deadline);
  // Reads the message once: whole if it is small enough to post, else split into `plan`.
  absl::Status Prepare(const DeliveryRequest& request, std::string* mime, Plan* plan);
  // Whether message `message_id` has every attachment `plan` adds (by name and size).
  absl::StatusOr<bool> IsComplete(const std::string& user, const std::string& message_id,
                                  const Plan& plan, absl::Time deadline);
  // DELETE of the message; an absent message counts as deleted.
  absl::Status DeleteMessage(const std::string& user, const std::string& message_id,
                             absl::Time deadline);
  absl::Time Now() const;
  void Sleep(absl::Duration d) const;

  std::unique_ptr<http::HttpClient> owned_http_;
  std::unique_ptr<mapper::GraphTokenSource> owned_tokens_;
  http::HttpClient& http_;
  mapper::GraphTokenSource& tokens_;
  const GraphTargetOptions options_;
  const std::string api_;  // {api_url}/v1.0
  MailboxLimiter limiter_;
  absl::Mutex mutex_;
  std::map<std::string, std::string> folder_ids_ ABSL_GUARDED_BY(mutex_);  // by user
};

// MIME splitting, exposed for tests.
struct RemovedAttachment {
  int part = 0;  // index among the top-level parts
  std::string name;
  std::string content_type;
  uint64_t size = 0;  // decoded bytes
};
struct SplitMessage {
  std::string skeleton;  // the message without the removed parts
  std::vector<RemovedAttachment> removed;
};
// Reads `source` once: the message without its top-level base64 attachment parts of more than
// `keep_limit` encoded bytes, and what was removed. FAILED_PRECONDITION when what remains exceeds
// `max_skeleton` bytes.
absl::StatusOr<SplitMessage> SplitLargeAttachments(io::ByteSource& source, uint64_t keep_limit,
                                                   uint64_t max_skeleton);
// The Graph message (JSON) for a MIME message of at most a few MB: subject, from, to, cc,
// internetMessageId, the X-* headers as internetMessageHeaders, the HTML (else text) body, every
// other part as a fileAttachment, and the extended properties that make it a received, read
// message at `received`: PidTagMessageFlags (Integer 0x0E07) = 1, PidTagMessageDeliveryTime
// (SystemTime 0x0E06) and PidTagClientSubmitTime (SystemTime 0x0039). Graph sets these only at
// creation.
absl::StatusOr<std::string> GraphMessageJson(absl::string_view mime, absl::Time received);
// Reads `source` again and streams the decoded bytes of top-level part `part` into `sink`.
absl::Status DecodePart(io::ByteSource& source, int part, io::ByteSink& sink);

}  // namespace zarc::importer
