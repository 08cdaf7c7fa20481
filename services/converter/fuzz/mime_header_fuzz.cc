// libFuzzer target for the header encoder: whatever the text, each function yields exactly one
// well-formed header field. Also replayed over its corpus by converter_fuzz_replay_test.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/converter/fuzz/fuzz_checks.h"
#include "services/converter/mime_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::converter;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string clean = SanitizeHeaderText(input);
  fuzz::RequireUtf8(clean);
  fuzz::Require(SanitizeHeaderText(clean) == clean);
  fuzz::Require(clean.find_first_of("\r\n\t") == std::string::npos);
  fuzz::RequireOneHeaderField(UnstructuredHeader("Subject", input));
  fuzz::RequireOneHeaderField(AddressHeader(
      "To",
      {{std::string(input), "a@example.com"}, {SanitizeHeaderText(input, 200), "b@example.com"}}));
  fuzz::RequireOneHeaderField(
      ParameterizedHeader("Content-Disposition", "attachment", FileNameParams("filename", input)));
  const std::string fallback = AsciiFileNameFallback(input);
  fuzz::Require(!fallback.empty() && fallback.size() <= 60);
  fuzz::RequireOneHeaderField(ParameterizedHeader("Content-Type", "application/octet-stream",
                                                  {FormatParam("name", fallback)}));
  return 0;
}
