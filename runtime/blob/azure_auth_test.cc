#include "runtime/blob/azure_auth.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/blob/azurite_fixture.h"

namespace zarc::blob {
namespace {

// Worked by hand from "Authorize with Shared Key" (version 2015-02-21+): twelve standard header
// lines (Content-Length "5", Content-Type, If-None-Match set; the rest empty), the x-ms- headers
// lowercased, sorted and unfolded, then /account + encoded path and the decoded, sorted query.
TEST(SharedKeyTest, StringToSignAndSignatureForAFixedPutBlock) {
  http::ClientRequest request;
  request.method = "PUT";
  request.url =
      "https://myaccount.blob.core.windows.net/mycontainer/dir/my%20blob.txt?comp=block&blockid=QUJD%2B";
  request.headers = {{"x-ms-version", "2021-08-06"},
                     {"Content-Type", "application/octet-stream"},
                     {"x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"},
                     {"If-None-Match", "*"},
                     {"X-MS-Meta-Sha256", "  abc   def "}};
  request.body = "hello";
  const std::string expected =
      "PUT\n\n\n5\n\napplication/octet-stream\n\n\n\n*\n\n\n"
      "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
      "x-ms-meta-sha256:abc def\n"
      "x-ms-version:2021-08-06\n"
      "/myaccount/mycontainer/dir/my%20blob.txt\n"
      "blockid:QUJD+\n"
      "comp:block";
  EXPECT_EQ(SharedKeyStringToSign("myaccount", request), expected);
  // HMAC-SHA256 of `expected` under Azurite's well-known key, computed independently (Python hmac).
  auto authorization = SharedKeyAuthorization("myaccount", kAzuriteKey, request);
  ASSERT_TRUE(authorization.ok()) << authorization.status();
  EXPECT_EQ(*authorization, "SharedKey myaccount:13bdV3M59vyRwLM4yG57ufmFQXPXvWQ7/Wn0xuD34wk=");
}

// The example request from the Azure documentation (Get Container Metadata).
TEST(SharedKeyTest, DocumentationExampleWithEmptyContentLength) {
  http::ClientRequest request;
  request.method = "GET";
  request.url = "https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata&timeout=20";
  request.headers = {{"x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"}, {"x-ms-version", "2015-02-21"}};
  EXPECT_EQ(SharedKeyStringToSign("myaccount", request),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n"
            "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2015-02-21\n"
            "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
}

TEST(SharedKeyTest, RepeatedQueryValuesAreSortedAndJoined) {
  http::ClientRequest request;
  request.url = "http://127.0.0.1:10000/devstoreaccount1/c?Include=snapshots&include=metadata";
  EXPECT_THAT(SharedKeyStringToSign("devstoreaccount1", request),
              ::testing::EndsWith("/devstoreaccount1/devstoreaccount1/c\ninclude:metadata,snapshots"));
}

TEST(SharedKeyTest, BadKeyIsInvalidArgumentWithoutTheKey) {
  auto authorization = SharedKeyAuthorization("acct", "not*base64!", http::ClientRequest{});
  EXPECT_TRUE(absl::IsInvalidArgument(authorization.status()));
  EXPECT_THAT(std::string(authorization.status().message()), ::testing::Not(::testing::HasSubstr("not*base64!")));
}

TEST(SasTest, ContainerSasStringToSignAndToken) {
  ContainerSasOptions options;
  options.expiry = absl::FromCivil(absl::CivilSecond(2030, 1, 2, 3, 4, 5), absl::UTCTimeZone());
  EXPECT_EQ(ContainerSasStringToSign("devstoreaccount1", "archive", options),
            "racwdl\n\n2030-01-02T03:04:05Z\n/blob/devstoreaccount1/archive\n\n\n\n2021-08-06\nc"
            "\n\n\n\n\n\n\n");
  auto token = ContainerSasToken("devstoreaccount1", "archive", kAzuriteKey, options);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token,
            "sv=2021-08-06&sr=c&sp=racwdl&se=2030-01-02T03%3A04%3A05Z"
            "&sig=lf7GLUGM0iAMg9lxtgKX9B8GG2sp9chF0n%2B7AAV%2BeFk%3D");
}

TEST(SasTest, HttpDateFormat) {
  EXPECT_EQ(FormatHttpDate(absl::FromCivil(absl::CivilSecond(2015, 6, 26, 23, 39, 12), absl::UTCTimeZone())),
            "Fri, 26 Jun 2015 23:39:12 GMT");
}

}  // namespace
}  // namespace zarc::blob
