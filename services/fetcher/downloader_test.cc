#include "services/fetcher/downloader.h"

#include <map>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc::fetcher {
namespace {

using ::testing::HasSubstr;

// A Zoom download host that answers each URL with a chosen response, and remembers which
// requests carried the token.
class ScriptedZoom final : public http::HttpClient {
 public:
  void On(const std::string& url, http::ClientResponse response) {
    absl::MutexLock lock(&mu_);
    answers_[url] = std::move(response);
  }
  absl::StatusOr<http::ClientResponse> Send(const http::ClientRequest& request) override {
    return http::ClientResponse{
        .status = 200, .body = R"({"access_token":"TOKEN","token_type":"bearer","expires_in":3600})"};
  }
  absl::StatusOr<http::ClientResponse> SendStreaming(const http::ClientRequest& request,
                                                     io::ByteSink& sink) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request.url);
    if (http::FindHeader(request.headers, "Authorization")) with_token_.push_back(request.url);
    auto it = answers_.find(request.url);
    if (it == answers_.end()) return http::ClientResponse{.status = 404};
    if (it->second.status == 200) {
      if (absl::Status s = sink.Write(it->second.body); !s.ok()) return s;
    }
    return it->second;
  }
  std::vector<std::string> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<std::string> with_token() {
    absl::MutexLock lock(&mu_);
    return with_token_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, http::ClientResponse> answers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> with_token_ ABSL_GUARDED_BY(mu_);
};

class DownloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<blob::BlobStore>> store =
        blob::OpenBlobStore({.url = "file://" + dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    staging_ = *std::move(store);
  }
  absl::StatusOr<ZoomDownloader::Result> Download(const std::string& url) {
    ZoomTokenSource tokens(zoom_, ZoomCredentials{.account_id = "a", .client_id = "c"}, nullptr);
    ZoomHostPolicy hosts({"zoom.us"});
    ZoomDownloader downloader(zoom_, tokens, hosts, *staging_,
                              ZoomDownloader::Options{.max_attempts = 1}, nullptr);
    return downloader.Download(ZoomFile{.id = "f1", .file_type = "MP4", .file_extension = "MP4",
                                        .download_url = url, .status = "completed"},
                               "");
  }
  static http::ClientResponse Redirect(const std::string& to) {
    return http::ClientResponse{.status = 302, .headers = {{"Location", to}}};
  }
  static http::ClientResponse File(const std::string& bytes) {
    return http::ClientResponse{
        .status = 200, .headers = {{"Content-Type", "video/mp4"}}, .body = bytes};
  }

  testing::TempDir dir_;
  std::unique_ptr<blob::BlobStore> staging_;
  ScriptedZoom zoom_;
};

TEST_F(DownloaderTest, RedirectsAwayFromTlsOnTheDefaultPortAreFollowedWithoutTheToken) {
  const std::string start = "https://us06web.zoom.us/rec/download/f1";
  zoom_.On(start, Redirect("http://us06web.zoom.us/rec/plain/f1?sig=1"));
  zoom_.On("http://us06web.zoom.us/rec/plain/f1?sig=1", Redirect("https://zoom.us:8443/rec/f1"));
  zoom_.On("https://zoom.us:8443/rec/f1", Redirect("https://storage.example.net/f1?sig=2"));
  zoom_.On("https://storage.example.net/f1?sig=2", File("the recording"));
  absl::StatusOr<ZoomDownloader::Result> r = Download(start);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->blob.size, 13u);
  EXPECT_EQ(zoom_.requests().size(), 4u);
  EXPECT_EQ(zoom_.with_token(), std::vector<std::string>{start});
}

TEST_F(DownloaderTest, ADownloadUrlOverPlainHttpIsRefusedBeforeAnyRequest) {
  absl::StatusOr<ZoomDownloader::Result> r = Download("http://us06web.zoom.us/rec/download/f1?t=X");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("us06web.zoom.us"));
  EXPECT_TRUE(zoom_.requests().empty());
}

}  // namespace
}  // namespace zarc::fetcher
