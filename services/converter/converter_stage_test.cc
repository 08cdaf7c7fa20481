#include "services/converter/converter_stage.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/escaping.h"
#include "runtime/blob/azure_blob_store.h"
#include "runtime/blob/azurite_fixture.h"
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

// A store that fails as a real one does while it is in trouble: Azure timing out or answering
// 403 AuthorizationFailure during a key rotation, a local volume answering EIO.
class FaultyStore final : public blob::BlobStore {
 public:
  explicit FaultyStore(blob::BlobStore& inner) : inner_(inner) {}
  absl::Status fail_create, fail_open, fail_read, fail_close;

  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> Create(absl::string_view name,
                                                           const blob::WriteOptions& o) override {
    if (!fail_create.ok()) return fail_create;
    auto w = inner_.Create(name, o);
    if (!w.ok() || fail_close.ok()) return w;
    return std::unique_ptr<blob::BlobWriter>(new FailingWriter(*std::move(w), fail_close));
  }
  absl::StatusOr<std::unique_ptr<io::ByteSource>> Open(absl::string_view name) override {
    if (!fail_open.ok()) return fail_open;
    auto r = inner_.Open(name);
    if (!r.ok() || fail_read.ok()) return r;
    return std::unique_ptr<io::ByteSource>(new FailingSource(fail_read));
  }
  absl::StatusOr<blob::BlobInfo> Stat(absl::string_view name) override { return inner_.Stat(name); }
  absl::StatusOr<std::vector<blob::BlobInfo>> List(absl::string_view p) override {
    return inner_.List(p);
  }
  absl::Status Delete(absl::string_view name) override { return inner_.Delete(name); }
  absl::Status Move(absl::string_view from, absl::string_view to) override {
    return inner_.Move(from, to);
  }
  std::string Uri(absl::string_view name) const override { return inner_.Uri(name); }

 private:
  struct FailingSource final : io::ByteSource {
    explicit FailingSource(absl::Status s) : status(std::move(s)) {}
    absl::StatusOr<size_t> Read(char*, size_t) override { return status; }
    absl::Status status;
  };
  struct FailingWriter final : blob::BlobWriter {
    FailingWriter(std::unique_ptr<blob::BlobWriter> w, absl::Status s)
        : inner(std::move(w)), status(std::move(s)) {}
    absl::Status Write(absl::string_view bytes) override { return inner->Write(bytes); }
    absl::Status Close() override { return status; }
    const blob::BlobInfo& info() const override { return inner->info(); }
    std::unique_ptr<blob::BlobWriter> inner;
    absl::Status status;
  };
  blob::BlobStore& inner_;
};

// Issue 13 item 5: these were dead-lettered after about 3 s; they are the store's trouble, so
// the record must wait (UNAVAILABLE: retried for as long as it takes, never dead-lettered).
TEST_F(ConverterStageTest, StoreTroubleIsTransientNeverTheItemsFault) {
  const zarc::v1::MeetingCaptured meeting = Meeting();
  const kafka::Record record{.topic = "zarc.meetings", .value = meeting.SerializeAsString()};
  const absl::Status azure_timeout = absl::DeadlineExceededError(
      "GET http://127.0.0.1:10000/devstoreaccount1/zarc-staging/staging/sha256/ab timed out");
  const absl::Status key_rotation = absl::PermissionDeniedError(
      "Get Blob staging/sha256/ab answered HTTP 403 AuthorizationFailure: This request is not "
      "authorized to perform this operation");
  const absl::Status eio = absl::InternalError("cannot read /data/staging/sha256/ab: Input/output error");
  struct Case {
    const char* what;
    absl::Status FaultyStore::*knob;
    absl::Status fault;
  };
  for (const Case& c : {Case{"open times out", &FaultyStore::fail_open, azure_timeout},
                        Case{"open refused (key rotation)", &FaultyStore::fail_open, key_rotation},
                        Case{"read EIO", &FaultyStore::fail_read, eio},
                        Case{"create refused", &FaultyStore::fail_create, key_rotation},
                        Case{"commit EIO", &FaultyStore::fail_close, eio},
                        Case{"commit times out", &FaultyStore::fail_close, azure_timeout}}) {
    FaultyStore faulty(*store_);
    faulty.*c.knob = c.fault;
    ConverterStage stage(faulty, RenderOptions{}, nullptr);
    auto out = stage.Handle(record);
    ASSERT_FALSE(out.ok()) << c.what;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable) << c.what << ": " << out.status();
    EXPECT_THAT(out.status().message(), HasSubstr(std::string(c.fault.message()))) << c.what;
  }
  // Once the store is well again the same record renders.
  ConverterStage stage(*store_, RenderOptions{}, nullptr);
  EXPECT_TRUE(stage.Handle(record).ok());
}

TEST_F(ConverterStageTest, OnlyBadInputIsAnErrorThatIsDeadLettered) {
  ConverterStage stage(*store_, RenderOptions{}, nullptr);
  // An artifact whose stored bytes are not what the event says (SHA-256 differs).
  zarc::v1::MeetingCaptured tampered = Meeting();
  tampered.mutable_artifacts(0)->mutable_blob()->set_sha256(std::string(64, '0'));
  auto sha = stage.Handle({.topic = "zarc.meetings", .value = tampered.SerializeAsString()});
  ASSERT_FALSE(sha.ok());
  EXPECT_FALSE(absl::IsUnavailable(sha.status()) || absl::IsResourceExhausted(sha.status()))
      << sha.status();
  // A staged artifact that is not there.
  zarc::v1::MeetingCaptured missing = Meeting();
  missing.mutable_artifacts(0)->mutable_blob()->set_name("staging/sha256/nope");
  auto gone = stage.Handle({.topic = "zarc.meetings", .value = missing.SerializeAsString()});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound) << gone.status();
}

// The same against Azurite: a key rotated under the converter (Azurite answers 403
// AuthorizationFailure) and then Azurite stopped are waits, never the item's fault.
TEST(ConverterAzuriteTest, ARotatedKeyAndAStoppedAzuriteAreTransient) {
  absl::StatusOr<std::unique_ptr<blob::AzuriteProcess>> azurite = blob::AzuriteProcess::Start();
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  blob::AzureBlobOptions options{.account = blob::kAzuriteAccount,
                                 .container = "zarc-staging",
                                 .endpoint = (*azurite)->endpoint(),
                                 .shared_key = blob::kAzuriteKey};
  absl::StatusOr<std::unique_ptr<blob::AzureBlobStore>> store = blob::AzureBlobStore::Connect(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->EnsureContainer().ok());
  const std::string chat = "00:00:05\tAna:\thello\n";
  io::StringSource source(chat);
  absl::StatusOr<blob::BlobInfo> staged =
      blob::PutContentAddressed(**store, "staging/sha256", source, {});
  ASSERT_TRUE(staged.ok()) << staged.status();
  zarc::v1::MeetingCaptured m;
  m.mutable_meeting()->set_account_id("acct");
  m.mutable_meeting()->set_uuid("azure-uuid");
  m.mutable_meeting()->set_host_email("host@corp.example");
  m.set_version(1);
  zarc::v1::Artifact* a = m.add_artifacts();
  a->set_file_id("chat");
  a->set_kind(zarc::v1::ARTIFACT_KIND_CHAT_TXT);
  a->set_file_name("chat.txt");
  a->mutable_blob()->set_name(staged->name);
  a->mutable_blob()->set_size(staged->size);
  a->mutable_blob()->set_sha256(staged->sha256);
  const kafka::Record record{.topic = "zarc.meetings", .value = m.SerializeAsString()};

  blob::AzureBlobOptions rotated = options;
  rotated.shared_key = absl::Base64Escape(std::string(64, 'k'));
  absl::StatusOr<std::unique_ptr<blob::AzureBlobStore>> stale = blob::AzureBlobStore::Connect(rotated);
  ASSERT_TRUE(stale.ok()) << stale.status();
  {
    ConverterStage stage(**stale, RenderOptions{}, nullptr);
    auto out = stage.Handle(record);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable) << out.status();
    EXPECT_THAT(out.status().message(), HasSubstr("403"));
    EXPECT_THAT(out.status().message(), ::testing::Not(HasSubstr(rotated.shared_key)));
  }
  azurite->reset();  // Azurite stopped
  {
    ConverterStage stage(**store, RenderOptions{}, nullptr);
    auto out = stage.Handle(record);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable) << out.status();
  }
}

}  // namespace
}  // namespace zarc::converter
