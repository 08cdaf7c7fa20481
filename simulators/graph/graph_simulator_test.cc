#include "simulators/graph/graph_simulator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/http_client.h"
#include "runtime/http/http_server.h"
#include "runtime/json/json.h"
#include "runtime/testing/subprocess.h"

namespace zarc::graph_sim {
namespace {

Directory TestDirectory() {
  absl::StatusOr<Directory> dir = ParseDirectoryJson(R"({
    "users": [
      {"id": "u-ann", "userPrincipalName": "ann@corp.test", "mail": "Ann@corp.test",
       "displayName": "Ann", "proxyAddresses": ["SMTP:Ann@corp.test", "smtp:Anna.Old@Corp.test"]},
      {"id": "u-bob", "userPrincipalName": "bob@corp.test", "mail": "bob@corp.test",
       "accountEnabled": false},
      {"id": "u-cy", "userPrincipalName": "cy@corp.test", "mail": "cy@corp.test"},
      {"id": "u-nomail", "userPrincipalName": "nomail@corp.test"}
    ],
    "groups": [{"id": "g1", "members": ["u-ann", "u-bob", "u-cy"]}]
  })");
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *dir;
}

class GraphSimTest : public ::testing::Test {
 protected:
  void Start(GraphSimOptions options = {}) {
    sim_ = std::make_unique<GraphSimulator>(TestDirectory(), options);
    absl::StatusOr<std::unique_ptr<http::HttpServer>> server =
        http::HttpServer::Start(http::ServerOptions{.threads = 8},
                                [this](const http::ServerRequest& r) { return sim_->Handle(r); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    base_ = absl::StrCat("http://127.0.0.1:", server_->port());
    sim_->SetPublicBaseUrl(base_);
  }
  void SetUp() override { Start(); }
  void TearDown() override { server_->Stop(); }

  http::ClientResponse Send(std::string method, std::string path, std::string body = "",
                            http::Headers headers = {}, bool auth = true) {
    http::ClientRequest r;
    r.method = std::move(method);
    r.url = absl::StartsWith(path, "http") ? path : base_ + path;
    r.body = std::move(body);
    r.headers = std::move(headers);
    if (auth) r.headers.emplace_back("Authorization", "Bearer " + Token());
    absl::StatusOr<http::ClientResponse> resp = client_->Send(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::ClientResponse{};
  }

  std::string Token() {
    if (!token_.empty()) return token_;
    http::ClientResponse r = Send("POST", "/tenant-1/oauth2/v2.0/token",
                                  "client_id=zarc-graph-client&client_secret=zarc-graph-secret&"
                                  "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&"
                                  "grant_type=client_credentials",
                                  {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
    EXPECT_EQ(r.status, 200) << r.body;
    token_ = json::String(*json::Parse(r.body, "token"), "access_token");
    return token_;
  }

  static json::Value Body(const http::ClientResponse& r) {
    absl::StatusOr<json::Value> v = json::Parse(r.body, "response");
    EXPECT_TRUE(v.ok()) << r.body;
    return v.ok() ? *v : json::Value();
  }
  static std::string ErrorCode(const http::ClientResponse& r) {
    return json::String(json::Object(Body(r), "error"), "code");
  }

  std::string CreateFolder(const std::string& user) {
    http::ClientResponse r =
        Send("POST", "/v1.0/users/" + user + "/mailFolders/inbox/childFolders",
             R"({"displayName":"Zoom Meetings"})", {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::String(Body(r), "id");
  }

  std::string PostMime(const std::string& user, const std::string& folder,
                       const std::string& mime) {
    http::ClientResponse r =
        Send("POST", "/v1.0/users/" + user + "/mailFolders/" + folder + "/messages",
             crypto::Base64Encode(mime), {{"Content-Type", "text/plain"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::String(Body(r), "id");
  }

  std::unique_ptr<GraphSimulator> sim_;
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<http::HttpClient> client_ = http::NewHttpClient();
  std::string base_;
  std::string token_;
};

const char kFilterByAddress[] =
    "/v1.0/users?$filter=mail%20eq%20'{A}'%20or%20proxyAddresses/any(p:p%20eq%20'smtp:{A}')"
    "&$count=true&$select=id,mail,userPrincipalName,accountEnabled,proxyAddresses";

std::string FilterPath(absl::string_view address) {
  std::string p = kFilterByAddress;
  for (size_t at; (at = p.find("{A}")) != std::string::npos;)
    p.replace(at, 3, address.data(), address.size());
  return p;
}

TEST_F(GraphSimTest, TokenEndpointRefusesAWrongSecretLikeEntraId) {
  http::ClientResponse r = Send("POST", "/tenant-1/oauth2/v2.0/token",
                                "client_id=zarc-graph-client&client_secret=wrong&"
                                "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&"
                                "grant_type=client_credentials",
                                {}, false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::String(Body(r), "error"), "invalid_client");
  EXPECT_TRUE(absl::StrContains(json::String(Body(r), "error_description"), "AADSTS7000215"));
  EXPECT_EQ(Send("GET", "/v1.0/users/u-ann", "", {}, false).status, 401);
  EXPECT_EQ(Send("GET", "/v1.0/users/u-ann").status, 200);
}

TEST_F(GraphSimTest, FindsUsersByMailOrProxyAddressInAnyCase) {
  const http::Headers eventual = {{"ConsistencyLevel", "eventual"}};
  http::ClientResponse by_mail = Send("GET", FilterPath("ANN@CORP.TEST"), "", eventual);
  ASSERT_EQ(by_mail.status, 200) << by_mail.body;
  std::vector<json::Value> users = json::Array(Body(by_mail), "value");
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(json::String(users[0], "id"), "u-ann");
  EXPECT_TRUE(json::Bool(users[0], "accountEnabled"));
  EXPECT_FALSE(json::Has(users[0], "displayName")) << "$select limits the properties";
  EXPECT_EQ(json::Int(Body(by_mail), "@odata.count"), 1);

  http::ClientResponse by_proxy = Send("GET", FilterPath("anna.old@corp.TEST"), "", eventual);
  ASSERT_EQ(by_proxy.status, 200);
  ASSERT_EQ(json::Array(Body(by_proxy), "value").size(), 1u);
  EXPECT_EQ(json::String(json::Array(Body(by_proxy), "value")[0], "mail"), "Ann@corp.test");

  EXPECT_TRUE(json::Array(Body(Send("GET", FilterPath("nobody@corp.test"), "", eventual)), "value")
                  .empty());
  EXPECT_EQ(sim_->Stats().address_lookups["ann@corp.test"], 1);
}

TEST_F(GraphSimTest, AdvancedFilterNeedsConsistencyLevelAndCount) {
  http::ClientResponse r = Send("GET", FilterPath("ann@corp.test"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "Request_UnsupportedQuery");
  // A plain mail filter is a default query and needs neither.
  EXPECT_EQ(Send("GET", "/v1.0/users?$filter=mail%20eq%20'cy@corp.test'").status, 200);
}

TEST_F(GraphSimTest, BatchAnswersEachRequestAndRefusesMoreThanTwenty) {
  std::string requests;
  for (int i = 1; i <= 21; ++i) {
    absl::StrAppend(&requests, i > 1 ? "," : "", R"({"id":")", i,
                    R"(","method":"GET","url":"/users/u-cy"})");
  }
  http::ClientResponse too_many = Send("POST", "/v1.0/$batch", "{\"requests\":[" + requests + "]}",
                                       {{"Content-Type", "application/json"}});
  EXPECT_EQ(too_many.status, 400);

  sim_->SetThrottling(2, 0, 7);
  const std::string batch = R"({"requests":[
    {"id":"a","method":"GET","url":"/users/u-cy"},
    {"id":"b","method":"GET","url":"/users/u-cy"},
    {"id":"c","method":"GET","url":"/users/missing"}]})";
  http::ClientResponse r =
      Send("POST", "/v1.0/$batch", batch, {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<json::Value> responses = json::Array(Body(r), "responses");
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(json::Int(responses[0], "status"), 200);
  EXPECT_EQ(json::Int(responses[1], "status"), 429);
  EXPECT_EQ(json::String(json::Object(responses[1], "headers"), "Retry-After"), "7");
  EXPECT_EQ(json::Int(responses[2], "status"), 404);
  EXPECT_EQ(sim_->Stats().max_batch_size, 3);
}

TEST_F(GraphSimTest, GroupMembersArePaged) {
  std::vector<std::string> ids;
  std::string next = "/v1.0/groups/g1/members?$select=id&$top=2";
  while (!next.empty()) {
    http::ClientResponse r = Send("GET", next);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const json::Value& m : json::Array(Body(r), "value")) ids.push_back(json::String(m, "id"));
    next = json::String(Body(r), "@odata.nextLink");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"u-ann", "u-bob", "u-cy"}));
  EXPECT_EQ(sim_->Stats().group_member_pages, 2);
}

TEST_F(GraphSimTest, FolderCreationAnswersConflictWhenTheFolderExists) {
  const std::string id = CreateFolder("u-ann");
  http::ClientResponse again =
      Send("POST", "/v1.0/users/ann@corp.test/mailFolders/inbox/childFolders",
           R"({"displayName":"zoom meetings"})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(ErrorCode(again), "ErrorFolderExists");
  http::ClientResponse found = Send("GET",
                                    "/v1.0/users/u-ann/mailFolders/inbox/"
                                    "childFolders?$filter=displayName%20eq%20'Zoom%20Meetings'");
  ASSERT_EQ(found.status, 200);
  ASSERT_EQ(json::Array(Body(found), "value").size(), 1u);
  EXPECT_EQ(json::String(json::Array(Body(found), "value")[0], "id"), id);
  EXPECT_EQ(ErrorCode(Send("GET", "/v1.0/users/u-nomail/mailFolders/inbox")),
            "MailboxNotEnabledForRESTAPI");
}

TEST_F(GraphSimTest, StoresAPostedMimeMessageAndFindsItByInternetMessageId) {
  const std::string folder = CreateFolder("u-cy");
  const std::string mime =
      "Message-ID: <item-1@zarc.test>\r\nSubject: Weekly\r\n sync\r\n\r\nbody\r\n";
  const std::string id = PostMime("u-cy", folder, mime);
  http::ClientResponse found = Send(
      "GET", "/v1.0/users/u-cy/mailFolders/" + folder +
                 "/messages?$filter=internetMessageId%20eq%20'%3Citem-1@zarc.test%3E'&$select=id");
  ASSERT_EQ(found.status, 200) << found.body;
  ASSERT_EQ(json::Array(Body(found), "value").size(), 1u);
  EXPECT_EQ(json::String(json::Array(Body(found), "value")[0], "id"), id);

  http::ClientResponse admin = Send("GET", "/_sim/mailboxes/cy@corp.test", "", {}, false);
  std::vector<json::Value> messages = json::Array(Body(admin), "messages");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(json::String(messages[0], "folder"), "Zoom Meetings");
  EXPECT_EQ(json::String(messages[0], "subject"), "Weekly sync");
  EXPECT_EQ(json::String(messages[0], "sha256"), crypto::Sha256Hex(mime));
  EXPECT_TRUE(json::Bool(messages[0], "isDraft"));
}

// Graph's contract for import: a MIME-posted message is a draft dated at import; one created from
// JSON is a received message only when PidTagMessageFlags is set at creation without
// MSGFLAG_UNSENT, dated at PidTagMessageDeliveryTime.
TEST_F(GraphSimTest, AJsonMessageWithMessageFlagsIsReceivedAtItsDeliveryTimeNotADraft) {
  const std::string folder = CreateFolder("u-cy");
  const std::string url = "/v1.0/users/u-cy/mailFolders/" + folder + "/messages";
  const std::string received = R"({
    "subject": "Weekly sync", "internetMessageId": "<item-2@zarc.test>",
    "body": {"contentType": "html", "content": "<p>chat</p>"},
    "internetMessageHeaders": [{"name": "X-Zoom-Meeting-Id", "value": "123"}],
    "singleValueExtendedProperties": [
      {"id": "Integer 0x0E07", "value": "1"},
      {"id": "SystemTime 0x0E06", "value": "2024-03-05T14:00:00Z"},
      {"id": "SystemTime 0x0039", "value": "2024-03-05T14:00:00Z"}],
    "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "chat.txt",
                     "contentType": "text/plain", "contentBytes": "aGVsbG8="}]})";
  http::ClientResponse r = Send("POST", url, received, {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = json::String(Body(r), "id");
  http::ClientResponse got = Send(
      "GET", "/v1.0/users/u-cy/messages/" + id +
                 "?$select=isDraft,isRead,receivedDateTime,sentDateTime,internetMessageHeaders,body");
  ASSERT_EQ(got.status, 200) << got.body;
  const json::Value m = Body(got);
  EXPECT_FALSE(json::Bool(m, "isDraft", true));
  EXPECT_TRUE(json::Bool(m, "isRead"));
  EXPECT_EQ(json::String(m, "receivedDateTime"), "2024-03-05T14:00:00Z");
  EXPECT_EQ(json::String(m, "sentDateTime"), "2024-03-05T14:00:00Z");
  ASSERT_EQ(json::Array(m, "internetMessageHeaders").size(), 1u);
  EXPECT_EQ(json::String(json::Object(m, "body"), "content"), "<p>chat</p>");
  ASSERT_EQ(sim_->Messages("u-cy").size(), 1u);
  ASSERT_EQ(sim_->Messages("u-cy")[0].attachments.size(), 1u);
  EXPECT_EQ(sim_->Messages("u-cy")[0].attachments[0].sha256, crypto::Sha256Hex("hello"));

  // Without the flags the same JSON makes a draft, received (created) now.
  http::ClientResponse draft =
      Send("POST", url, R"({"subject": "no flags", "internetMessageId": "<item-3@zarc.test>"})",
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(draft.status, 201) << draft.body;
  EXPECT_TRUE(json::Bool(Body(draft), "isDraft"));
  EXPECT_NE(json::String(Body(draft), "receivedDateTime"), "2024-03-05T14:00:00Z");
  // And so is a MIME-posted message, whatever its Date says.
  const std::string mime_id = PostMime(
      "u-cy", folder, "Message-ID: <item-4@zarc.test>\r\nDate: Tue, 05 Mar 2024 14:00:00 +0000\r\n\r\nx\r\n");
  http::ClientResponse mime = Send("GET", "/v1.0/users/u-cy/messages/" + mime_id);
  EXPECT_TRUE(json::Bool(Body(mime), "isDraft"));
  EXPECT_NE(json::String(Body(mime), "receivedDateTime"), "2024-03-05T14:00:00Z");
}

TEST_F(GraphSimTest, AJsonMessageTakesOnlyCustomInternetHeaders) {
  const std::string folder = CreateFolder("u-cy");
  http::ClientResponse r =
      Send("POST", "/v1.0/users/u-cy/mailFolders/" + folder + "/messages",
           R"({"subject": "s", "internetMessageHeaders": [{"name": "Message-ID", "value": "<a@b>"}]})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "InvalidInternetMessageHeader");
  EXPECT_TRUE(sim_->Messages("u-cy").empty());
}

TEST_F(GraphSimTest, RefusesRequestsOverFourMegabytes) {
  const std::string folder = CreateFolder("u-cy");
  const std::string mime =
      "Subject: big\r\n\r\n" + std::string(3200 * 1024, 'x');  // 4.3 MB in base64
  http::ClientResponse r = Send("POST", "/v1.0/users/u-cy/mailFolders/" + folder + "/messages",
                                crypto::Base64Encode(mime), {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCode(r), "ErrorRequestEntityTooLarge");
  EXPECT_TRUE(sim_->Messages("u-cy").empty());
}

TEST_F(GraphSimTest, UploadSessionChunksReassembleToTheSameBytes) {
  const std::string folder = CreateFolder("u-ann");
  const std::string message = PostMime("u-ann", folder, "Message-ID: <m@x>\r\n\r\nhi\r\n");
  std::string bytes;
  for (int i = 0; i < (3 << 20) + 777; ++i) bytes.push_back(static_cast<char>((i * 131) % 251));
  http::ClientResponse session =
      Send("POST", "/v1.0/users/u-ann/messages/" + message + "/attachments/createUploadSession",
           absl::StrCat(R"({"AttachmentItem":{"attachmentType":"file","name":"rec.mp4","size":)",
                        bytes.size(), "}}"),
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(session.status, 201) << session.body;
  const std::string url = json::String(Body(session), "uploadUrl");
  ASSERT_TRUE(absl::StartsWith(url, base_)) << url;

  auto put = [&](size_t first, size_t n, bool auth) {
    http::Headers h = {
        {"Content-Range", absl::StrCat("bytes ", first, "-", first + n - 1, "/", bytes.size())}};
    return Send("PUT", url, bytes.substr(first, n), h, auth);
  };
  EXPECT_EQ(put(0, 1000, true).status, 401) << "the upload URL must not get a bearer token";
  EXPECT_EQ(put(1000, 1000, false).status, 416) << "ranges must be contiguous";
  const size_t chunk = 1 << 20;
  size_t at = 0;
  int last_status = 0;
  while (at < bytes.size()) {
    const size_t n = std::min(chunk, bytes.size() - at);
    http::ClientResponse r = put(at, n, false);
    last_status = r.status;
    if (at + n < bytes.size()) {
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(json::Array(Body(r), "nextExpectedRanges")[0].AsString(),
                absl::StrCat(at + n, "-"));
    }
    at += n;
  }
  EXPECT_EQ(last_status, 201);
  std::vector<StoredMessage> stored = sim_->Messages("u-ann");
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_EQ(stored[0].attachments.size(), 1u);
  EXPECT_TRUE(stored[0].attachments[0].complete);
  EXPECT_EQ(stored[0].attachments[0].sha256, crypto::Sha256Hex(bytes));
}

// Bytes of an attachment big enough for an upload session (3 MB minimum).
std::string SessionSizedBytes() {
  std::string bytes;
  for (int i = 0; i < (3 << 20) + 100; ++i) bytes.push_back(static_cast<char>((i * 7) % 253));
  return bytes;
}

TEST_F(GraphSimTest, DeletedMessageIsGoneWithItsUploadSession) {
  const std::string folder = CreateFolder("u-ann");
  const std::string keep = PostMime("u-ann", folder, "Message-ID: <keep@x>\r\n\r\nhi\r\n");
  const std::string message = PostMime("u-ann", folder, "Message-ID: <gone@x>\r\n\r\nhi\r\n");
  const std::string bytes = SessionSizedBytes();
  http::ClientResponse session =
      Send("POST", "/v1.0/users/u-ann/messages/" + message + "/attachments/createUploadSession",
           absl::StrCat(R"({"AttachmentItem":{"attachmentType":"file","name":"r.mp4","size":)",
                        bytes.size(), "}}"),
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(session.status, 201) << session.body;
  const std::string url = json::String(Body(session), "uploadUrl");

  http::ClientResponse deleted = Send("DELETE", "/v1.0/users/ann@corp.test/messages/" + message);
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_TRUE(deleted.body.empty());
  http::ClientResponse get = Send("GET", "/v1.0/users/u-ann/messages/" + message);
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(ErrorCode(get), "ErrorItemNotFound");
  http::ClientResponse again = Send("DELETE", "/v1.0/users/u-ann/messages/" + message);
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(ErrorCode(again), "ErrorItemNotFound");
  http::ClientResponse put =
      Send("PUT", url, bytes.substr(0, 1000),
           {{"Content-Range", absl::StrCat("bytes 0-999/", bytes.size())}}, false);
  EXPECT_EQ(put.status, 404) << "the session died with its message";

  const std::vector<StoredMessage> stored = sim_->Messages("u-ann");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].id, keep);
  http::ClientResponse found =
      Send("GET", "/v1.0/users/u-ann/mailFolders/" + folder +
                      "/messages?$filter=internetMessageId%20eq%20'%3Cgone@"
                      "x%3E'&$select=id");
  ASSERT_EQ(found.status, 200);
  EXPECT_TRUE(json::Array(Body(found), "value").empty());
}

TEST_F(GraphSimTest, AttachmentsAreListedOnceTheirUploadCompletes) {
  const std::string folder = CreateFolder("u-cy");
  const std::string message = PostMime("u-cy", folder, "Message-ID: <att@x>\r\n\r\nhi\r\n");
  const std::string list_url =
      "/v1.0/users/u-cy/messages/" + message + "/attachments?$select=id,name,size";
  http::ClientResponse small =
      Send("POST", "/v1.0/users/u-cy/messages/" + message + "/attachments",
           absl::StrCat(R"({"@odata.type":"#microsoft.graph.fileAttachment","name":"notes.txt",)",
                        R"("contentBytes":")", crypto::Base64Encode("twelve bytes"), R"("})"),
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(small.status, 201) << small.body;

  const std::string bytes = SessionSizedBytes();
  http::ClientResponse session =
      Send("POST", "/v1.0/users/u-cy/messages/" + message + "/attachments/createUploadSession",
           absl::StrCat(R"({"AttachmentItem":{"attachmentType":"file","name":"r.mp4","size":)",
                        bytes.size(), "}}"),
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(session.status, 201) << session.body;
  const std::string url = json::String(Body(session), "uploadUrl");
  const size_t half = bytes.size() / 2;
  ASSERT_EQ(Send("PUT", url, bytes.substr(0, half),
                 {{"Content-Range", absl::StrCat("bytes 0-", half - 1, "/", bytes.size())}}, false)
                .status,
            200);

  http::ClientResponse partial = Send("GET", list_url);
  ASSERT_EQ(partial.status, 200) << partial.body;
  std::vector<json::Value> listed = json::Array(Body(partial), "value");
  ASSERT_EQ(listed.size(), 1u) << partial.body;  // the unfinished upload is not an attachment yet
  EXPECT_EQ(json::String(listed[0], "@odata.type"), "#microsoft.graph.fileAttachment");
  EXPECT_EQ(json::String(listed[0], "name"), "notes.txt");
  EXPECT_EQ(json::Int(listed[0], "size"), 12);
  EXPECT_FALSE(json::String(listed[0], "id").empty());
  EXPECT_FALSE(json::Has(listed[0], "contentType"));  // not selected

  ASSERT_EQ(Send("PUT", url, bytes.substr(half),
                 {{"Content-Range",
                   absl::StrCat("bytes ", half, "-", bytes.size() - 1, "/", bytes.size())}},
                 false)
                .status,
            201);
  http::ClientResponse full = Send("GET", list_url);
  ASSERT_EQ(full.status, 200);
  listed = json::Array(Body(full), "value");
  ASSERT_EQ(listed.size(), 2u) << full.body;
  EXPECT_EQ(json::String(listed[1], "name"), "r.mp4");
  EXPECT_EQ(json::Int(listed[1], "size"), static_cast<int64_t>(bytes.size()));

  http::ClientResponse bad =
      Send("GET", "/v1.0/users/u-cy/messages/" + message + "/attachments?$select=id,colour");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(absl::StrContains(bad.body, "colour")) << bad.body;
  EXPECT_EQ(Send("GET", "/v1.0/users/u-cy/messages/AAMkNope/attachments").status, 404);
}

TEST_F(GraphSimTest, InjectedUploadFailureStoresNothingAndTheChunkCanBeSentAgain) {
  const std::string folder = CreateFolder("u-ann");
  const std::string message = PostMime("u-ann", folder, "Message-ID: <f@x>\r\n\r\nhi\r\n");
  const std::string bytes = SessionSizedBytes();
  http::ClientResponse session =
      Send("POST", "/v1.0/users/u-ann/messages/" + message + "/attachments/createUploadSession",
           absl::StrCat(R"({"AttachmentItem":{"attachmentType":"file","name":"r.mp4","size":)",
                        bytes.size(), "}}"),
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(session.status, 201) << session.body;
  const std::string url = json::String(Body(session), "uploadUrl");
  sim_->SetUploadFaults(/*every_n=*/0, /*at=*/2);
  const size_t half = bytes.size() / 2;
  auto put = [&](size_t first, size_t last) {
    return Send("PUT", url, bytes.substr(first, last - first + 1),
                {{"Content-Range", absl::StrCat("bytes ", first, "-", last, "/", bytes.size())}},
                false);
  };
  EXPECT_EQ(put(0, half - 1).status, 200);
  http::ClientResponse failed = put(half, bytes.size() - 1);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(ErrorCode(failed), "ServiceUnavailable");
  std::vector<StoredMessage> stored = sim_->Messages("u-ann");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].attachments[0].received, half);
  EXPECT_EQ(put(half, bytes.size() - 1).status, 201);  // only the 2nd PUT fails
  stored = sim_->Messages("u-ann");
  EXPECT_TRUE(stored[0].attachments[0].complete);
  EXPECT_EQ(stored[0].attachments[0].sha256, crypto::Sha256Hex(bytes));
  EXPECT_EQ(sim_->Stats().upload_puts, 3);
  EXPECT_EQ(sim_->Stats().failed_upload_puts, 1);

  // The admin route sets the same knob for the standalone simulator.
  http::ClientResponse knob =
      Send("POST", "/_sim/faults", R"({"fail_upload_put_every":1})", {}, false);
  EXPECT_EQ(knob.status, 200) << knob.body;
  EXPECT_EQ(put(0, 99).status, 503);
}

TEST_F(GraphSimTest, SmallAttachmentsMustBePostedDirectly) {
  const std::string folder = CreateFolder("u-ann");
  const std::string message = PostMime("u-ann", folder, "Message-ID: <m@x>\r\n\r\nhi\r\n");
  http::ClientResponse r =
      Send("POST", "/v1.0/users/u-ann/messages/" + message + "/attachments/createUploadSession",
           R"({"AttachmentItem":{"attachmentType":"file","name":"a.txt","size":100}})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize");
}

TEST_F(GraphSimTest, MailboxUploadBudgetIsEnforced) {
  server_->Stop();
  Start(GraphSimOptions{.mailbox_upload_bytes = 1000});
  const std::string folder = CreateFolder("u-cy");
  PostMime("u-cy", folder, "Subject: a\r\n\r\n" + std::string(700, 'a'));
  http::ClientResponse r = Send("POST", "/v1.0/users/u-cy/mailFolders/" + folder + "/messages",
                                crypto::Base64Encode("Subject: b\r\n\r\n" + std::string(700, 'b')),
                                {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(ErrorCode(r), "ApplicationThrottled");
  EXPECT_TRUE(http::FindHeader(r.headers, "Retry-After").has_value());
}

TEST_F(GraphSimTest, MoreThanFourConcurrentRequestsToOneMailboxAreThrottled) {
  server_->Stop();
  Start(GraphSimOptions{.mailbox_request_delay = absl::Milliseconds(400)});
  const std::string token = Token();
  std::atomic<int> ok{0}, throttled{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 7; ++i) {
    threads.emplace_back([&] {
      http::ClientResponse r = Send("GET", "/v1.0/users/u-cy/mailFolders/inbox");
      if (r.status == 200) ++ok;
      if (r.status == 429 && ErrorCode(r) == "ApplicationThrottled") ++throttled;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(ok.load(), 4);
  EXPECT_GE(throttled.load(), 1);
  EXPECT_EQ(ok + throttled, 7);
}

TEST(GraphSimProcessTest, ServesAZoomTenantsUsersAsAProcess) {
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> proc =
      testing::Subprocess::Start({.argv = {testing::BinPath("zarc-graph-sim"), "--zoom-users=5",
                                           "--zoom-seed=3", "--throttle-every=1000"}});
  ASSERT_TRUE(proc.ok()) << proc.status();
  absl::StatusOr<std::string> line = (*proc)->WaitForLine("listening on ", absl::Seconds(20));
  ASSERT_TRUE(line.ok()) << line.status() << (*proc)->output();
  const std::string base = line->substr(line->find("http://"));
  std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  http::ClientRequest request;
  request.url = std::string(absl::StripTrailingAsciiWhitespace(base)) + "/_sim/stats";
  absl::StatusOr<http::ClientResponse> stats = client->Send(request);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->status, 200);
  EXPECT_TRUE(absl::StrContains(stats->body, "\"user_queries\":0")) << stats->body;
  (*proc)->Signal(SIGTERM);
  absl::StatusOr<int> code = (*proc)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace zarc::graph_sim
