// libFuzzer target for the custom mapping CSV (ParseCustomMapping): bounded results, rows that
// hold only addresses, problems that name their line, and a round trip of the accepted rows
// through RFC 4180 text with either separator. Also replayed by mapper_fuzz_replay_test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/testing/fuzz/fuzz_support.h"
#include "services/mapper/custom_mapping.h"

namespace {

std::string QuotedCsv(const std::map<std::string, std::string>& entries, char separator) {
  auto quote = [](absl::string_view f) {
    std::string out = "\"";
    for (char c : f) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    return out + "\"";
  };
  std::string text = absl::StrCat("zoom_email", std::string(1, separator), "m365_address\r\n");
  for (const auto& [from, to] : entries) {
    absl::StrAppend(&text, quote(from), std::string(1, separator), quote(to), "\r\n");
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::mapper;
  using zarc::fuzz::Require;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<MappingTable> table = ParseCustomMapping(input);
  if (!table.ok()) {
    Require(!table.status().message().empty(), "a refused file says why");
    Require(table.status().message().size() <= 600, "an error quotes a bounded part of the file");
    return 0;
  }
  const int lines = static_cast<int>(std::count(input.begin(), input.end(), '\n')) + 1;
  Require(table->entries.size() + table->problems.size() <= static_cast<size_t>(lines),
          "at most one entry or problem per line");
  for (const MappingProblem& p : table->problems) {
    Require(p.line >= 1 && p.line <= lines, "a problem names a line of the file");
    Require(!p.message.empty() && p.message.size() <= 600, "a problem says what, briefly");
  }
  for (const auto& [from, to] : table->entries) {
    Require(from == absl::AsciiStrToLower(from), "keys are lower-cased");
    for (absl::string_view address : {absl::string_view(from), absl::string_view(to)}) {
      Require(absl::StrContains(address, '@'), "both sides are addresses");
      Require(address.find_first_of(" \t\r\n,;<>\"") == absl::string_view::npos,
              "an address holds no separator, blank, quote or line break");
    }
  }
  if (!table->incomplete) {
    for (char separator : {',', ';'}) {
      absl::StatusOr<MappingTable> again = ParseCustomMapping(QuotedCsv(table->entries, separator));
      Require(again.ok() && again->problems.empty() && !again->incomplete,
              "the accepted rows, written as RFC 4180, parse cleanly");
      Require(again->entries == table->entries, "the accepted rows survive a round trip");
    }
  }
  return 0;
}
