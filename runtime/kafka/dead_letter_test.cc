#include "runtime/kafka/dead_letter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"

namespace zarc::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

Record Consumed() {
  Record r;
  r.topic = "zarc.meetings";
  r.partition = 7;
  r.offset = 1234;
  r.key = "meeting-uuid";
  r.value = std::string("\x0a\x03\x00\xff", 4);
  r.headers = {{"zarc-event", "zarc.v1.MeetingCaptured"}, {"traceparent", "00-ab-cd-01"}};
  return r;
}

// What a dead letter looks like when read back from the topic at `partition`/`offset`.
Record AsStored(const OutgoingRecord& out, int32_t partition, int64_t offset) {
  Record r;
  r.topic = out.topic;
  r.partition = partition;
  r.offset = offset;
  r.key = out.key;
  r.value = out.value;
  r.headers = out.headers;
  return r;
}

TEST(DeadLetterTest, CarriesTheOriginalAndWhyWhenAndWhere) {
  const absl::Time first = absl::FromUnixSeconds(1780000000);
  const absl::Time now = first + absl::Minutes(3);
  const OutgoingRecord letter = MakeDeadLetter(
      "zarc.dead-letter", Consumed(),
      {"converter", absl::InvalidArgumentError("chat.txt line 4: no tab after the time"), 5, first},
      now);
  EXPECT_EQ(letter.topic, "zarc.dead-letter");
  EXPECT_EQ(letter.key, "meeting-uuid");
  EXPECT_EQ(letter.value, Consumed().value);

  absl::StatusOr<DeadLetter> d = ParseDeadLetter(AsStored(letter, 2, 41));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->id, "2-41");
  EXPECT_EQ(d->stage, "converter");
  EXPECT_EQ(d->error, "chat.txt line 4: no tab after the time");
  EXPECT_EQ(d->error_code, "INVALID_ARGUMENT");
  EXPECT_EQ(d->attempts, 5);
  EXPECT_EQ(d->first_failure, first);
  EXPECT_EQ(d->dead_lettered_at, now);
  EXPECT_EQ(d->source_topic, "zarc.meetings");
  EXPECT_EQ(d->source_partition, 7);
  EXPECT_EQ(d->source_offset, 1234);
  EXPECT_TRUE(d->parked());
  // The original exactly as the stage consumed it: what a replay re-submits.
  EXPECT_EQ(d->original.topic, "zarc.meetings");
  EXPECT_EQ(d->original.key, "meeting-uuid");
  EXPECT_EQ(d->original.value, Consumed().value);
  EXPECT_THAT(d->original.headers, ElementsAre(Pair("zarc-event", "zarc.v1.MeetingCaptured"),
                                               Pair("traceparent", "00-ab-cd-01")));
}

TEST(DeadLetterTest, FirstFailureDefaultsToNowAndLongErrorsAreCut) {
  const absl::Time now = absl::FromUnixSeconds(1780000000);
  const std::string long_error(5000, 'x');
  const OutgoingRecord letter = MakeDeadLetter("zarc.dead-letter", Consumed(),
                                               {"mapper", absl::InternalError(long_error), 1}, now);
  absl::StatusOr<DeadLetter> d = ParseDeadLetter(AsStored(letter, 0, 0));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->first_failure, now);
  EXPECT_LE(d->error.size(), kDeadLetterMaxErrorBytes + 3);
  EXPECT_GT(d->error.size(), 100u);
}

TEST(DeadLetterTest, ARecordWithoutSourceIsNotADeadLetter) {
  Record r = Consumed();
  r.topic = "zarc.dead-letter";
  const absl::Status s = ParseDeadLetter(r).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), ::testing::HasSubstr("7-1234"));
  const OutgoingRecord marker = MakeReplayMarker("zarc.dead-letter", {"0-1", "2-5"});
  EXPECT_FALSE(ParseDeadLetter(AsStored(marker, 0, 9)).ok());
  std::optional<ReplayMarker> m = ParseReplayMarker(AsStored(marker, 0, 9));
  ASSERT_TRUE(m.has_value());
  EXPECT_THAT(m->ids, ElementsAre("0-1", "2-5"));
  EXPECT_FALSE(ParseReplayMarker(r).has_value());
}

TEST(DeadLetterTest, ReadDeadLettersMarksWhatWasReplayed) {
  absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster =
      EmbeddedCluster::Start(1, {{std::string(kDeadLetterTopic), 1}});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const KafkaConfig config = testing::FastTestConfig((*cluster)->bootstrap_servers());
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  const DeadLetterCause cause{"importer", absl::DataLossError("message blob SHA-256 differs"), 5};
  ASSERT_TRUE((*producer)
                  ->ProduceAndWait({MakeDeadLetter(kDeadLetterTopic, Consumed(), cause),
                                    MakeDeadLetter(kDeadLetterTopic, Consumed(), cause),
                                    MakeReplayMarker(kDeadLetterTopic, {"0-1"})},
                                   absl::Seconds(20))
                  .ok());
  absl::StatusOr<std::vector<DeadLetter>> letters = ReadDeadLetters(config, absl::Seconds(20));
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_EQ(letters->size(), 2u);
  EXPECT_EQ((*letters)[0].id, "0-0");
  EXPECT_TRUE((*letters)[0].parked());
  EXPECT_EQ((*letters)[1].id, "0-1");
  EXPECT_FALSE((*letters)[1].parked());
  EXPECT_EQ((*letters)[1].stage, "importer");
}

}  // namespace
}  // namespace zarc::kafka
