#include "runtime/blob/azure_blob_store.h"

#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/blob/azurite_fixture.h"
#include "runtime/testing/subprocess.h"

namespace zarc::blob {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Answers every request from a function and records what was sent.
class FakeClient final : public http::HttpClient {
 public:
  std::function<http::ClientResponse(const http::ClientRequest&)> answer;
  std::vector<http::ClientRequest> seen;
  absl::StatusOr<http::ClientResponse> Send(const http::ClientRequest& request) override {
    seen.push_back(request);
    seen.back().body = seen.back().body.substr(0, 16);  // keep memory small
    return answer(request);
  }
  absl::StatusOr<http::ClientResponse> SendStreaming(const http::ClientRequest& request,
                                                     io::ByteSink&) override {
    return Send(request);
  }
};

AzureBlobOptions FakeOptions() {
  return {.account = "acct", .container = "c", .endpoint = "https://acct.example", .shared_key = kAzuriteKey};
}

TEST(AzureBlobStoreTest, MoreThan50000BlocksIsRefused) {
  FakeClient client;
  client.answer = [](const http::ClientRequest&) { return http::ClientResponse{.status = 201}; };
  AzureBlobOptions options = FakeOptions();
  options.block_size = 1;
  auto store = AzureBlobStore::Connect(options, &client);
  ASSERT_TRUE(store.ok()) << store.status();
  auto writer = (*store)->Create("huge", {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(std::string(50000, 'x')).ok());  // 49,999 blocks put, one buffered
  absl::Status last = (*writer)->Write(std::string(2, 'x'));
  EXPECT_TRUE(absl::IsResourceExhausted(last)) << last;
  EXPECT_THAT(std::string(last.message()), HasSubstr("50000 blocks"));
  EXPECT_EQ(client.seen.size(), 50000u);
  // Block IDs all have one length, and requests carry version, date and SharedKey auth.
  const http::ClientRequest& first = client.seen.front();
  const http::ClientRequest& later = client.seen.back();
  EXPECT_EQ(first.url.size(), later.url.size());
  EXPECT_THAT(first.url, HasSubstr("comp=block&blockid="));
  EXPECT_EQ(http::FindHeader(first.headers, "x-ms-version"), "2021-08-06");
  EXPECT_TRUE(http::FindHeader(first.headers, "x-ms-date").has_value());
  EXPECT_THAT(http::FindHeader(first.headers, "Authorization").value_or(""), HasSubstr("SharedKey acct:"));
}

TEST(AzureBlobStoreTest, ListFollowsMarkersAndReadsMetadata) {
  FakeClient client;
  client.answer = [](const http::ClientRequest& request) {
    http::ClientResponse response{.status = 200};
    if (!absl::StrContains(request.url, "marker=")) {
      response.body = R"(<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="x" ContainerName="c"><Prefix>p/</Prefix><Blobs>
<Blob><Name>p/b&amp;1</Name><Properties><Content-Length>12</Content-Length><Content-Type>video/mp4</Content-Type></Properties><Metadata><sha256>abc</sha256></Metadata></Blob>
</Blobs><NextMarker>page%2</NextMarker></EnumerationResults>)";
    } else {
      EXPECT_THAT(request.url, HasSubstr("marker=page%252"));
      response.body = R"(<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>
<Blob><Name Encoded="true">p/a%20z</Name><Properties><Content-Length>0</Content-Length><Content-Type /></Properties><Metadata /></Blob>
</Blobs><NextMarker /></EnumerationResults>)";
    }
    return response;
  };
  auto store = AzureBlobStore::Connect(FakeOptions(), &client);
  ASSERT_TRUE(store.ok());
  auto listed = (*store)->List("p/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "p/a z");
  EXPECT_EQ((*listed)[0].size, 0u);
  EXPECT_EQ((*listed)[0].sha256, "");
  EXPECT_EQ((*listed)[1].name, "p/b&1");
  EXPECT_EQ((*listed)[1].size, 12u);
  EXPECT_EQ((*listed)[1].content_type, "video/mp4");
  EXPECT_EQ((*listed)[1].sha256, "abc");
  EXPECT_EQ(client.seen.size(), 2u);
  EXPECT_THAT(client.seen[0].url, HasSubstr("restype=container&comp=list&include=metadata&prefix=p%2F"));
}

TEST(AzureBlobStoreTest, ErrorsNameOperationAndCodeButNotTheSas) {
  FakeClient client;
  client.answer = [](const http::ClientRequest&) {
    return http::ClientResponse{
        .status = 403,
        .headers = {{"x-ms-error-code", "AuthenticationFailed"}},
        .body = "<Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the "
                "request. String to sign used was sig=SECRET</Message></Error>"};
  };
  AzureBlobOptions options = FakeOptions();
  options.shared_key.clear();
  options.sas_token = "?sv=2021-08-06&sig=SECRET";
  auto store = AzureBlobStore::Connect(options, &client);
  ASSERT_TRUE(store.ok());
  absl::Status status = (*store)->Delete("x");
  EXPECT_TRUE(absl::IsPermissionDenied(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("Delete Blob x answered HTTP 403 AuthenticationFailed"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("SECRET")));
  EXPECT_THAT(client.seen[0].url, HasSubstr("/c/x?sv=2021-08-06&sig=SECRET"));
  EXPECT_FALSE(http::FindHeader(client.seen[0].headers, "Authorization").has_value());
}

// Found by blob_azure_xml_fuzz: &#x1F600; became three bytes of invalid UTF-8 and a surrogate
// reference was decoded as if it were a character, so the listed name was not the blob's name.
TEST(AzureBlobStoreTest, ListedNamesDecodeEveryCharacterReference) {
  absl::StatusOr<ListPage> page = ParseListBlobs(
      "<EnumerationResults><Blobs><Blob><Name>a&#x1F600;&#233;&#xE9;&amp;&#xD800;&#x110000;&#0;"
      "</Name><Properties><Content-Length>3</Content-Length></Properties></Blob></Blobs>"
      "<NextMarker/></EnumerationResults>");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->blobs.size(), 1u);
  EXPECT_EQ(page->blobs[0].name, "a\xF0\x9F\x98\x80\xC3\xA9\xC3\xA9&&#xD800;&#x110000;&#0;");
  EXPECT_EQ(page->blobs[0].size, 3u);
  EXPECT_EQ(page->next_marker, "");
}

TEST(AzureBlobStoreTest, OptionsAreValidated) {
  EXPECT_TRUE(absl::IsInvalidArgument(AzureBlobStore::Connect({.account = "a"}).status()));
  AzureBlobOptions both = FakeOptions();
  both.sas_token = "sv=x";
  EXPECT_TRUE(absl::IsInvalidArgument(AzureBlobStore::Connect(both).status()));
  AzureBlobOptions bad_key = FakeOptions();
  bad_key.shared_key = "%%%";
  EXPECT_TRUE(absl::IsInvalidArgument(AzureBlobStore::Connect(bad_key).status()));
  AzureBlobOptions defaults = FakeOptions();
  defaults.endpoint.clear();
  auto store = AzureBlobStore::Connect(defaults);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Uri("a b/c"), "https://acct.blob.core.windows.net/c/a%20b/c");
}

// 300 MB through Put Block / Put Block List into a real Azurite and back through ranged Get Blob,
// in a child process whose peak RSS is this transfer's alone.
TEST(AzureBlobStoreTest, ThreeHundredMegabytesRoundTripInBoundedMemory) {
  auto azurite = AzuriteProcess::Start();
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  constexpr uint64_t kBytes = 300ull * 1000 * 1000;
  auto child = testing::Subprocess::Start(
      {.argv = {testing::BinPath("blob_transfer_probe"), (*azurite)->endpoint(), absl::StrCat(kBytes)},
       .merge_stderr = true});
  ASSERT_TRUE(child.ok()) << child.status();
  auto line = (*child)->WaitForLine("written_sha256=", absl::Seconds(150));
  ASSERT_TRUE(line.ok()) << line.status() << "\n" << (*child)->output();
  auto exit_code = (*child)->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << (*child)->output();

  std::map<std::string, std::string> fields;
  for (absl::string_view part : absl::StrSplit(*line, ' ', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    fields[kv.first] = kv.second;
  }
  EXPECT_EQ(fields["size"], absl::StrCat(kBytes));
  EXPECT_EQ(fields["read_bytes"], absl::StrCat(kBytes));
  EXPECT_EQ(fields["generated_sha256"].size(), 64u);
  EXPECT_EQ(fields["written_sha256"], fields["generated_sha256"]);
  EXPECT_EQ(fields["stat_sha256"], fields["generated_sha256"]);
  EXPECT_EQ(fields["read_sha256"], fields["generated_sha256"]);
  uint64_t growth = 0;
  ASSERT_TRUE(absl::SimpleAtoi(fields["peak_growth_bytes"], &growth)) << *line;
  EXPECT_LT(growth, 64u * 1024 * 1024) << "peak RSS grew by " << growth << " bytes";
  std::printf("300 MB blob round trip: peak RSS growth %llu bytes\n",
              static_cast<unsigned long long>(growth));
}

}  // namespace
}  // namespace zarc::blob
