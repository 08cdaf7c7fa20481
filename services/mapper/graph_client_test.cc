#include "services/mapper/graph_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "simulators/graph/testing/graph_sim_fixture.h"

namespace zarc::mapper {
namespace {

using ::testing::HasSubstr;

// A clock that only moves when the client sleeps: Retry-After waits cost no test time.
struct FakeTime {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::vector<absl::Duration> sleeps;
  GraphClientOptions Options(absl::Duration patience = absl::Minutes(2)) {
    return {.patience = patience,
            .sleep = [this](absl::Duration d) { sleeps.push_back(d), now += d; },
            .now = [this] { return now; }};
  }
};

class GraphClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = graph_sim::testing::StartGraphSim(graph_sim::testing::CorpDirectory());
    ASSERT_NE(sim_, nullptr);
    tokens_ = std::make_unique<GraphTokenSource>(
        *http_, GraphCredentials{.login_url = sim_->url,
                                 .api_url = sim_->url,
                                 .tenant_id = "t1",
                                 .client_id = "zarc-graph-client",
                                 .client_secret = "zarc-graph-secret"});
  }
  GraphClient Client(GraphClientOptions options) {
    return GraphClient(*http_, *tokens_, sim_->url, std::move(options), nullptr);
  }

  std::unique_ptr<graph_sim::testing::RunningGraphSim> sim_;
  std::unique_ptr<http::HttpClient> http_ = http::NewHttpClient();
  std::unique_ptr<GraphTokenSource> tokens_;
  FakeTime time_;
};

TEST_F(GraphClientTest, FindsUsersByMailOrProxyAddressInAnyCase) {
  GraphClient client = Client(time_.Options());
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> one =
      client.FindUsers({"ANN@corp.test"});
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE((*one)[0].has_value());
  EXPECT_EQ((*one)[0]->id, "u-ann");
  EXPECT_EQ(sim_->sim->Stats().batches, 0) << "a single address needs no $batch";

  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> many = client.FindUsers(
      {"anna.old@CORP.TEST", "nobody@corp.test", "o'brien@corp.test", "Bob@Corp.test"});
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), 4u);
  ASSERT_TRUE((*many)[0].has_value());
  EXPECT_EQ((*many)[0]->mail, "Ann@corp.test");
  EXPECT_FALSE((*many)[1].has_value());
  EXPECT_FALSE((*many)[2].has_value()) << "a quote in an address is escaped, not a syntax error";
  ASSERT_TRUE((*many)[3].has_value());
  EXPECT_FALSE((*many)[3]->account_enabled);
  EXPECT_EQ(sim_->sim->Stats().batches, 1);
}

TEST_F(GraphClientTest, BatchesNewAddressesTwentyAtMost) {
  GraphClient client = Client(time_.Options());
  std::vector<std::string> addresses;
  for (int i = 0; i < 45; ++i) addresses.push_back(absl::StrCat("user", i, "@corp.test"));
  addresses.push_back("cy@corp.test");
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> found = client.FindUsers(addresses);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->back().has_value());
  const graph_sim::GraphSimStats stats = sim_->sim->Stats();
  EXPECT_EQ(stats.batches, 3);
  EXPECT_EQ(stats.max_batch_size, 20);
  EXPECT_EQ(stats.user_queries, 46);
}

TEST_F(GraphClientTest, SurvivesThrottlingOfEveryThirdRequestHonouringRetryAfter) {
  sim_->sim->SetThrottling(3, 0, 2);
  GraphClient client = Client(time_.Options());
  std::vector<std::string> addresses = {"ann@corp.test", "cy@corp.test",       "dee@corp.test",
                                        "bob@corp.test", "anna.old@corp.test", "x@corp.test",
                                        "y@corp.test"};
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> found = client.FindUsers(addresses);
  ASSERT_TRUE(found.ok()) << found.status();
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE((*found)[i].has_value()) << addresses[i];
  EXPECT_GT(sim_->sim->Stats().throttled, 0);
  ASSERT_FALSE(time_.sleeps.empty());
  EXPECT_EQ(time_.sleeps[0], absl::Seconds(2)) << "the wait is the sim's Retry-After";
  // Single lookups are throttled too (the sim counts every request).
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<std::vector<std::optional<DirectoryUser>>> one =
        client.FindUsers({"cy@corp.test"});
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ((*one)[0]->id, "u-cy");
  }
}

TEST_F(GraphClientTest, GivesUpWithUnavailableWhenThrottledBeyondPatience) {
  sim_->sim->SetThrottling(1, 0, 5);
  GraphClient client = Client(time_.Options(absl::Seconds(12)));
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> found =
      client.FindUsers({"ann@corp.test", "cy@corp.test"});
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kUnavailable) << found.status();
  EXPECT_EQ(time_.sleeps.size(), 2u);
}

TEST_F(GraphClientTest, AWrongSecretSaysWhichSettingsToCheck) {
  GraphTokenSource bad(*http_, GraphCredentials{.login_url = sim_->url,
                                                .api_url = sim_->url,
                                                .tenant_id = "t1",
                                                .client_id = "zarc-graph-client",
                                                .client_secret = "wrong-secret"});
  GraphClient client(*http_, bad, sim_->url, time_.Options(), nullptr);
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> found =
      client.FindUsers({"a@corp.test"});
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(found.status().message(), HasSubstr("graph.client_secret"));
  EXPECT_THAT(found.status().message(), ::testing::Not(HasSubstr("wrong-secret")));
}

// A poison address (Graph answers its own request of the $batch 400) used to fail the whole
// lookup, and so block its partition for ever; now only that address is refused.
TEST_F(GraphClientTest, APerAddressRefusalInsideBatchConcernsThatAddressAlone) {
  sim_->sim->SetAddressFaults({{"poison@corp.test", 400}, {"gone@corp.test", 404}});
  GraphClient client = Client(time_.Options());
  std::vector<std::string> refused;
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> found = client.FindUsers(
      {"ann@corp.test", "poison@corp.test", "cy@corp.test", "gone@corp.test"}, &refused);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 4u);
  ASSERT_EQ(refused.size(), 4u);
  EXPECT_TRUE((*found)[0].has_value());
  EXPECT_TRUE(refused[0].empty());
  EXPECT_FALSE((*found)[1].has_value());
  EXPECT_THAT(refused[1], HasSubstr("poison@corp.test"));
  EXPECT_THAT(refused[1], HasSubstr("HTTP 400"));
  EXPECT_THAT(refused[1], HasSubstr("Request_BadRequest"));
  EXPECT_TRUE((*found)[2].has_value());
  EXPECT_THAT(refused[3], HasSubstr("HTTP 404"));
  EXPECT_EQ(sim_->sim->Stats().batches, 1);
  EXPECT_TRUE(time_.sleeps.empty()) << "a refusal is not retried";

  // The same for a single lookup (no $batch).
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> one =
      client.FindUsers({"poison@corp.test"}, &refused);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE((*one)[0].has_value());
  EXPECT_THAT(refused[0], HasSubstr("HTTP 400"));

  // A caller that cannot take a refusal per address gets an error naming it.
  const absl::Status whole = client.FindUsers({"ann@corp.test", "poison@corp.test"}).status();
  EXPECT_EQ(whole.code(), absl::StatusCode::kFailedPrecondition) << whole;
  EXPECT_THAT(whole.message(), HasSubstr("poison@corp.test"));
}

// 403 is about the address only when the same $batch proves the credential works; otherwise it
// is the app's permissions: the item waits (UNAVAILABLE), never loses its recipients.
TEST_F(GraphClientTest, A403IsTheAddressesOnlyWhenOtherLookupsOfTheBatchSucceed) {
  sim_->sim->SetAddressFaults({{"hidden@corp.test", 403}, {"ann@corp.test", 403}});
  GraphClient client = Client(time_.Options());
  std::vector<std::string> refused;
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> found =
      client.FindUsers({"hidden@corp.test", "cy@corp.test"}, &refused);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(refused[0], HasSubstr("HTTP 403"));
  EXPECT_TRUE((*found)[1].has_value());

  const absl::Status all_denied =
      client.FindUsers({"hidden@corp.test", "ann@corp.test"}, &refused).status();
  EXPECT_EQ(all_denied.code(), absl::StatusCode::kUnavailable) << all_denied;
  EXPECT_THAT(all_denied.message(), HasSubstr("User.Read.All"));
  const absl::Status single = client.FindUsers({"hidden@corp.test"}, &refused).status();
  EXPECT_EQ(single.code(), absl::StatusCode::kUnavailable) << single;
}

TEST_F(GraphClientTest, ListsEveryGroupMember) {
  GraphClient client = Client(time_.Options());
  absl::StatusOr<std::set<std::string>> members = client.GroupMemberIds("g-scope");
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(*members, (std::set<std::string>{"u-ann", "u-bob", "u-cy"}));
  EXPECT_EQ(client.GroupMemberIds("no-such-group").status().code(), absl::StatusCode::kNotFound);
}

// Answers every request with one page of group members whose nextLink is `next_link`, and
// remembers where each request went and whether it carried a token.
class OnePageHttp final : public http::HttpClient {
 public:
  explicit OnePageHttp(std::string next_link) : next_link_(std::move(next_link)) {}
  absl::StatusOr<http::ClientResponse> Send(const http::ClientRequest& request) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request.url);
    if (http::FindHeader(request.headers, "Authorization")) authorized_.push_back(request.url);
    const std::string link = requests_.size() == 1 ? next_link_ : "";
    return http::ClientResponse{
        .status = 200,
        .body = absl::StrCat(R"({"value":[{"id":"u-)", requests_.size(), R"("}])",
                             link.empty() ? "" : absl::StrCat(R"(,"@odata.nextLink":")", link, "\""),
                             "}")};
  }
  absl::StatusOr<http::ClientResponse> SendStreaming(const http::ClientRequest&,
                                                     io::ByteSink&) override {
    return absl::UnimplementedError("not used");
  }
  std::vector<std::string> authorized() {
    absl::MutexLock lock(&mu_);
    return authorized_;
  }

 private:
  const std::string next_link_;
  absl::Mutex mu_;
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> authorized_ ABSL_GUARDED_BY(mu_);
};

TEST_F(GraphClientTest, NextLinkOutsideTheConfiguredGraphIsNotFollowedWithTheToken) {
  for (const std::string host :
       {"https://graph.example.evil.test", "http://graph.example", "https://graph.example:8443"}) {
    OnePageHttp http(host + "/v1.0/groups/g/members?$skiptoken=SECRET-SKIPTOKEN");
    GraphClient client(http, *tokens_, "https://graph.example", time_.Options(), nullptr);
    absl::StatusOr<std::set<std::string>> members = client.GroupMemberIds("g");
    ASSERT_FALSE(members.ok()) << host;
    EXPECT_EQ(members.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(members.status().message(), HasSubstr(host)) << "names the link's origin";
    EXPECT_THAT(members.status().message(), HasSubstr("graph.api_url"));
    EXPECT_THAT(members.status().message(), ::testing::Not(HasSubstr("SECRET-SKIPTOKEN")));
    EXPECT_EQ(http.authorized().size(), 1u) << "only the first page went out with the token";
  }
}

TEST_F(GraphClientTest, NextLinkOnTheConfiguredGraphIsFollowed) {
  OnePageHttp http("HTTPS://Graph.Example:443/v1.0/groups/g/members?$skiptoken=2");
  GraphClient client(http, *tokens_, "https://graph.example", time_.Options(), nullptr);
  absl::StatusOr<std::set<std::string>> members = client.GroupMemberIds("g");
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(*members, (std::set<std::string>{"u-1", "u-2"}));
}

TEST(GraphJsonTest, TruncatedOrMistypedUserAnswersAreErrorsOrNoUserNeverACrash) {
  const std::string body =
      R"({"@odata.count":1,"value":[{"id":"u-1","mail":"alice@example.com",)"
      R"("proxyAddresses":["SMTP:alice@example.com"],"accountEnabled":true}]})";
  absl::StatusOr<std::optional<DirectoryUser>> whole = ParseUserLookup(body, "alice@example.com");
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_TRUE(whole->has_value());
  for (size_t n = 0; n < body.size(); ++n) {
    absl::StatusOr<std::optional<DirectoryUser>> cut =
        ParseUserLookup(body.substr(0, n), "alice@example.com");
    // Never a user made up from half an answer: a truncation is an error (the lookup is retried),
    // never "not found", which would drop the participant.
    ASSERT_FALSE(cut.ok()) << "accepted a Graph answer cut at " << n << " bytes";
    EXPECT_THAT(cut.status().message(), HasSubstr("Graph")) << cut.status();
  }
  for (const std::string& bad : std::vector<std::string>{R"({"value":5})", R"({"value":[5,null,"x",{"mail":["a"]},{"mail":"alice@example.com"}]})", "[]", "null",
        std::string(100000, '[') + std::string(100000, ']'), "{\"value\":[\"\xff\xfe\"]}"}) {
    absl::StatusOr<std::optional<DirectoryUser>> r = ParseUserLookup(bad, "alice@example.com");
    EXPECT_TRUE(!r.ok() || !r->has_value()) << bad.substr(0, 80);
  }
}

}  // namespace
}  // namespace zarc::mapper
