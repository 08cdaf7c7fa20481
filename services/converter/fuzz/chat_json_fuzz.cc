// libFuzzer target for ParseChatJson; also replayed over its corpus by converter_fuzz_replay_test.
#include <cstddef>
#include <cstdint>

#include "services/converter/chat_json.h"
#include "services/converter/fuzz/fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::converter;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ParsedArchivedChat> chat = ParseChatJson(input, "chat.json");
  if (!chat.ok()) {
    fuzz::Require(!chat.status().message().empty());
    return 0;
  }
  for (const ArchivedChatMessage& m : chat->messages) {
    fuzz::RequireUtf8(m.sender_name);
    fuzz::RequireUtf8(m.sender_email);
    fuzz::RequireUtf8(m.recipient_name);
    fuzz::RequireUtf8(m.content);
    fuzz::RequireUtf8(m.id);
  }
  return 0;
}
