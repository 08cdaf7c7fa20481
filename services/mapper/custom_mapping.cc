#include "services/mapper/custom_mapping.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/log/log.h"

namespace zarc::mapper {
namespace {

std::string Field(absl::string_view raw) {
  absl::string_view f = absl::StripAsciiWhitespace(raw);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
  return std::string(absl::StripAsciiWhitespace(f));
}

bool LooksLikeAddress(absl::string_view s) {
  const size_t at = s.find('@');
  return at != absl::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == absl::string_view::npos &&
         s.find_first_of(" \t,;<>\"") == absl::string_view::npos;
}

}  // namespace

absl::StatusOr<MappingTable> ParseCustomMapping(absl::string_view text) {
  MappingTable table;
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");  // a UTF-8 BOM, as spreadsheet exports write
  bool header_seen = false;
  std::map<std::string, int> first_line;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (!header_seen) {
      std::string header = absl::AsciiStrToLower(line);
      header.erase(std::remove(header.begin(), header.end(), ' '), header.end());
      if (header != kCustomMappingHeader) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", number, ": expected the header \"", kCustomMappingHeader, "\", found \"",
            line.substr(0, 100), "\"; add the header as the first line that is not a comment"));
      }
      header_seen = true;
      continue;
    }
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (fields.size() != 2) {
      table.problems.push_back(
          {number,
           absl::StrCat("expected 2 fields (zoom_email,m365_address), found ", fields.size())});
      continue;
    }
    const std::string from = absl::AsciiStrToLower(Field(fields[0]));
    const std::string to = Field(fields[1]);
    if (!LooksLikeAddress(from)) {
      table.problems.push_back(
          {number, absl::StrCat("zoom_email \"", from, "\" is not an e-mail address")});
      continue;
    }
    if (!LooksLikeAddress(to)) {
      table.problems.push_back(
          {number, absl::StrCat("m365_address \"", to, "\" is not an e-mail address")});
      continue;
    }
    auto [it, inserted] = first_line.emplace(from, number);
    if (!inserted) {
      table.problems.push_back({number, absl::StrCat(from, " is already mapped on line ",
                                                     it->second, "; the first row wins")});
      continue;
    }
    table.entries[from] = to;
  }
  if (!header_seen) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file has no header; its first line that is not a comment must be \"",
                     kCustomMappingHeader, "\""));
  }
  return table;
}

absl::StatusOr<std::unique_ptr<CustomMapping>> CustomMapping::Open(Options options) {
  std::unique_ptr<CustomMapping> mapping(new CustomMapping(std::move(options)));
  absl::MutexLock lock(&mapping->mutex_);
  if (absl::Status s = mapping->ReloadLocked(true); !s.ok()) return s;
  return mapping;
}

absl::Status CustomMapping::ReloadLocked(bool force) {
  last_check_ = Now();
  struct stat st;
  if (::stat(options_.path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot stat the custom mapping file ", options_.path,
                                            ": ", strerror(errno),
                                            "; check mapper.custom_mapping_file"));
  }
  const int64_t mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (!force && mtime_ns == mtime_ns_ && st.st_size == file_size_) return absl::OkStatus();
  std::ifstream in(options_.path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::UnavailableError(
        absl::StrCat("cannot read the custom mapping file ", options_.path));
  }
  absl::StatusOr<MappingTable> table = ParseCustomMapping(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("custom mapping file ", options_.path, ": ", table.status().message()));
  }
  for (const MappingProblem& p : table->problems) {
    log::Warn("mapper", "custom mapping row ignored",
              {{"file", options_.path}, {"line", p.line}, {"problem", p.message}});
  }
  log::Info("mapper", "custom mapping loaded",
            {{"file", options_.path},
             {"rows", table->entries.size()},
             {"ignored_rows", table->problems.size()}});
  table_ = *std::move(table);
  mtime_ns_ = mtime_ns;
  file_size_ = st.st_size;
  ++loads_;
  return absl::OkStatus();
}

absl::Status CustomMapping::ReloadIfChanged() {
  absl::MutexLock lock(&mutex_);
  return ReloadLocked(false);
}

std::optional<std::string> CustomMapping::Lookup(absl::string_view zoom_address) {
  const std::string key = absl::AsciiStrToLower(zoom_address);
  absl::MutexLock lock(&mutex_);
  if (Now() - last_check_ >= options_.check_interval) {
    if (absl::Status s = ReloadLocked(false); !s.ok()) {
      log::Warn("mapper", "custom mapping not reloaded; the previous rows stay in force",
                {{"error", s}});
    }
  }
  auto it = table_.entries.find(key);
  if (it == table_.entries.end()) return std::nullopt;
  return it->second;
}

std::vector<MappingProblem> CustomMapping::problems() const {
  absl::MutexLock lock(&mutex_);
  return table_.problems;
}
size_t CustomMapping::size() const {
  absl::MutexLock lock(&mutex_);
  return table_.entries.size();
}
int64_t CustomMapping::loads() const {
  absl::MutexLock lock(&mutex_);
  return loads_;
}

}  // namespace zarc::mapper
