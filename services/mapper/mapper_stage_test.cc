#include "services/mapper/mapper_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/ascii.h"
#include "runtime/kafka/topics.h"

namespace zarc::mapper {
namespace {

using zarc::v1::AddressResolution;

// A directory as a table: address -> (rule, mailbox, id).
class TableResolver final : public Resolver {
 public:
  void Add(const std::string& address, zarc::v1::MappingRule rule, const std::string& mailbox = "",
           const std::string& id = "") {
    AddressResolution r;
    r.set_address(address);
    r.set_rule(rule);
    r.set_mailbox(mailbox);
    r.set_mailbox_id(id);
    r.set_reason("because the table says so");
    table_[address] = r;
  }
  absl::StatusOr<std::vector<AddressResolution>> Resolve(
      const std::vector<std::string>& addresses) override {
    if (down) return absl::UnavailableError("Graph is down");
    std::vector<AddressResolution> out;
    for (const std::string& a : addresses) {
      auto it = table_.find(a);
      if (it != table_.end()) {
        out.push_back(it->second);
      } else {
        AddressResolution r;
        r.set_address(a);
        r.set_rule(zarc::v1::MAPPING_RULE_NOT_FOUND);
        r.set_reason("no Microsoft 365 user");
        out.push_back(r);
      }
    }
    return out;
  }
  bool down = false;

 private:
  std::map<std::string, AddressResolution> table_;
};

zarc::v1::MessageRendered Item(std::vector<std::string> addresses) {
  zarc::v1::MessageRendered m;
  m.set_item_id("acct/uuid-1/1");
  m.set_message_id("uuid-1.1@zarc.test");
  m.set_version(1);
  m.mutable_message()->set_uri("file:///staging/messages/uuid-1.eml");
  m.mutable_message()->set_size(1234);
  m.mutable_meeting()->set_host_email("Ann@corp.test");
  m.mutable_meeting()->mutable_start_time()->set_seconds(1700000000);
  m.mutable_meeting()->mutable_end_time()->set_seconds(1700003600);
  for (const std::string& a : addresses) m.add_email_addresses(a);
  m.add_artifacts()->set_attached(true);
  m.add_artifacts()->set_attached(false);
  return m;
}

std::vector<zarc::v1::MailboxDelivery> Deliveries(const std::vector<kafka::OutgoingRecord>& out) {
  std::vector<zarc::v1::MailboxDelivery> d;
  for (const kafka::OutgoingRecord& r : out) {
    if (r.topic != kafka::kDeliveriesTopic) continue;
    d.emplace_back().ParseFromString(r.value);
    EXPECT_EQ(r.key, d.back().mailbox()) << "deliveries are keyed by mailbox";
  }
  return d;
}

TEST(MapperStageTest, OneDeliveryPerPersonWithUnmappedAddressesOnEach) {
  TableResolver resolver;
  resolver.Add("ann@corp.test", zarc::v1::MAPPING_RULE_MAIL, "ann@corp.test", "u-ann");
  resolver.Add("anna.old@corp.test", zarc::v1::MAPPING_RULE_PROXY_ADDRESS, "ann@corp.test",
               "u-ann");
  resolver.Add("cy@corp.test", zarc::v1::MAPPING_RULE_MAIL, "cy@corp.test", "u-cy");
  resolver.Add("guest@partner.test", zarc::v1::MAPPING_RULE_EXTERNAL);
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> out =
      MapRenderedMessage(Item({"ann@corp.test", "Anna.Old@corp.test", "cy@corp.test",
                               "guest@partner.test", "ghost@corp.test"}),
                         resolver, {}, absl::Now());
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  std::vector<zarc::v1::MailboxDelivery> d = Deliveries(*out);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].mailbox(), "ann@corp.test");
  EXPECT_EQ(d[0].mailbox_id(), "u-ann");
  ASSERT_EQ(d[0].resolutions_size(), 2) << "two addresses of one person, one delivery";
  EXPECT_EQ(d[0].resolutions(1).rule(), zarc::v1::MAPPING_RULE_PROXY_ADDRESS);
  EXPECT_EQ(d[1].mailbox(), "cy@corp.test");
  for (const zarc::v1::MailboxDelivery& x : d) {
    EXPECT_EQ(x.item_id(), "acct/uuid-1/1");
    EXPECT_EQ(x.message_id(), "uuid-1.1@zarc.test");
    EXPECT_EQ(x.message().uri(), "file:///staging/messages/uuid-1.eml");
    EXPECT_EQ(x.fanout(), 2);
    EXPECT_EQ(x.artifacts_out_of_line(), 1);
    int listed = 0;
    for (const zarc::v1::ArtifactPlacement& a : x.artifacts()) listed += !a.attached();
    EXPECT_EQ(listed, 1);  // the placements travel with the delivery, for the importer's archive
    EXPECT_EQ(x.source_user(), "Ann@corp.test");
    EXPECT_EQ(x.version(), 1);
    ASSERT_EQ(x.unmapped_size(), 2);
    EXPECT_EQ(x.unmapped(0).address(), "guest@partner.test");
    EXPECT_EQ(x.unmapped(0).rule(), zarc::v1::MAPPING_RULE_EXTERNAL);
    EXPECT_EQ(x.unmapped(1).rule(), zarc::v1::MAPPING_RULE_NOT_FOUND);
    EXPECT_FALSE(x.unmapped(1).reason().empty());
  }
}

TEST(MapperStageTest, NoParticipantMappedFailsTheItemWhenFallbackIsOff) {
  TableResolver resolver;
  resolver.Add("guest@partner.test", zarc::v1::MAPPING_RULE_EXTERNAL);
  zarc::v1::MessageRendered item = Item({"guest@partner.test"});
  item.mutable_meeting()->set_host_email("");
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> out =
      MapRenderedMessage(item, resolver, {}, absl::FromUnixSeconds(1800000000));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].topic, kafka::kImportLogTopic);
  EXPECT_EQ((*out)[0].key, "acct/uuid-1/1");
  zarc::v1::ImportResult result;
  ASSERT_TRUE(result.ParseFromString((*out)[0].value));
  EXPECT_EQ(result.outcome(), zarc::v1::IMPORT_OUTCOME_FAILED);
  EXPECT_EQ(result.reason(), "no participant could be mapped");
  EXPECT_EQ(result.stage(), "mapper");
  EXPECT_EQ(result.fanout(), 0);
  EXPECT_EQ(result.meeting_start().seconds(), 1700000000);
  EXPECT_EQ(result.meeting_end().seconds(), 1700003600);
  EXPECT_EQ(result.message_id(), "uuid-1.1@zarc.test");
  ASSERT_EQ(result.unmapped_size(), 1);
  EXPECT_EQ(result.unmapped(0).rule(), zarc::v1::MAPPING_RULE_EXTERNAL);
}

TEST(MapperStageTest, NoParticipantMappedGoesToTheFallbackMailboxWhenOn) {
  TableResolver resolver;
  resolver.Add("archive@corp.test", zarc::v1::MAPPING_RULE_MAIL, "archive@corp.test", "u-arch");
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> out =
      MapRenderedMessage(Item({"guest@partner.test"}), resolver,
                         {.fallback_mailbox = "Archive@corp.test"}, absl::Now());
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<zarc::v1::MailboxDelivery> d = Deliveries(*out);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mailbox(), "archive@corp.test");
  EXPECT_EQ(d[0].mailbox_id(), "u-arch");
  ASSERT_EQ(d[0].resolutions_size(), 1);
  EXPECT_EQ(d[0].resolutions(0).rule(), zarc::v1::MAPPING_RULE_FALLBACK);
  EXPECT_EQ(d[0].fanout(), 1);
  EXPECT_EQ(d[0].unmapped_size(), 2) << "host and guest both reached no mailbox";
}

TEST(MapperStageTest, MalformedInputIsInvalidAndADirectoryOutageIsTransient) {
  TableResolver resolver;
  MapperStage stage(resolver, {}, nullptr);
  kafka::Record garbage{.topic = "zarc.messages",
                        .value = std::string("\x0a\x05"
                                             "ab",
                                             4)};
  EXPECT_EQ(stage.Handle(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  kafka::Record empty{.topic = "zarc.messages",
                      .value = zarc::v1::MessageRendered().SerializeAsString()};
  EXPECT_EQ(stage.Handle(empty).status().code(), absl::StatusCode::kInvalidArgument);

  resolver.down = true;
  kafka::Record good{.topic = "zarc.messages",
                     .value = Item({"ann@corp.test"}).SerializeAsString()};
  EXPECT_EQ(stage.Handle(good).status().code(), absl::StatusCode::kUnavailable);
}

TEST(MapperStageTest, ItemAddressesAreHostEmailPropertyAndParticipantsOnce) {
  zarc::v1::MessageRendered item = Item({"ann@corp.test", "cy@corp.test"});
  item.add_participants()->set_email("CY@corp.test");
  item.add_participants()->set_email("dee@corp.test");
  item.add_participants();  // a guest without an address
  EXPECT_EQ(ItemAddresses(item),
            (std::vector<std::string>{"ann@corp.test", "cy@corp.test", "dee@corp.test"}));
}

}  // namespace
}  // namespace zarc::mapper
