#include "services/mapper/resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "runtime/testing/subprocess.h"
#include "services/mapper/cache.h"
#include "services/mapper/custom_mapping.h"
#include "services/mapper/graph_client.h"
#include "simulators/graph/testing/graph_sim_fixture.h"

namespace zarc::mapper {
namespace {

using ::testing::HasSubstr;
using zarc::v1::AddressResolution;

class ResolverTest : public ::testing::Test {
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
    graph_ =
        std::make_unique<GraphClient>(*http_, *tokens_, sim_->url, GraphClientOptions{}, nullptr);
    cache_ = std::make_unique<LookupCache>(
        CacheOptions{.positive_ttl = absl::Hours(24), .negative_ttl = absl::Hours(1)}, nullptr,
        [this] { return now_; });
  }

  std::unique_ptr<DirectoryResolver> Make(ResolverOptions options,
                                          CustomMapping* mapping = nullptr) {
    if (options.tenant_domains.empty()) options.tenant_domains = {"corp.test"};
    return std::make_unique<DirectoryResolver>(std::move(options), mapping, cache_.get(),
                                               graph_.get(), nullptr);
  }

  std::vector<AddressResolution> Resolve(Resolver& r, std::vector<std::string> addresses) {
    absl::StatusOr<std::vector<AddressResolution>> out = r.Resolve(addresses);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : std::vector<AddressResolution>{};
  }

  std::unique_ptr<graph_sim::testing::RunningGraphSim> sim_;
  std::unique_ptr<http::HttpClient> http_ = http::NewHttpClient();
  std::unique_ptr<GraphTokenSource> tokens_;
  std::unique_ptr<GraphClient> graph_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<LookupCache> cache_;
};

TEST_F(ResolverTest, MatchesMailAndProxyAddressesInAnyCase) {
  auto resolver = Make({});
  std::vector<AddressResolution> r = Resolve(*resolver, {"ANN@Corp.Test", "anna.old@corp.test"});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].rule(), zarc::v1::MAPPING_RULE_MAIL);
  EXPECT_EQ(r[0].mailbox(), "ann@corp.test");
  EXPECT_EQ(r[0].mailbox_id(), "u-ann");
  EXPECT_EQ(r[1].rule(), zarc::v1::MAPPING_RULE_PROXY_ADDRESS);
  EXPECT_EQ(r[1].mailbox(), "ann@corp.test");
  EXPECT_THAT(r[1].reason(), HasSubstr("proxy address"));
}

TEST_F(ResolverTest, CustomMappingTakesPrecedenceOverGraph) {
  ::zarc::testing::TempDir dir;
  const std::string path = dir.path() + "/map.csv";
  std::ofstream(path) << "zoom_email,m365_address\nann@corp.test,cy@corp.test\n"
                         "guest@partner.test,dee@corp.test\n";
  absl::StatusOr<std::unique_ptr<CustomMapping>> mapping = CustomMapping::Open({.path = path});
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  auto resolver = Make({}, mapping->get());
  std::vector<AddressResolution> r = Resolve(*resolver, {"Ann@corp.test", "guest@partner.test"});
  EXPECT_EQ(r[0].rule(), zarc::v1::MAPPING_RULE_CUSTOM_MAPPING);
  EXPECT_EQ(r[0].mailbox(), "cy@corp.test");
  EXPECT_EQ(r[0].mailbox_id(), "u-cy");
  EXPECT_EQ(r[1].rule(), zarc::v1::MAPPING_RULE_CUSTOM_MAPPING)
      << "a mapping row wins over the tenant-domain check";
  EXPECT_EQ(r[1].mailbox(), "dee@corp.test");
  EXPECT_EQ(sim_->sim->Stats().address_lookups.count("ann@corp.test"), 0u)
      << "Graph is not asked about a mapped address";
}

TEST_F(ResolverTest, RecordsExternalNotFoundDisabledAndNoMailboxWithReasons) {
  auto resolver = Make({});
  std::vector<AddressResolution> r =
      Resolve(*resolver, {"someone@partner.test", "ghost@corp.test", "bob@corp.test",
                          "nomail@corp.test", "not-an-address"});
  EXPECT_EQ(r[0].rule(), zarc::v1::MAPPING_RULE_EXTERNAL);
  EXPECT_THAT(r[0].reason(), HasSubstr("outside the tenant's domains"));
  EXPECT_EQ(r[1].rule(), zarc::v1::MAPPING_RULE_NOT_FOUND);
  EXPECT_THAT(r[1].reason(), HasSubstr("no Microsoft 365 user"));
  EXPECT_EQ(r[2].rule(), zarc::v1::MAPPING_RULE_DISABLED);
  EXPECT_THAT(r[2].reason(), HasSubstr("disabled"));
  EXPECT_EQ(r[3].rule(), zarc::v1::MAPPING_RULE_DISABLED);
  EXPECT_THAT(r[3].reason(), HasSubstr("no mailbox"));
  EXPECT_EQ(r[4].rule(), zarc::v1::MAPPING_RULE_NOT_FOUND);
  for (const AddressResolution& x : r) EXPECT_TRUE(x.mailbox().empty()) << x.address();

  auto lenient = Make({.deliver_to_disabled = true});
  EXPECT_EQ(Resolve(*lenient, {"bob@corp.test"})[0].rule(), zarc::v1::MAPPING_RULE_MAIL);
}

TEST_F(ResolverTest, GroupScopeLeavesNonMembersOutOfScope) {
  auto resolver = Make({.group_id = "g-scope"});
  std::vector<AddressResolution> r = Resolve(*resolver, {"cy@corp.test", "dee@corp.test"});
  EXPECT_EQ(r[0].rule(), zarc::v1::MAPPING_RULE_MAIL);
  EXPECT_EQ(r[1].rule(), zarc::v1::MAPPING_RULE_OUT_OF_SCOPE);
  EXPECT_THAT(r[1].reason(), HasSubstr("g-scope"));
  Resolve(*resolver, {"cy@corp.test", "dee@corp.test"});
  EXPECT_EQ(sim_->sim->Stats().group_member_pages, 1) << "membership is cached";
}

TEST_F(ResolverTest, CacheAsksGraphOncePerAddressWithinItsTtlAndAgainAfter) {
  auto resolver = Make({});
  const std::vector<std::string> meeting = {"ann@corp.test", "cy@corp.test", "ghost@corp.test"};
  for (int i = 0; i < 5; ++i) Resolve(*resolver, meeting);
  graph_sim::GraphSimStats stats = sim_->sim->Stats();
  EXPECT_EQ(stats.address_lookups["ann@corp.test"], 1);
  EXPECT_EQ(stats.address_lookups["cy@corp.test"], 1);
  EXPECT_EQ(stats.address_lookups["ghost@corp.test"], 1);
  EXPECT_EQ(stats.batches, 1) << "three new addresses go in one $batch";
  EXPECT_EQ(cache_->hits(), 12);

  now_ += absl::Hours(2);  // past the negative TTL only
  Resolve(*resolver, meeting);
  stats = sim_->sim->Stats();
  EXPECT_EQ(stats.address_lookups["ghost@corp.test"], 2);
  EXPECT_EQ(stats.address_lookups["ann@corp.test"], 1);

  now_ += absl::Hours(23);  // past the positive TTL
  Resolve(*resolver, meeting);
  stats = sim_->sim->Stats();
  EXPECT_EQ(stats.address_lookups["ann@corp.test"], 2);
  EXPECT_EQ(stats.address_lookups["cy@corp.test"], 2);
}

TEST_F(ResolverTest, CsvOnlyModeDeliversInDomainAddressesToThemselvesWithoutGraph) {
  DirectoryResolver resolver({.mode = "csv-only", .tenant_domains = {"corp.test"}}, nullptr,
                             nullptr, nullptr, nullptr);
  std::vector<AddressResolution> r =
      Resolve(resolver, {"Someone@corp.test", "x@sub.corp.test", "y@partner.test"});
  EXPECT_EQ(r[0].rule(), zarc::v1::MAPPING_RULE_MAIL);
  EXPECT_EQ(r[0].mailbox(), "someone@corp.test");
  EXPECT_EQ(r[1].rule(), zarc::v1::MAPPING_RULE_MAIL) << "subdomains are the tenant's";
  EXPECT_EQ(r[2].rule(), zarc::v1::MAPPING_RULE_EXTERNAL);
  EXPECT_EQ(sim_->sim->Stats().graph_requests, 0);
}

TEST_F(ResolverTest, APoisonAddressIsNotDeliveredWithGraphsAnswerAndAskedAgainNextTime) {
  sim_->sim->SetAddressFaults({{"poison@corp.test", 400}});
  auto resolver = Make({});
  std::vector<AddressResolution> r =
      Resolve(*resolver, {"ann@corp.test", "Poison@corp.test", "cy@corp.test"});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].rule(), zarc::v1::MAPPING_RULE_MAIL);
  EXPECT_EQ(r[1].rule(), zarc::v1::MAPPING_RULE_NOT_FOUND);
  EXPECT_TRUE(r[1].mailbox().empty());
  EXPECT_THAT(r[1].reason(), HasSubstr("Graph refused the lookup of poison@corp.test (HTTP 400"));
  EXPECT_THAT(r[1].reason(), HasSubstr("not delivered to this address"));
  EXPECT_EQ(r[2].rule(), zarc::v1::MAPPING_RULE_MAIL);
  // Not cached as "no such user": once Graph takes the address, it is delivered to.
  Resolve(*resolver, {"poison@corp.test"});
  EXPECT_EQ(sim_->sim->Stats().address_lookups["poison@corp.test"], 2);
}

TEST_F(ResolverTest, GraphDownIsUnavailable) {
  sim_->server->Stop();
  GraphClient graph(*http_, *tokens_, sim_->url,
                    GraphClientOptions{.patience = absl::Milliseconds(300)}, nullptr);
  DirectoryResolver resolver({}, nullptr, nullptr, &graph, nullptr);
  absl::StatusOr<std::vector<AddressResolution>> r = resolver.Resolve({"ann@corp.test"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST(ZoomTenantResolverTest, EveryZoomUserResolvesAsTheGeneratedDirectorySays) {
  zoom_sim::TenantOptions options;
  options.users = 6;
  options.meetings = 0;
  const zoom_sim::Tenant tenant = zoom_sim::GenerateTenant(options);
  auto sim = graph_sim::testing::StartGraphSim(graph_sim::DirectoryForZoomTenant(tenant));
  ASSERT_NE(sim, nullptr);
  std::unique_ptr<http::HttpClient> http = http::NewHttpClient();
  GraphTokenSource tokens(*http, GraphCredentials{.login_url = sim->url,
                                                  .api_url = sim->url,
                                                  .tenant_id = "t",
                                                  .client_id = "zarc-graph-client",
                                                  .client_secret = "zarc-graph-secret"});
  GraphClient graph(*http, tokens, sim->url, {}, nullptr);
  DirectoryResolver resolver({.tenant_domains = {tenant.domain}}, nullptr, nullptr, &graph,
                             nullptr);
  std::vector<std::string> addresses;
  for (const zoom_sim::User& u : tenant.users) addresses.push_back(u.email);
  absl::StatusOr<std::vector<AddressResolution>> r = resolver.Resolve(addresses);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].rule(), zarc::v1::MAPPING_RULE_MAIL);
  EXPECT_EQ((*r)[1].rule(), zarc::v1::MAPPING_RULE_PROXY_ADDRESS);
  EXPECT_EQ((*r)[2].rule(), zarc::v1::MAPPING_RULE_MAIL);
  EXPECT_EQ((*r)[3].rule(), zarc::v1::MAPPING_RULE_MAIL);
  EXPECT_EQ((*r)[4].rule(), zarc::v1::MAPPING_RULE_DISABLED);
  EXPECT_THAT((*r)[4].reason(), HasSubstr("no mailbox"));
  EXPECT_EQ((*r)[5].rule(), zarc::v1::MAPPING_RULE_DISABLED);
  EXPECT_THAT((*r)[5].reason(), HasSubstr("is disabled"));
}

}  // namespace
}  // namespace zarc::mapper
