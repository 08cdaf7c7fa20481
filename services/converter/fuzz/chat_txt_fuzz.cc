// libFuzzer target for ParseChatTxt; also replayed over its corpus by converter_fuzz_replay_test.
#include <cstddef>
#include <cstdint>

#include "services/converter/chat_txt.h"
#include "services/converter/fuzz/fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::converter;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ParsedChat> chat = ParseChatTxt(input, "chat.txt");
  if (!chat.ok()) {
    fuzz::Require(!chat.status().message().empty());
    return 0;
  }
  for (const ChatMessage& m : chat->messages) {
    fuzz::RequireUtf8(m.sender);
    fuzz::RequireUtf8(m.recipient);
    fuzz::RequireUtf8(m.text);
    fuzz::Require(m.sender.find('\n') == std::string::npos);
    fuzz::Require(m.offset >= absl::ZeroDuration() && m.line >= 1);
  }
  return 0;
}
