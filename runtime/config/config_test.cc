#include "runtime/config/config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct KafkaPart {
  std::string brokers;
};

struct Example {
  std::string api_url;
  std::string client_secret;
  int64_t page_size = 0;
  bool webhooks = false;
  absl::Duration poll_interval;
  std::string mode;
  std::vector<std::string> domains;
  KafkaPart kafka;
};

Schema<Example> ExampleSchema() {
  Schema<KafkaPart> kafka;
  kafka.String("kafka.brokers", &KafkaPart::brokers, "", "bootstrap servers; empty: embedded");
  Schema<Example> s;
  s.Url("zoom.api_url", &Example::api_url, "https://api.zoom.us/v2", "Zoom API base URL")
      .Secret("zoom.client_secret", &Example::client_secret, "S2S OAuth client secret")
      .Int("zoom.page_size", &Example::page_size, 300, 1, 300, "page size for list calls")
      .Bool("fetcher.webhooks", &Example::webhooks, false, "accept Zoom webhooks")
      .Duration("fetcher.poll_interval", &Example::poll_interval, "24h", "time between polls")
      .Enum("importer.target", &Example::mode, "eml", {"none", "eml", "imap", "graph"},
            "where items are delivered")
      .List("mapper.tenant_domains", &Example::domains, "", "the tenant's mail domains")
      .Include(kafka, &Example::kafka);
  return s;
}

absl::StatusOr<Example> Load(std::vector<std::string> args,
                             std::map<std::string, std::string> env = {}) {
  return ExampleSchema().Load(Sources{.args = std::move(args), .env = std::move(env)});
}

TEST(ConfigTest, DefaultsApplyWhenNothingIsGiven) {
  absl::StatusOr<Example> c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->api_url, "https://api.zoom.us/v2");
  EXPECT_EQ(c->page_size, 300);
  EXPECT_EQ(c->poll_interval, absl::Hours(24));
  EXPECT_EQ(c->mode, "eml");
}

TEST(ConfigTest, FlagsBeatEnvironmentWhichBeatsTheFile) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/zarc.conf";
  std::ofstream(file) << "# comment\nzoom.page_size = 100\nimporter.target = imap\n"
                         "kafka.brokers = file:9092\n";
  absl::StatusOr<Example> c =
      Load({"--config", file, "--zoom-page-size=50"},
           {{"ZARC_ZOOM_PAGE_SIZE", "70"}, {"ZARC_KAFKA_BROKERS", "env:9092"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->page_size, 50);
  EXPECT_EQ(c->mode, "imap");
  EXPECT_EQ(c->kafka.brokers, "env:9092");
}

TEST(ConfigTest, ErrorsNameTheKeyTheValueAndWhatIsAllowed) {
  absl::Status s = Load({"--zoom.page_size=301"}).status();
  EXPECT_THAT(s.message(), HasSubstr("zoom.page_size = 301"));
  EXPECT_THAT(s.message(), HasSubstr("allowed 1 to 300"));

  s = Load({"--importer.target=smtp"}).status();
  EXPECT_THAT(s.message(), HasSubstr("importer.target = \"smtp\""));
  EXPECT_THAT(s.message(), HasSubstr("none, eml, imap, graph"));

  s = Load({"--fetcher.poll_interval=soon"}).status();
  EXPECT_THAT(s.message(), HasSubstr("fetcher.poll_interval = \"soon\""));

  s = Load({"--zoom.api_url=ftp://x"}).status();
  EXPECT_THAT(s.message(), HasSubstr("zoom.api_url = \"ftp://x\""));

  s = Load({"--zoom.page_sise=3"}).status();
  EXPECT_THAT(s.message(), HasSubstr("unknown option --zoom.page_sise"));
  EXPECT_THAT(s.message(), HasSubstr("zoom.page_size"));
}

TEST(ConfigTest, UnknownKeyInFileNamesFileAndLine) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/zarc.conf";
  std::ofstream(file) << "zoom.page_size = 10\n\nzoom.colour = blue\n";
  absl::Status s = Load({"--config=" + file}).status();
  EXPECT_THAT(s.message(), HasSubstr(file + " line 3: unknown key \"zoom.colour\""));
}

TEST(ConfigTest, SecretsComeFromFilesAndAreNeverPrinted) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/secret";
  std::ofstream(file) << "s3cr3t-value\n";
  absl::StatusOr<Example> c = Load({}, {{"ZARC_ZOOM_CLIENT_SECRET_FILE", file}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->client_secret, "s3cr3t-value");
  const std::string printed = ExampleSchema().Print(*c);
  EXPECT_THAT(printed, HasSubstr("zoom.client_secret = ****"));
  EXPECT_THAT(printed, Not(HasSubstr("s3cr3t")));

  absl::StatusOr<Example> d = Load({"--zoom.client_secret=hunter2"});
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(ExampleSchema().Print(*d), Not(HasSubstr("hunter2")));
}

TEST(ConfigTest, MissingSecretFileIsAnErrorThatDoesNotLeakAnything) {
  absl::Status s = Load({"--zoom.client_secret_file=/nonexistent/x"}).status();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/x"));
  EXPECT_THAT(s.message(), HasSubstr("zoom.client_secret"));
}

TEST(ConfigTest, ReferenceTableListsEnvironmentNames) {
  const std::string table = ReferenceTable(ExampleSchema().Specs());
  EXPECT_THAT(table, HasSubstr("`ZARC_ZOOM_CLIENT_SECRET` or `ZARC_ZOOM_CLIENT_SECRET_FILE`"));
  EXPECT_THAT(table, HasSubstr("(none, eml, imap, graph)"));
}

TEST(ConfigTest, RequiredValuesSayHowToSetThem) {
  struct R {
    std::string account;
  };
  Schema<R> s;
  s.Required("zoom.account_id", &R::account, "Zoom account id");
  absl::Status st = s.Load(Sources{}).status();
  EXPECT_THAT(st.message(), HasSubstr("zoom.account_id is required"));
  EXPECT_THAT(st.message(), HasSubstr("ZARC_ZOOM_ACCOUNT_ID"));
}

}  // namespace
}  // namespace zarc::config

namespace zarc::config {
namespace {

struct Part {
  int64_t port = 0;
};
struct Whole {
  Part a;
  Part b;
};

TEST(ConfigTest, CombinedSchemasShareKeysAndKeepTheirChecks) {
  Schema<Part> part;
  part.Int("grpc.port", &Part::port, 7001, 0, 65535, "port")
      .Check([](const Part& p) {
        return p.port == 1 ? absl::InvalidArgumentError("port 1 is reserved") : absl::OkStatus();
      });
  Schema<Whole> whole;
  whole.Include(part, &Whole::a).Include(part, &Whole::b);
  EXPECT_EQ(whole.Specs().size(), 1u);
  absl::StatusOr<Whole> w = whole.Load(Sources{.args = {"--grpc.port=9"}});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->a.port, 9);
  EXPECT_EQ(w->b.port, 9);
  EXPECT_EQ(whole.Print(*w), "grpc.port = 9\n");
  EXPECT_EQ(whole.Load(Sources{.args = {"--grpc.port=1"}}).status().message(), "port 1 is reserved");
}

}  // namespace
}  // namespace zarc::config
