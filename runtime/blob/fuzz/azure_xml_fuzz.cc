// libFuzzer target for the XML Azure Blob Storage answers with (runtime/blob): a List Blobs page
// (ParseListBlobs) and an error body (AzureError), on the same bytes. Asserts bounded results,
// well-formed UTF-8 names from well-formed input (entities decoded correctly) and error messages of
// one line. Also replayed by blob_fuzz_replay_test.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "runtime/blob/azure_blob_store.h"
#include "runtime/testing/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::blob;
  using zarc::fuzz::IsValidUtf8;
  using zarc::fuzz::Require;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const bool clean_input = IsValidUtf8(input) && !absl::StrContains(input, '\0');

  absl::StatusOr<ListPage> page = ParseListBlobs(input);
  if (page.ok()) {
    Require(page->blobs.size() <= input.size() / 13, "no more blobs than <Blob></Blob> elements");
    for (const BlobInfo& b : page->blobs) {
      if (clean_input && !absl::StrContains(input, "Encoded=")) {
        Require(IsValidUtf8(b.name), "a name from well-formed XML is well-formed UTF-8");
        Require(!absl::StrContains(b.name, '\0'), "a name has no NUL");
      }
      Require(b.name.size() <= input.size(), "a name is no longer than the answer");
    }
    if (clean_input) Require(IsValidUtf8(page->next_marker), "the marker is well-formed UTF-8");
  } else {
    Require(!page.status().message().empty(), "a refused page says why");
  }

  for (int status : {400, 403, 404, 409, 500, 503}) {
    zarc::http::ClientResponse response;
    response.status = status;
    response.body = std::string(input);
    response.headers = {{"x-ms-error-code", "AuthenticationFailed"}};
    const absl::Status error = AzureError(response, "Put Blob", "items/a.eml");
    Require(!error.ok() && !error.message().empty(), "an Azure error is an error that says why");
    Require(!absl::StrContains(error.message(), '\n'), "an Azure error is one line");
  }
  return 0;
}
