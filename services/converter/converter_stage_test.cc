#include "services/converter/converter_stage.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/kafka/topics.h"
#include "runtime/testing/subprocess.h"

namespace zarc::converter {
namespace {

using ::testing::HasSubstr;

class ConverterStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = blob::OpenBlobStore({.url = "file://" + dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  zarc::v1::Artifact Stage(const std::string& bytes, zarc::v1::ArtifactKind kind,
                           const std::string& file_name) {
    io::StringSource source(bytes);
    absl::StatusOr<blob::BlobInfo> info =
        blob::PutContentAddressed(*store_, "staging/sha256", source, {});
    EXPECT_TRUE(info.ok()) << info.status();
    zarc::v1::Artifact a;
    a.set_file_id(file_name);
    a.set_kind(kind);
    a.set_file_name(file_name);
    a.mutable_blob()->set_name(info->name);
    a.mutable_blob()->set_size(info->size);
    a.mutable_blob()->set_sha256(info->sha256);
    a.mutable_blob()->set_uri(store_->Uri(info->name));
    return a;
  }

  zarc::v1::MeetingCaptured Meeting() {
    zarc::v1::MeetingCaptured m;
    m.mutable_meeting()->set_account_id("acct");
    m.mutable_meeting()->set_uuid("/u1//x==");
    m.mutable_meeting()->set_id(123);
    m.mutable_meeting()->set_topic("Quarterly review");
    m.mutable_meeting()->set_host_email("host@corp.example");
    m.mutable_meeting()->mutable_start_time()->set_seconds(1709546400);
    m.mutable_meeting()->mutable_end_time()->set_seconds(1709550000);
    m.set_version(2);
    auto* p = m.add_participants();
    p->set_name("Ana");
    p->set_email("ana@corp.example");
    *m.add_artifacts() = Stage("00:00:05\tAna:\thello\n", zarc::v1::ARTIFACT_KIND_CHAT_TXT, "chat.txt");
    *m.add_artifacts() = Stage(std::string(3'000'000, 'v'), zarc::v1::ARTIFACT_KIND_VIDEO, "video.mp4");
    return m;
  }

  testing::TempDir dir_;
  std::unique_ptr<blob::BlobStore> store_;
};

TEST_F(ConverterStageTest, RendersIntoTheStoreAndListsOversizedArtifacts) {
  ConverterStage stage(*store_, RenderOptions{.message_size_limit = 1'000'000}, nullptr);
  absl::StatusOr<zarc::v1::MessageRendered> out = stage.Convert(Meeting());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item_id(), "acct//u1//x==/v2");
  EXPECT_EQ(out->message_id(), MessageIdFor("acct", "/u1//x==", 2, "zarc.archive"));
  EXPECT_THAT(out->email_addresses(), ::testing::Contains("ana@corp.example"));
  EXPECT_THAT(out->email_addresses(), ::testing::Contains("host@corp.example"));
  ASSERT_EQ(out->artifacts_size(), 2);
  int attached = 0;
  for (const auto& a : out->artifacts()) attached += a.attached();
  EXPECT_EQ(attached, 1);  // the 3 MB video does not fit in 1 MB: kept out of line, listed

  absl::StatusOr<blob::BlobInfo> stored = store_->Stat(out->message().name());
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->sha256, out->message().sha256());
  EXPECT_EQ(stored->size, out->message().size());
  auto source = store_->Open(out->message().name());
  std::string message = *io::ReadAll(**source, 10 << 20);
  EXPECT_THAT(message, HasSubstr("Message-ID: <" + out->message_id() + ">"));
  // The plain-text body (base64 in the message) lists the video with its SHA-256 and location.
  const size_t part = message.find("Content-Type: text/plain");
  ASSERT_NE(part, std::string::npos);
  const size_t start = message.find("\r\n\r\n", part) + 4;
  std::string encoded = message.substr(start, message.find("\r\n--", start) - start);
  std::erase(encoded, '\r');
  std::erase(encoded, '\n');
  absl::StatusOr<std::string> body = crypto::Base64Decode(encoded);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr(Meeting().artifacts(1).blob().sha256()));
  EXPECT_THAT(*body, HasSubstr(Meeting().artifacts(1).blob().uri()));
}

TEST_F(ConverterStageTest, ReplayingAnEventPublishesTheSameMessage) {
  ConverterStage stage(*store_, RenderOptions{}, nullptr);
  const zarc::v1::MeetingCaptured meeting = Meeting();
  kafka::Record record{.topic = "zarc.meetings", .value = meeting.SerializeAsString()};
  auto first = stage.Handle(record);
  auto second = stage.Handle(record);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].topic, kafka::kMessagesTopic);
  EXPECT_EQ((*first)[0].key, "/u1//x==");
  EXPECT_EQ((*first)[0].value, (*second)[0].value);
  auto listed = store_->List("messages/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
}

TEST_F(ConverterStageTest, MissingStagedArtifactIsAnErrorAndNothingIsWritten) {
  ConverterStage stage(*store_, RenderOptions{}, nullptr);
  zarc::v1::MeetingCaptured meeting = Meeting();
  meeting.mutable_artifacts(0)->mutable_blob()->set_name("staging/sha256/nope");
  absl::StatusOr<zarc::v1::MessageRendered> out = stage.Convert(meeting);
  EXPECT_FALSE(out.ok());
  auto listed = store_->List("messages/");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_F(ConverterStageTest, GarbageRecordIsRefusedAsInvalid) {
  ConverterStage stage(*store_, RenderOptions{}, nullptr);
  auto out = stage.Handle(kafka::Record{.topic = "zarc.meetings", .value = "\xff\xfe not proto"});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace zarc::converter
