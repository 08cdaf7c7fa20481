#include "services/importer/graph_target.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <prometheus/registry.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"
#include "runtime/testing/subprocess.h"
#include "services/importer/importer_app.h"
#include "services/importer/importer_config.h"
#include "services/importer/testing/test_items.h"
#include "simulators/graph/testing/graph_sim_fixture.h"

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1709647200);

// Passes requests to the real client; lets a test answer chosen requests itself.
class HookedHttp final : public http::HttpClient {
 public:
  using Hook = std::function<std::optional<http::ClientResponse>(const http::ClientRequest&)>;
  explicit HookedHttp(http::HttpClient& real) : real_(real) {}
  void SetHook(Hook hook) {
    absl::MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }
  absl::StatusOr<http::ClientResponse> Send(const http::ClientRequest& request) override {
    Hook hook;
    {
      absl::MutexLock lock(&mu_);
      hook = hook_;
    }
    if (hook) {
      if (std::optional<http::ClientResponse> r = hook(request)) return *r;
    }
    return real_.Send(request);
  }
  absl::StatusOr<http::ClientResponse> SendStreaming(const http::ClientRequest& request,
                                                     io::ByteSink& sink) override {
    return real_.SendStreaming(request, sink);
  }

 private:
  http::HttpClient& real_;
  absl::Mutex mu_;
  Hook hook_ ABSL_GUARDED_BY(mu_);
};

class GraphTargetTest : public ::testing::Test {
 protected:
  void SetUp() override { StartSim({}); }

  void StartSim(graph_sim::GraphSimOptions options) {
    sim_ = graph_sim::testing::StartGraphSim(graph_sim::testing::CorpDirectory(), options);
    ASSERT_NE(sim_, nullptr);
    auto staging = blob::OpenBlobStore({.url = "file://" + dir_.path()});
    ASSERT_TRUE(staging.ok()) << staging.status();
    staging_ = *std::move(staging);
  }

  GraphTargetOptions Options() const {
    GraphTargetOptions o;
    o.credentials = {.login_url = sim_->url,
                     .api_url = sim_->url,
                     .tenant_id = "corp.test",
                     .client_id = "zarc-graph-client",
                     .client_secret = "zarc-graph-secret"};
    o.patience = absl::Seconds(20);
    o.backoff = absl::Milliseconds(20);
    return o;
  }

  // A target over `http_` (hookable) with its own folder cache.
  std::unique_ptr<GraphTarget> NewTarget(GraphTargetOptions options) {
    tokens_.push_back(std::make_unique<mapper::GraphTokenSource>(hooked_, options.credentials));
    return std::make_unique<GraphTarget>(hooked_, *tokens_.back(), std::move(options));
  }

  testing::TestItem Render(const std::string& uuid, uint64_t attachment_bytes = 0) {
    absl::StatusOr<testing::TestItem> item =
        testing::RenderTestItem(*staging_, uuid, "Quarterly review " + uuid, kStart,
                                {"ann@corp.test", "cy@corp.test"}, attachment_bytes);
    EXPECT_TRUE(item.ok()) << item.status();
    return item.ok() ? *std::move(item) : testing::TestItem{};
  }

  DeliveryRequest RequestFor(const testing::TestItem& item, const std::string& mailbox) {
    blob::BlobStore* store = staging_.get();
    const std::string name = item.message.name();
    return DeliveryRequest{.mailbox = mailbox,
                           .message_id = item.message_id,
                           .topic = item.meeting.meeting().topic(),
                           .internal_date = kStart,
                           .size = item.message.size(),
                           .open = [store, name] { return store->Open(name); }};
  }

  // The simulator's admin view of a mailbox.
  json::Value MailboxView(const std::string& user) {
    absl::StatusOr<http::ClientResponse> r =
        real_->Send({.url = sim_->url + "/_sim/mailboxes/" + user});
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    if (!r.ok()) return json::Value();
    absl::StatusOr<json::Value> v = json::Parse(r->body, "mailbox view");
    return v.ok() ? *v : json::Value();
  }

  // What a reviewer sees in Outlook: a received, read message dated at the meeting start, not a
  // draft, with the subject, Message-ID, X-Zoom headers, HTML body and attachments of the MIME.
  static void ExpectReceivedCopyOf(const graph_sim::StoredMessage& m, const testing::TestItem& item) {
    EXPECT_FALSE(m.is_draft);
    EXPECT_TRUE(m.is_read);
    EXPECT_EQ(m.received, kStart);
    ASSERT_TRUE(m.sent.has_value());
    EXPECT_EQ(*m.sent, kStart);
    EXPECT_TRUE(m.mime.empty()) << "created from JSON, not MIME";
    EXPECT_EQ(m.internet_message_id, "<" + item.message_id + ">");
    EXPECT_EQ(m.subject, item.meeting.meeting().topic());
    EXPECT_EQ(m.body_content_type, "html");
    EXPECT_THAT(m.body, HasSubstr(item.meeting.meeting().topic()));
    bool zoom_header = false;
    for (const auto& [name, value] : m.internet_headers) {
      zoom_header |= absl::StartsWithIgnoreCase(name, "X-Zoom-");
    }
    EXPECT_TRUE(zoom_header) << "the X-Zoom-* headers go in as internet message headers";
  }

  static int CountFolders(const json::Value& view, absl::string_view name) {
    int n = 0;
    for (const json::Value& f : json::Array(view, "folders")) {
      n += json::String(f, "displayName") == name;
    }
    return n;
  }

  zarc::testing::TempDir dir_;
  std::unique_ptr<graph_sim::testing::RunningGraphSim> sim_;
  std::unique_ptr<blob::BlobStore> staging_;
  std::unique_ptr<http::HttpClient> real_ = http::NewHttpClient();
  HookedHttp hooked_{*real_};
  std::vector<std::unique_ptr<mapper::GraphTokenSource>> tokens_;
};

TEST_F(GraphTargetTest, SmallMessageLandsInZoomMeetingsOnceAndIsFoundAgain) {
  const testing::TestItem item = Render("small-1");
  ASSERT_LT(item.message.size(), 3'000'000u);
  auto target = NewTarget(Options());
  absl::StatusOr<DeliveryOutcome> first = target->Deliver(RequestFor(item, "ann@corp.test"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, DeliveryOutcome::kDelivered);

  const json::Value view = MailboxView("ann@corp.test");
  const std::vector<json::Value> messages = json::Array(view, "messages");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(json::String(messages[0], "folder"), "Zoom Meetings");
  EXPECT_EQ(json::String(messages[0], "internetMessageId"), "<" + item.message_id + ">");
  EXPECT_FALSE(json::Bool(messages[0], "isDraft", true));
  EXPECT_EQ(json::String(messages[0], "createdFrom"), "json");
  ExpectReceivedCopyOf(sim_->sim->Messages("ann@corp.test").at(0), item);
  EXPECT_EQ(CountFolders(view, "Zoom Meetings"), 1);

  // The same delivery again (also from a fresh target without the folder cache).
  absl::StatusOr<DeliveryOutcome> second = target->Deliver(RequestFor(item, "ann@corp.test"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, DeliveryOutcome::kAlreadyThere);
  auto other = NewTarget(Options());
  absl::StatusOr<DeliveryOutcome> third = other->Deliver(RequestFor(item, "ann@corp.test"));
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*third, DeliveryOutcome::kAlreadyThere);
  const json::Value after = MailboxView("ann@corp.test");
  EXPECT_EQ(json::Array(after, "messages").size(), 1u);
  EXPECT_EQ(CountFolders(after, "Zoom Meetings"), 1);
}

// The old way, kept behind `received = false`: the MIME is posted as it is, and Graph makes it a
// draft dated at import (what the JSON creation exists to avoid).
TEST_F(GraphTargetTest, PostedAsMimeTheMessageIsAByteExactDraftDatedAtImport) {
  const testing::TestItem item = Render("mime-1");
  GraphTargetOptions options = Options();
  options.received = false;
  auto target = NewTarget(options);
  absl::StatusOr<DeliveryOutcome> out = target->Deliver(RequestFor(item, "ann@corp.test"));
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<graph_sim::StoredMessage> stored = sim_->sim->Messages("ann@corp.test");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(crypto::Sha256Hex(stored[0].mime), item.message.sha256());
  EXPECT_TRUE(stored[0].is_draft);
  EXPECT_NE(stored[0].received, kStart);
}

TEST(GraphMessageJsonTest, HeadersBodyAndPartsOfTheMimeBecomeTheGraphMessage) {
  const std::string mime =
      "From: Zoom archive <zarc@corp.test>\r\n"
      "To: =?utf-8?B?QW5uIFPDuHJlbnNlbg==?= <ann@corp.test>, \"Cy, Jr.\" <cy@corp.test>\r\n"
      "Subject: =?utf-8?Q?Caf=C3=A9_review?= =?utf-8?B?IOKAkyBRMQ==?=\r\n"
      "Message-ID: <m-1@zarc.archive>\r\n"
      "X-Zoom-Meeting-UUID: abc==\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
      "--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
      "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n"
      "--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
      "quoted-printable\r\n\r\n<p>Caf=C3=A9 =\r\nchat</p>\r\n--alt--\r\n"
      "--outer\r\nContent-Type: text/plain; name=\"chat.txt\"\r\nContent-Disposition: "
      "attachment; filename=\"chat.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "aGVs\r\nbG8=\r\n--outer--\r\n";
  absl::StatusOr<std::string> text = GraphMessageJson(mime, kStart);
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<json::Value> m = json::Parse(*text, "message");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(json::String(*m, "subject"), "Caf\xC3\xA9 review \xE2\x80\x93 Q1");
  EXPECT_EQ(json::String(*m, "internetMessageId"), "<m-1@zarc.archive>");
  const std::vector<json::Value> to = json::Array(*m, "toRecipients");
  ASSERT_EQ(to.size(), 2u);
  EXPECT_EQ(json::String(json::Object(to[0], "emailAddress"), "name"), "Ann S\xC3\xB8rensen");
  EXPECT_EQ(json::String(json::Object(to[1], "emailAddress"), "address"), "cy@corp.test");
  EXPECT_EQ(json::String(json::Object(to[1], "emailAddress"), "name"), "Cy, Jr.");
  EXPECT_EQ(json::String(json::Object(json::Object(*m, "from"), "emailAddress"), "address"),
            "zarc@corp.test");
  EXPECT_EQ(json::String(json::Object(*m, "body"), "contentType"), "html");
  EXPECT_EQ(json::String(json::Object(*m, "body"), "content"), "<p>Caf\xC3\xA9 chat</p>");
  const std::vector<json::Value> headers = json::Array(*m, "internetMessageHeaders");
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(json::String(headers[0], "name"), "X-Zoom-Meeting-UUID");
  EXPECT_EQ(json::String(headers[0], "value"), "abc==");
  const std::vector<json::Value> attachments = json::Array(*m, "attachments");
  ASSERT_EQ(attachments.size(), 1u);
  EXPECT_EQ(json::String(attachments[0], "name"), "chat.txt");
  EXPECT_EQ(json::String(attachments[0], "contentBytes"), crypto::Base64Encode("hello"));
  std::map<std::string, std::string> props;
  for (const json::Value& p : json::Array(*m, "singleValueExtendedProperties")) {
    props[json::String(p, "id")] = json::String(p, "value");
  }
  EXPECT_EQ(props["Integer 0x0E07"], "1");
  EXPECT_EQ(props["SystemTime 0x0E06"], "2024-03-05T14:00:00Z");
  EXPECT_EQ(props["SystemTime 0x0039"], "2024-03-05T14:00:00Z");
}

TEST_F(GraphTargetTest, FolderCreatedByOthersIsFoundAfterConflict) {
  // Another importer made the folder; our first lookup misses it (as a lookup racing a creation
  // would), so our POST meets 409 ErrorFolderExists and we look again.
  auto first = NewTarget(Options());
  ASSERT_TRUE(first->Deliver(RequestFor(Render("f-1"), "cy@corp.test")).ok());

  std::atomic<int> hidden{0};
  std::atomic<int> folder_posts{0};
  std::atomic<int> conflicts{0};
  hooked_.SetHook([&](const http::ClientRequest& r) -> std::optional<http::ClientResponse> {
    if (absl::StrContains(r.url, "/childFolders")) {
      if (r.method == "GET" && hidden.fetch_add(1) == 0) {
        return http::ClientResponse{.status = 200, .body = R"({"value":[]})"};
      }
      if (r.method == "POST") {
        ++folder_posts;
        absl::StatusOr<http::ClientResponse> real = real_->Send(r);
        if (real.ok() && real->status == 409) ++conflicts;
        return real.ok() ? std::optional<http::ClientResponse>(*real) : std::nullopt;
      }
    }
    return std::nullopt;
  });
  auto second = NewTarget(Options());
  const testing::TestItem item = Render("f-2");
  absl::StatusOr<DeliveryOutcome> out = second->Deliver(RequestFor(item, "cy@corp.test"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, DeliveryOutcome::kDelivered);
  EXPECT_EQ(folder_posts.load(), 1);
  EXPECT_EQ(conflicts.load(), 1);
  EXPECT_EQ(hidden.load(), 2);  // the hidden lookup, then the one after the conflict

  // Cached from now on: no more folder requests.
  ASSERT_TRUE(second->Deliver(RequestFor(Render("f-3"), "cy@corp.test")).ok());
  EXPECT_EQ(hidden.load(), 2);
  hooked_.SetHook(nullptr);

  const json::Value view = MailboxView("cy@corp.test");
  EXPECT_EQ(CountFolders(view, "Zoom Meetings"), 1);
  const std::vector<json::Value> messages = json::Array(view, "messages");
  ASSERT_EQ(messages.size(), 3u);
  for (const json::Value& m : messages) EXPECT_EQ(json::String(m, "folder"), "Zoom Meetings");
}

TEST_F(GraphTargetTest, LargeAttachmentGoesThroughAnUploadSession) {
  constexpr uint64_t kAttachment = 6 << 20;
  const testing::TestItem item = Render("large-1", kAttachment);
  ASSERT_GT(item.message.size(), 4u << 20);
  std::atomic<uint64_t> largest_request{0};
  std::atomic<int> puts{0};
  hooked_.SetHook([&](const http::ClientRequest& r) -> std::optional<http::ClientResponse> {
    uint64_t seen = largest_request.load();
    while (r.body.size() > seen && !largest_request.compare_exchange_weak(seen, r.body.size())) {
    }
    if (r.method == "PUT") {
      ++puts;
      EXPECT_FALSE(http::FindHeader(r.headers, "Authorization").has_value());
    }
    return std::nullopt;
  });
  auto target = NewTarget(Options());
  absl::StatusOr<DeliveryOutcome> out = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, DeliveryOutcome::kDelivered);
  EXPECT_LT(largest_request.load(), 4u << 20);
  EXPECT_EQ(puts.load(), 2);  // 6 MiB in chunks of 3.125 MiB

  const json::Value view = MailboxView("dee@corp.test");
  const std::vector<json::Value> messages = json::Array(view, "messages");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(json::String(messages[0], "folder"), "Zoom Meetings");
  EXPECT_EQ(json::String(messages[0], "internetMessageId"), "<" + item.message_id + ">");
  EXPECT_LT(json::Int(messages[0], "size"), 3'000'000);
  const std::vector<json::Value> attachments = json::Array(messages[0], "attachments");
  ASSERT_EQ(attachments.size(), 1u);
  EXPECT_EQ(json::String(attachments[0], "name"), "recording.mp4");
  EXPECT_EQ(json::Int(attachments[0], "size"), static_cast<int64_t>(kAttachment));
  EXPECT_TRUE(json::Bool(attachments[0], "complete"));
  EXPECT_EQ(json::String(attachments[0], "sha256"), item.meeting.artifacts(0).blob().sha256());

  // The created message has the headers and the HTML body; the recording came separately.
  ExpectReceivedCopyOf(sim_->sim->Messages("dee@corp.test").at(0), item);

  absl::StatusOr<DeliveryOutcome> again = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, DeliveryOutcome::kAlreadyThere);
}

// The simulator's stored messages of `user` whose Message-ID is `message_id`.
std::vector<graph_sim::StoredMessage> WithMessageId(const graph_sim::testing::RunningGraphSim& sim,
                                                    const std::string& user,
                                                    const std::string& message_id) {
  std::vector<graph_sim::StoredMessage> out;
  for (graph_sim::StoredMessage& m : sim.sim->Messages(user)) {
    if (m.internet_message_id == "<" + message_id + ">") out.push_back(std::move(m));
  }
  return out;
}

// Exactly one message with the item's Message-ID, holding the complete recording.
void ExpectOneCompleteCopy(const graph_sim::testing::RunningGraphSim& sim, const std::string& user,
                           const testing::TestItem& item, uint64_t attachment_bytes) {
  const std::vector<graph_sim::StoredMessage> stored = WithMessageId(sim, user, item.message_id);
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_EQ(stored[0].attachments.size(), 1u);
  const graph_sim::StoredAttachment& a = stored[0].attachments[0];
  EXPECT_EQ(a.name, "recording.mp4");
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.received, attachment_bytes);
  EXPECT_EQ(a.sha256, item.meeting.artifacts(0).blob().sha256());
}

TEST_F(GraphTargetTest, FailedUploadIsTransientAndTheRetryDeliversOneCompleteMessage) {
  constexpr uint64_t kAttachment = 6 << 20;  // two PUTs of 3.125 MiB
  const testing::TestItem item = Render("upfail-1", kAttachment);
  sim_->sim->SetUploadFaults(/*every_n=*/0, /*at=*/2);  // the first attempt's last chunk
  auto target = NewTarget(Options());

  absl::StatusOr<DeliveryOutcome> first = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_FALSE(first.ok());
  EXPECT_TRUE(IsTransient(first.status())) << first.status();
  EXPECT_THAT(first.status().message(), HasSubstr("recording.mp4"));
  EXPECT_EQ(sim_->sim->Stats().failed_upload_puts, 1);
  // The half-attached message was taken away again.
  EXPECT_TRUE(WithMessageId(*sim_, "dee@corp.test", item.message_id).empty());

  absl::StatusOr<DeliveryOutcome> retry = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(*retry, DeliveryOutcome::kDelivered);
  ExpectOneCompleteCopy(*sim_, "dee@corp.test", item, kAttachment);

  absl::StatusOr<DeliveryOutcome> again = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, DeliveryOutcome::kAlreadyThere);
  ExpectOneCompleteCopy(*sim_, "dee@corp.test", item, kAttachment);
  EXPECT_EQ(sim_->sim->Stats().upload_puts, 4);  // 2 + 2; nothing uploaded for kAlreadyThere
}

TEST_F(GraphTargetTest, MessageLeftIncompleteByAFailedDeleteIsReplacedOnTheRetry) {
  constexpr uint64_t kAttachment = 6 << 20;
  const testing::TestItem item = Render("upfail-2", kAttachment);
  sim_->sim->SetUploadFaults(0, 1);
  std::atomic<int> deletes{0};
  hooked_.SetHook([&](const http::ClientRequest& r) -> std::optional<http::ClientResponse> {
    if (r.method != "DELETE") return std::nullopt;
    ++deletes;
    return http::ClientResponse{
        .status = 500, .body = R"({"error":{"code":"InternalServerError","message":"down"}})"};
  });
  GraphTargetOptions options = Options();
  options.patience = absl::Milliseconds(300);
  auto target = NewTarget(options);
  absl::StatusOr<DeliveryOutcome> first = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_FALSE(first.ok());
  EXPECT_TRUE(IsTransient(first.status())) << first.status();
  EXPECT_GE(deletes.load(), 1);
  std::vector<graph_sim::StoredMessage> left =
      WithMessageId(*sim_, "dee@corp.test", item.message_id);
  ASSERT_EQ(left.size(), 1u);
  ASSERT_EQ(left[0].attachments.size(), 1u);
  EXPECT_FALSE(left[0].attachments[0].complete);

  hooked_.SetHook(nullptr);
  absl::StatusOr<DeliveryOutcome> retry =
      NewTarget(Options())->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(*retry, DeliveryOutcome::kDelivered);  // not kAlreadyThere: it was incomplete
  ExpectOneCompleteCopy(*sim_, "dee@corp.test", item, kAttachment);
  EXPECT_NE(WithMessageId(*sim_, "dee@corp.test", item.message_id)[0].id, left[0].id);
}

TEST_F(GraphTargetTest, PreExistingIncompleteMessageIsDetectedAndReplaced) {
  constexpr uint64_t kAttachment = 6 << 20;
  const testing::TestItem item = Render("partial-1", kAttachment);
  // Through the simulator's Graph API, as a crashed importer would have left it: the skeleton in
  // Inbox/Zoom Meetings and an upload that stopped after its first chunk.
  mapper::GraphTokenSource tokens(*real_, Options().credentials);
  absl::StatusOr<std::string> token = tokens.Token();
  ASSERT_TRUE(token.ok()) << token.status();
  auto graph = [&](std::string method, std::string path, std::string body,
                   std::string content_type) {
    absl::StatusOr<http::ClientResponse> r = real_->Send(
        {.method = std::move(method),
         .url = sim_->url + "/v1.0/users/dee@corp.test" + path,
         .headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", content_type}},
         .body = std::move(body)});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : http::ClientResponse{};
  };
  http::ClientResponse folder = graph("POST", "/mailFolders/inbox/childFolders",
                                      R"({"displayName":"Zoom Meetings"})", "application/json");
  ASSERT_EQ(folder.status, 201) << folder.body;
  const std::string folder_id = json::String(*json::Parse(folder.body, "folder"), "id");
  auto source = staging_->Open(item.message.name());
  ASSERT_TRUE(source.ok());
  absl::StatusOr<SplitMessage> split = SplitLargeAttachments(**source, 512 << 10, 3'000'000);
  ASSERT_TRUE(split.ok()) << split.status();
  http::ClientResponse created = graph("POST", "/mailFolders/" + folder_id + "/messages",
                                       crypto::Base64Encode(split->skeleton), "text/plain");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string stale_id = json::String(*json::Parse(created.body, "message"), "id");
  http::ClientResponse session = graph(
      "POST", "/messages/" + stale_id + "/attachments/createUploadSession",
      absl::StrCat(R"({"AttachmentItem":{"attachmentType":"file","name":"recording.mp4","size":)",
                   kAttachment, "}}"),
      "application/json");
  ASSERT_EQ(session.status, 201) << session.body;
  const std::string upload_url = json::String(*json::Parse(session.body, "session"), "uploadUrl");
  absl::StatusOr<http::ClientResponse> chunk =
      real_->Send({.method = "PUT",
                   .url = upload_url,
                   .headers = {{"Content-Range", absl::StrCat("bytes 0-1023/", kAttachment)}},
                   .body = std::string(1024, 'x')});
  ASSERT_TRUE(chunk.ok() && chunk->status == 200);
  ASSERT_EQ(WithMessageId(*sim_, "dee@corp.test", item.message_id).size(), 1u);

  auto target = NewTarget(Options());
  absl::StatusOr<DeliveryOutcome> out = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, DeliveryOutcome::kDelivered);
  ExpectOneCompleteCopy(*sim_, "dee@corp.test", item, kAttachment);
  EXPECT_NE(WithMessageId(*sim_, "dee@corp.test", item.message_id)[0].id, stale_id);

  absl::StatusOr<DeliveryOutcome> again = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, DeliveryOutcome::kAlreadyThere);
}

TEST_F(GraphTargetTest, AttachmentsNextLinkOutsideTheConfiguredGraphIsNotFollowed) {
  constexpr uint64_t kAttachment = 6 << 20;
  const testing::TestItem item = Render("nextlink-1", kAttachment);
  auto target = NewTarget(Options());
  absl::StatusOr<DeliveryOutcome> first = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_TRUE(first.ok()) << first.status();

  // A redelivery lists the found message's attachments; this answer sends the next page away.
  std::atomic<int> sent_away{0};
  hooked_.SetHook([&](const http::ClientRequest& r) -> std::optional<http::ClientResponse> {
    if (absl::StartsWith(r.url, "https://evil.test")) {
      ++sent_away;
      return http::ClientResponse{.status = 500};
    }
    if (r.method != "GET" || !absl::StrContains(r.url, "/attachments")) return std::nullopt;
    return http::ClientResponse{
        .status = 200,
        .body = R"({"value":[],"@odata.nextLink":)"
                R"("https://evil.test/v1.0/users/dee/messages/m/attachments?$skiptoken=SECRET-PAGE"})"};
  });
  absl::StatusOr<DeliveryOutcome> again = target->Deliver(RequestFor(item, "dee@corp.test"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr("evil.test"));
  EXPECT_THAT(again.status().message(), HasSubstr("graph.api_url"));
  EXPECT_THAT(again.status().message(), ::testing::Not(HasSubstr("SECRET-PAGE")));
  EXPECT_EQ(sent_away.load(), 0);
  hooked_.SetHook(nullptr);
  ExpectOneCompleteCopy(*sim_, "dee@corp.test", item, kAttachment);  // nothing was deleted
}

TEST_F(GraphTargetTest, SurvivesThrottling) {
  sim_->sim->SetThrottling(/*every_n=*/2, /*per_second=*/0, /*retry_after_seconds=*/1);
  auto target = NewTarget(Options());
  const testing::TestItem item = Render("throttled-1");
  absl::StatusOr<DeliveryOutcome> out = target->Deliver(RequestFor(item, "ann@corp.test"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, DeliveryOutcome::kDelivered);
  EXPECT_GE(sim_->sim->Stats().throttled, 1);
  const std::vector<graph_sim::StoredMessage> stored = sim_->sim->Messages("ann@corp.test");
  ASSERT_EQ(stored.size(), 1u);
  ExpectReceivedCopyOf(stored[0], item);
}

TEST_F(GraphTargetTest, ThrottledPastPatienceIsTransient) {
  sim_->sim->SetThrottling(/*every_n=*/1, 0, /*retry_after_seconds=*/1);
  GraphTargetOptions options = Options();
  options.patience = absl::Milliseconds(1500);
  auto target = NewTarget(options);
  absl::StatusOr<DeliveryOutcome> out = target->Deliver(RequestFor(Render("t-2"), "ann@corp.test"));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(IsTransient(out.status())) << out.status();
  EXPECT_THAT(out.status().message(), HasSubstr("429"));
}

TEST_F(GraphTargetTest, AnExpiredClientSecretWaitsInsteadOfFailing) {
  GraphTargetOptions options = Options();
  options.credentials.client_secret = "expired-secret";
  auto target = NewTarget(options);
  const testing::TestItem item = Render("t-3");
  absl::StatusOr<DeliveryOutcome> out = target->Deliver(RequestFor(item, "ann@corp.test"));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(IsTransient(out.status())) << out.status();
  EXPECT_THAT(out.status().message(), HasSubstr("graph.client_secret"));
  EXPECT_THAT(out.status().message(), ::testing::Not(HasSubstr("expired-secret")));
  EXPECT_TRUE(sim_->sim->Messages("ann@corp.test").empty());

  // The secret is rotated: the same delivery goes through.
  auto fixed = NewTarget(Options());
  absl::StatusOr<DeliveryOutcome> retried = fixed->Deliver(RequestFor(item, "ann@corp.test"));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(sim_->sim->Messages("ann@corp.test").size(), 1u);
}

TEST_F(GraphTargetTest, NoMailboxIsAPermanentFailureWithAReason) {
  auto target = NewTarget(Options());
  const testing::TestItem item = Render("nobody-1");
  absl::StatusOr<DeliveryOutcome> unknown = target->Deliver(RequestFor(item, "ghost@corp.test"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_FALSE(IsTransient(unknown.status()));
  EXPECT_TRUE(absl::IsNotFound(unknown.status())) << unknown.status();
  EXPECT_THAT(unknown.status().message(), HasSubstr("ghost@corp.test"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("ErrorInvalidUser"));

  absl::StatusOr<DeliveryOutcome> no_mail = target->Deliver(RequestFor(item, "nomail@corp.test"));
  ASSERT_FALSE(no_mail.ok());
  EXPECT_TRUE(absl::IsNotFound(no_mail.status())) << no_mail.status();
  EXPECT_THAT(no_mail.status().message(), HasSubstr("MailboxNotEnabledForRESTAPI"));
}

TEST_F(GraphTargetTest, ExpiredTokenIsRefreshedOnce) {
  auto target = NewTarget(Options());
  std::atomic<int> refused{0};
  hooked_.SetHook([&](const http::ClientRequest& r) -> std::optional<http::ClientResponse> {
    if (absl::StrContains(r.url, "/v1.0/") && refused.fetch_add(1) == 0) {
      return http::ClientResponse{
          .status = 401,
          .body = R"({"error":{"code":"InvalidAuthenticationToken","message":"expired"}})"};
    }
    return std::nullopt;
  });
  absl::StatusOr<DeliveryOutcome> out =
      target->Deliver(RequestFor(Render("tok-1"), "ann@corp.test"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, DeliveryOutcome::kDelivered);
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, 2);
}

TEST_F(GraphTargetTest, ConcurrentDeliveriesStayWithinTheMailboxConcurrencyLimit) {
  graph_sim::GraphSimOptions slow;
  slow.mailbox_request_delay = absl::Milliseconds(30);
  StartSim(slow);
  auto target = NewTarget(Options());
  std::vector<testing::TestItem> items;
  for (int i = 0; i < 10; ++i) items.push_back(Render(absl::StrCat("c-", i)));
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<DeliveryOutcome>> outcomes(items.size(), absl::UnknownError(""));
  for (size_t i = 0; i < items.size(); ++i) {
    threads.emplace_back(
        [&, i] { outcomes[i] = target->Deliver(RequestFor(items[i], "cy@corp.test")); });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(sim_->sim->Stats().throttled, 0);  // the simulator 429s a fifth concurrent request
  EXPECT_EQ(sim_->sim->Messages("cy@corp.test").size(), items.size());
}

TEST_F(GraphTargetTest, ImporterServiceDeliversThroughGraphFromItsConfiguration) {
  const std::vector<std::string> common = {
      "--messages.url=file://" + dir_.path(), "--archive.url=file://" + dir_.path() + "/archive",
      "--importer.target=graph", "--graph.login_url=" + sim_->url, "--graph.api_url=" + sim_->url};
  absl::StatusOr<ImporterConfig> incomplete = ImporterSchema().Load({.args = common});
  ASSERT_FALSE(incomplete.ok());
  EXPECT_THAT(incomplete.status().message(), HasSubstr("graph.client_secret"));

  std::vector<std::string> args = common;
  args.insert(args.end(), {"--graph.tenant_id=corp.test", "--graph.client_id=zarc-graph-client",
                           "--graph.client_secret=zarc-graph-secret"});
  absl::StatusOr<ImporterConfig> config = ImporterSchema().Load({.args = args});
  ASSERT_TRUE(config.ok()) << config.status();
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<ImporterApp>> app = ImporterApp::Create(*config, &registry);
  ASSERT_TRUE(app.ok()) << app.status();

  const testing::TestItem item = Render("app-1");
  for (const auto& [mailbox, outcome] :
       std::vector<std::pair<std::string, zarc::v1::ImportOutcome>>{
           {"ann@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED},
           {"ann@corp.test", zarc::v1::IMPORT_OUTCOME_IMPORTED},  // the replay, as recorded
           {"nomail@corp.test", zarc::v1::IMPORT_OUTCOME_FAILED}}) {
    kafka::Record record{.topic = "zarc.deliveries",
                         .value = testing::DeliveryFor(item, mailbox, 2).SerializeAsString()};
    absl::StatusOr<std::vector<kafka::OutgoingRecord>> out = (*app)->Handle(record);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), 1u);
    zarc::v1::ImportResult result;
    ASSERT_TRUE(result.ParseFromString((*out)[0].value));
    EXPECT_EQ(result.outcome(), outcome) << mailbox << ": " << result.reason();
    EXPECT_EQ(result.target(), "graph");
    if (outcome == zarc::v1::IMPORT_OUTCOME_FAILED) {
      EXPECT_THAT(result.reason(), HasSubstr("MailboxNotEnabledForRESTAPI"));
    }
  }
  const std::vector<graph_sim::StoredMessage> stored = sim_->sim->Messages("ann@corp.test");
  ASSERT_EQ(stored.size(), 1u);
  ExpectReceivedCopyOf(stored[0], item);
}

TEST(MailboxLimiterTest, UploadBudgetWaitsForTheWindowAndGivesUpPastTheDeadline) {
  absl::Time now = absl::FromUnixSeconds(1000);
  std::vector<absl::Duration> slept;
  MailboxLimiter limiter({.concurrency = 4,
                          .upload_bytes = 100,
                          .window = absl::Minutes(5),
                          .now = [&] { return now; },
                          .sleep =
                              [&](absl::Duration d) {
                                slept.push_back(d);
                                now += d;
                              }});
  ASSERT_TRUE(limiter.ChargeUpload("a", 60, now + absl::Minutes(10)).ok());
  now += absl::Minutes(1);
  ASSERT_TRUE(limiter.ChargeUpload("b", 100, now).ok());  // another mailbox: its own budget
  absl::Status late = limiter.ChargeUpload("a", 60, now + absl::Minutes(1));
  EXPECT_TRUE(absl::IsUnavailable(late)) << late;
  EXPECT_TRUE(slept.empty());
  ASSERT_TRUE(limiter.ChargeUpload("a", 60, now + absl::Minutes(10)).ok());
  ASSERT_EQ(slept.size(), 1u);
  EXPECT_GE(slept[0], absl::Minutes(4));  // until the first 60 bytes leave the window
  EXPECT_LE(slept[0], absl::Minutes(4) + absl::Seconds(1));
  EXPECT_TRUE(absl::IsInvalidArgument(limiter.ChargeUpload("a", 101, now + absl::Hours(1))));
}

TEST(MailboxLimiterTest, AtMostConcurrencyRequestsPerMailbox) {
  MailboxLimiter limiter({.concurrency = 2});
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) {
        limiter.Acquire("m");
        const int now = ++in_flight;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::yield();
        --in_flight;
        limiter.Release("m");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
}

TEST(SplitLargeAttachmentsTest, RemovesLargePartsAndDecodesThemAgain) {
  zarc::testing::TempDir dir;
  auto staging = blob::OpenBlobStore({.url = "file://" + dir.path()});
  ASSERT_TRUE(staging.ok());
  absl::StatusOr<testing::TestItem> item =
      testing::RenderTestItem(**staging, "split-1", "Split", kStart, {"ann@corp.test"}, 1 << 20);
  ASSERT_TRUE(item.ok()) << item.status();
  auto source = (*staging)->Open(item->message.name());
  ASSERT_TRUE(source.ok());
  absl::StatusOr<SplitMessage> split = SplitLargeAttachments(**source, 512 << 10, 3'000'000);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->removed.size(), 1u);
  EXPECT_EQ(split->removed[0].name, "recording.mp4");
  EXPECT_EQ(split->removed[0].content_type, "video/mp4");
  EXPECT_EQ(split->removed[0].size, 1u << 20);
  EXPECT_LT(split->skeleton.size(), 200u << 10);
  EXPECT_THAT(split->skeleton, HasSubstr("Message-ID: <" + item->message_id + ">"));

  auto again = (*staging)->Open(item->message.name());
  ASSERT_TRUE(again.ok());
  io::StringSink decoded;
  ASSERT_TRUE(DecodePart(**again, split->removed[0].part, decoded).ok());
  EXPECT_EQ(crypto::Sha256Hex(decoded.data()), item->meeting.artifacts(0).blob().sha256());

  // Too little room for what must stay: a clear refusal, not a request Graph would reject.
  auto third = (*staging)->Open(item->message.name());
  ASSERT_TRUE(third.ok());
  absl::StatusOr<SplitMessage> tight = SplitLargeAttachments(**third, 512 << 10, 1000);
  EXPECT_TRUE(absl::IsFailedPrecondition(tight.status())) << tight.status();
}

}  // namespace
}  // namespace zarc::importer
