#include "services/mapper/mapper_app.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <fstream>
#include <map>
#include <sstream>

#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "runtime/kafka/topic_reader.h"
#include "runtime/kafka/topics.h"
#include "runtime/testing/app_certificate.h"
#include "runtime/testing/subprocess.h"
#include "simulators/graph/testing/graph_sim_fixture.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::mapper {
namespace {

MapperConfig GraphConfig(const std::string& sim_url) {
  absl::StatusOr<MapperConfig> config = MapperSchema().Load(config::Sources{
      .args = {"--graph.login_url=" + sim_url, "--graph.api_url=" + sim_url, "--graph.tenant_id=t1",
               "--graph.client_id=zarc-graph-client", "--graph.client_secret=zarc-graph-secret",
               "--mapper.tenant_domains=corp.test", "--kafka.brokers=127.0.0.1:1"}});
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : MapperConfig{};
}

// The mapper's control service on a real gRPC channel over loopback.
struct ControlServer {
  explicit ControlServer(grpc::Service* service) {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    server = builder.BuildAndStart();
    if (server == nullptr || port == 0) return;
    stub = zarc::v1::MapperControl::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<zarc::v1::MapperControl::Stub> stub;
};

TEST(MapperConfigTest, GraphModeNeedsCredentials) {
  const std::string brokers = "--kafka.brokers=127.0.0.1:1";
  absl::StatusOr<MapperConfig> config = MapperSchema().Load(config::Sources{.args = {brokers}});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("graph.client_secret"), absl::string_view::npos);
  EXPECT_TRUE(
      MapperSchema().Load(config::Sources{.args = {brokers, "--mapper.mode=csv-only"}}).ok());
  EXPECT_FALSE(
      MapperSchema()
          .Load(config::Sources{.args = {brokers, "--mapper.mode=csv-only", "--mapper.group_id=g"}})
          .ok());
}

TEST(MapperAppTest, ResolveAnswersOverARealGrpcChannel) {
  auto sim = graph_sim::testing::StartGraphSim(graph_sim::testing::CorpDirectory());
  ASSERT_NE(sim, nullptr);
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<MapperApp>> app =
      MapperApp::Create(GraphConfig(sim->url), &registry);
  ASSERT_TRUE(app.ok()) << app.status();

  ControlServer control((*app)->control_service());
  ASSERT_NE(control.stub, nullptr);
  zarc::v1::MapperControl::Stub* stub = control.stub.get();

  grpc::ClientContext ctx;
  zarc::v1::ResolveRequest request;
  for (const char* a :
       {"Anna.Old@corp.test", "guest@partner.test", "ghost@corp.test", "bob@corp.test"}) {
    request.add_addresses(a);
  }
  zarc::v1::ResolveResponse response;
  grpc::Status status = stub->Resolve(&ctx, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.results(0).rule(), zarc::v1::MAPPING_RULE_PROXY_ADDRESS);
  EXPECT_EQ(response.results(0).mailbox(), "ann@corp.test");
  EXPECT_EQ(response.results(1).rule(), zarc::v1::MAPPING_RULE_EXTERNAL);
  EXPECT_EQ(response.results(2).rule(), zarc::v1::MAPPING_RULE_NOT_FOUND);
  EXPECT_EQ(response.results(3).rule(), zarc::v1::MAPPING_RULE_DISABLED);
  for (const auto& r : response.results()) EXPECT_FALSE(r.reason().empty());

  grpc::ClientContext empty_ctx;
  zarc::v1::ResolveResponse empty;
  EXPECT_EQ(stub->Resolve(&empty_ctx, zarc::v1::ResolveRequest(), &empty).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  control.server->Shutdown();
}

// graph.client_certificate_file instead of a secret: the mapper's lookups run on a token the
// identity platform gave for a client assertion signed with the app's key.
TEST(MapperAppTest, ACertificateCredentialInsteadOfASecretResolvesAddresses) {
  zarc::testing::TempDir dir;
  ASSERT_TRUE(zarc::testing::MakeAppCertificate(dir.path(), "app").ok());
  std::ifstream crt(dir.path() + "/app.crt");
  std::stringstream pem;
  pem << crt.rdbuf();
  graph_sim::GraphSimOptions options;
  options.tenant_id = "t1";
  options.client_certificates_pem = {pem.str()};
  auto sim = graph_sim::testing::StartGraphSim(graph_sim::testing::CorpDirectory(), options);
  ASSERT_NE(sim, nullptr);
  const std::vector<std::string> common = {
      "--graph.login_url=" + sim->url, "--graph.api_url=" + sim->url, "--graph.tenant_id=t1",
      "--graph.client_id=zarc-graph-client", "--mapper.tenant_domains=corp.test",
      "--kafka.brokers=127.0.0.1:1"};
  auto load = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return MapperSchema().Load(config::Sources{.args = args});
  };
  // One credential, not both.
  absl::StatusOr<MapperConfig> both = load({"--graph.client_secret=zarc-graph-secret",
                                            "--graph.client_certificate_file=" + dir.path() + "/app.pem"});
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(std::string(both.status().message()), ::testing::HasSubstr("both set"));
  EXPECT_FALSE(load({"--graph.client_certificate_file=" + dir.path() + "/app.pem",
                     "--graph.client_assertion_algorithm=HS256"})
                   .ok());
  absl::StatusOr<MapperConfig> config =
      load({"--graph.client_certificate_file=" + dir.path() + "/app.pem"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->graph.client_assertion_algorithm, "PS256");
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<MapperApp>> app = MapperApp::Create(*config, &registry);
  ASSERT_TRUE(app.ok()) << app.status();
  ControlServer control((*app)->control_service());
  ASSERT_NE(control.stub, nullptr);
  zarc::v1::MapperControl::Stub* stub = control.stub.get();
  grpc::ClientContext ctx;
  zarc::v1::ResolveRequest request;
  request.add_addresses("cy@corp.test");
  zarc::v1::ResolveResponse response;
  grpc::Status status = stub->Resolve(&ctx, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).mailbox(), "cy@corp.test");
  EXPECT_EQ(sim->sim->Stats().tokens_by_certificate, 1);
  control.server->Shutdown();
}

zarc::v1::MessageRendered Item(const std::string& uuid, std::vector<std::string> addresses) {
  zarc::v1::MessageRendered m;
  m.set_item_id("acct/" + uuid + "/1");
  m.set_message_id(uuid + ".1@zarc.test");
  m.set_version(1);
  m.mutable_message()->set_uri("file:///staging/" + uuid + ".eml");
  m.mutable_meeting()->set_uuid(uuid);
  m.mutable_meeting()->set_host_email(addresses.empty() ? "" : addresses[0]);
  for (const std::string& a : addresses) m.add_email_addresses(a);
  return m;
}

// The mapper stage on the mock cluster, resolving against the Graph simulator.
struct RunningMapper {
  std::unique_ptr<graph_sim::testing::RunningGraphSim> sim;
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  kafka::KafkaConfig kafka;
  prometheus::Registry registry;
  std::unique_ptr<MapperApp> app;
  std::unique_ptr<kafka::Producer> producer;
};

void StartMapper(RunningMapper* m, std::map<std::string, int> refuse_address_lookups = {}) {
  m->sim = graph_sim::testing::StartGraphSim(graph_sim::testing::CorpDirectory());
  ASSERT_NE(m->sim, nullptr);
  m->sim->sim->SetAddressFaults(std::move(refuse_address_lookups));
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster =
      kafka::EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  m->cluster = *std::move(cluster);
  m->kafka = kafka::testing::FastTestConfig(m->cluster->bootstrap_servers());
  MapperConfig config = GraphConfig(m->sim->url);
  config.kafka = m->kafka;
  absl::StatusOr<std::unique_ptr<MapperApp>> app = MapperApp::Create(config, &m->registry);
  ASSERT_TRUE(app.ok()) << app.status();
  m->app = *std::move(app);
  ASSERT_TRUE(m->app->Start().ok());
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create(m->kafka, nullptr);
  ASSERT_TRUE(producer.ok()) << producer.status();
  m->producer = *std::move(producer);
}

TEST(MapperAppTest, TheStageMapsRenderedMessagesThroughKafka) {
  RunningMapper m;
  ASSERT_NO_FATAL_FAILURE(StartMapper(&m));
  const kafka::KafkaConfig& kafka = m.kafka;
  const zarc::v1::MessageRendered mapped =
      Item("m-1", {"ann@corp.test", "ANNA.OLD@corp.test", "cy@corp.test", "guest@partner.test"});
  const zarc::v1::MessageRendered unmapped = Item("m-2", {"guest@partner.test", "ghost@corp.test"});
  ASSERT_TRUE(m.producer
                  ->ProduceAndWait({{.topic = std::string(kafka::kMessagesTopic),
                                     .key = "m-1",
                                     .value = mapped.SerializeAsString()},
                                    {.topic = std::string(kafka::kMessagesTopic),
                                     .key = "m-2",
                                     .value = unmapped.SerializeAsString()}},
                                   absl::Seconds(10))
                  .ok());

  absl::StatusOr<std::vector<kafka::Record>> deliveries =
      kafka::testing::WaitForRecords(kafka, kafka::kDeliveriesTopic, 2, absl::Seconds(40));
  ASSERT_TRUE(deliveries.ok()) << deliveries.status();
  absl::StatusOr<std::vector<kafka::Record>> log =
      kafka::testing::WaitForRecords(kafka, kafka::kImportLogTopic, 1, absl::Seconds(20));
  ASSERT_TRUE(log.ok()) << log.status();
  m.app->Stop();

  ASSERT_EQ(deliveries->size(), 2u);
  std::map<std::string, zarc::v1::MailboxDelivery> by_key;
  for (const kafka::Record& r : *deliveries) {
    ASSERT_TRUE(by_key[r.key].ParseFromString(r.value));
  }
  ASSERT_EQ(by_key.count("ann@corp.test"), 1u);
  ASSERT_EQ(by_key.count("cy@corp.test"), 1u);
  EXPECT_EQ(by_key["ann@corp.test"].resolutions_size(), 2);
  EXPECT_EQ(by_key["ann@corp.test"].mailbox_id(), "u-ann");
  EXPECT_EQ(by_key["cy@corp.test"].fanout(), 2);
  ASSERT_EQ(by_key["cy@corp.test"].unmapped_size(), 1);
  EXPECT_EQ(by_key["cy@corp.test"].unmapped(0).rule(), zarc::v1::MAPPING_RULE_EXTERNAL);

  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].key, "acct/m-2/1");
  zarc::v1::ImportResult result;
  ASSERT_TRUE(result.ParseFromString((*log)[0].value));
  EXPECT_EQ(result.outcome(), zarc::v1::IMPORT_OUTCOME_FAILED);
  EXPECT_EQ(result.reason(), "no participant could be mapped");
  EXPECT_EQ(result.unmapped_size(), 2);
}

// Issue 13 item 3: every resolver error was UNAVAILABLE, so an item with one address Graph
// refuses inside $batch (400) was retried for ever and held up its partition. Now the address is
// not delivered to, with Graph's answer as the reason, and the item flows on to the others.
TEST(MapperAppTest, AnAddressGraphRefusesFlowsOnAsNotDeliveredWithTheReason) {
  RunningMapper m;
  ASSERT_NO_FATAL_FAILURE(StartMapper(&m, {{"poison@corp.test", 400}}));
  const kafka::KafkaConfig& kafka = m.kafka;
  ASSERT_TRUE(m.producer
                  ->ProduceAndWait({{.topic = std::string(kafka::kMessagesTopic),
                                     .key = "m-3",
                                     .value = Item("m-3", {"cy@corp.test", "poison@corp.test"})
                                                  .SerializeAsString()}},
                                   absl::Seconds(10))
                  .ok());
  absl::StatusOr<std::vector<kafka::Record>> deliveries =
      kafka::testing::WaitForRecords(kafka, kafka::kDeliveriesTopic, 1, absl::Seconds(40));
  m.app->Stop();
  ASSERT_TRUE(deliveries.ok()) << deliveries.status();
  ASSERT_EQ(deliveries->size(), 1u);
  zarc::v1::MailboxDelivery d;
  ASSERT_TRUE(d.ParseFromString((*deliveries)[0].value));
  EXPECT_EQ(d.mailbox(), "cy@corp.test");
  ASSERT_EQ(d.unmapped_size(), 1);
  EXPECT_EQ(d.unmapped(0).address(), "poison@corp.test");
  EXPECT_EQ(d.unmapped(0).rule(), zarc::v1::MAPPING_RULE_NOT_FOUND);
  EXPECT_THAT(d.unmapped(0).reason(), ::testing::HasSubstr("HTTP 400"));
  absl::StatusOr<std::vector<kafka::Record>> dead =
      kafka::ReadTopic(kafka, kafka::kDeadLetterTopic, absl::Seconds(10));
  ASSERT_TRUE(dead.ok()) << dead.status();
  EXPECT_TRUE(dead->empty());
}

}  // namespace
}  // namespace zarc::mapper
