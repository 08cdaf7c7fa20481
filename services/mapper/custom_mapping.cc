#include "services/mapper/custom_mapping.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/log/log.h"

namespace zarc::mapper {
namespace {

// How a row is quoted in messages: enough to find it, bounded.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 100;
  return absl::StrCat("\"", value.substr(0, kMax), value.size() > kMax ? "...\"" : "\"");
}

bool LooksLikeAddress(absl::string_view s) {
  const size_t at = s.find('@');
  return at != absl::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == absl::string_view::npos &&
         s.find_first_of(" \t\r\n,;<>\"") == absl::string_view::npos;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// One record of an RFC 4180 file.
struct CsvRecord {
  int line = 0;  // where the record starts
  std::vector<std::string> fields;
  std::string raw;    // the record's text, without its line break
  std::string error;  // empty if well-formed
  bool unterminated = false;  // a quoted field runs to the end of the text
};

// Splits `text` into RFC 4180 records: fields separated by `separator`; a field in double quotes
// may hold the separator, line breaks and doubled quotes (""); CRLF or LF ends a record.
// Unquoted fields are trimmed of blanks, and blanks around a quoted field are ignored (spreadsheet
// exports write `"a" , "b"`). Blank lines and lines starting with '#' between records are skipped.
std::vector<CsvRecord> SplitRecords(absl::string_view text, char separator) {
  std::vector<CsvRecord> records;
  size_t i = 0;
  int line = 1;
  while (i < text.size()) {
    const size_t eol = text.find('\n', i);
    const absl::string_view first_line =
        absl::StripAsciiWhitespace(text.substr(i, eol == absl::string_view::npos ? eol : eol - i));
    if (first_line.empty() || first_line[0] == '#') {
      i = eol == absl::string_view::npos ? text.size() : eol + 1;
      ++line;
      continue;
    }
    CsvRecord rec;
    rec.line = line;
    const size_t begin = i;
    bool end_of_record = false;
    while (!end_of_record) {
      while (i < text.size() && IsBlank(text[i])) ++i;
      std::string field;
      if (i < text.size() && text[i] == '"') {
        const int opened = line;
        ++i;
        bool closed = false;
        while (i < text.size()) {
          const char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              field.push_back('"');
              ++i;
              continue;
            }
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
        }
        if (!closed) {
          rec.error = absl::StrCat("the quoted field opened on line ", opened, " is never closed");
          rec.unterminated = true;
        }
        while (i < text.size() && IsBlank(text[i])) ++i;
        if (closed && i < text.size() && text[i] != separator && text[i] != '\r' &&
            text[i] != '\n' && rec.error.empty()) {
          rec.error = absl::StrCat("text after the closing quote of field ",
                                   rec.fields.size() + 1, " (a quote inside a quoted field is "
                                   "written twice: \"\")");
        }
        // Whatever follows the closing quote up to the next separator is not part of the field.
        while (i < text.size() && text[i] != separator && text[i] != '\n') ++i;
      } else {
        const size_t start = i;
        while (i < text.size() && text[i] != separator && text[i] != '\n') ++i;
        field = std::string(absl::StripAsciiWhitespace(text.substr(start, i - start)));
      }
      rec.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == separator) {
        ++i;
        continue;
      }
      end_of_record = true;
      size_t end = i;
      if (i < text.size()) {  // at '\n'
        ++i;
        ++line;
      }
      rec.raw = std::string(absl::StripTrailingAsciiWhitespace(text.substr(begin, end - begin)));
    }
    records.push_back(std::move(rec));
  }
  return records;
}

// The separator the header line uses: ';' (spreadsheets in locales with a decimal comma) or ','.
char DetectSeparator(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    return absl::StrContains(line, ';') && !absl::StrContains(line, ',') ? ';' : ',';
  }
  return ',';
}

}  // namespace

absl::StatusOr<MappingTable> ParseCustomMapping(absl::string_view text) {
  MappingTable table;
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");  // a UTF-8 BOM, as spreadsheet exports write
  const char separator = DetectSeparator(text);
  const std::vector<CsvRecord> records = SplitRecords(text, separator);
  if (records.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file has no header; its first line that is not a comment must be \"",
                     kCustomMappingHeader, "\""));
  }
  const CsvRecord& header = records.front();
  {
    std::vector<std::string> names;
    for (const std::string& f : header.fields) {
      std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(f));
      name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
      names.push_back(std::move(name));
    }
    if (!header.error.empty() || names != std::vector<std::string>{"zoom_email", "m365_address"}) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", header.line, ": expected the header \"", kCustomMappingHeader,
          "\" (or with ';' as the separator), found ", Quote(header.raw),
          "; add the header as the first line that is not a comment"));
    }
  }
  std::map<std::string, int> first_line;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    auto problem = [&](std::string message) {
      table.problems.push_back({rec.line, std::move(message)});
    };
    if (!rec.error.empty()) {
      problem(absl::StrCat(rec.error, ": ", Quote(rec.raw)));
      continue;
    }
    if (rec.fields.size() != 2) {
      problem(absl::StrCat("expected 2 fields (zoom_email", std::string(1, separator),
                           "m365_address), found ", rec.fields.size(), ": ", Quote(rec.raw)));
      continue;
    }
    const std::string from = absl::AsciiStrToLower(absl::StripAsciiWhitespace(rec.fields[0]));
    const std::string to(absl::StripAsciiWhitespace(rec.fields[1]));
    if (!LooksLikeAddress(from)) {
      problem(absl::StrCat("zoom_email ", Quote(from), " is not an e-mail address"));
      continue;
    }
    if (!LooksLikeAddress(to)) {
      problem(absl::StrCat("m365_address ", Quote(to), " is not an e-mail address"));
      continue;
    }
    auto [it, inserted] = first_line.emplace(from, rec.line);
    if (!inserted) {
      problem(absl::StrCat(from, " is already mapped on line ", it->second, "; the first row wins"));
      continue;
    }
    table.entries[from] = to;
  }
  // A writer caught mid-row leaves a last line with no line break; if that row does not parse,
  // the file is most likely still being written.
  const CsvRecord& last = records.back();
  const bool last_row_bad = !table.problems.empty() && table.problems.back().line == last.line;
  table.incomplete = last.unterminated || (!absl::EndsWith(text, "\n") && last_row_bad);
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
  absl::StatusOr<FileText> file = ReadStable();
  // At start-up there is no earlier table to fall back on: give a writer a moment to finish.
  for (int attempt = 1; force && absl::IsUnavailable(file.status()) && attempt < 5; ++attempt) {
    absl::SleepFor(absl::Milliseconds(100 * attempt));
    file = ReadStable();
  }
  if (!file.ok()) return file.status();
  absl::StatusOr<MappingTable> table = ParseCustomMapping(file->text);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("custom mapping file ", options_.path, ": ", table.status().message()));
  }
  // At start-up there is no earlier table to keep: the bad last row is reported like any other.
  if (table->incomplete && loads_ > 0) {
    const MappingProblem& last = table->problems.back();  // incomplete implies a problem row
    return absl::UnavailableError(absl::StrCat(
        "custom mapping file ", options_.path, " looks half-written (line ", last.line, ": ",
        last.message, "); the previous rows stay in force and it is read again at the next "
        "check. If the file is complete, fix that row and end the file with a line break"));
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
  mtime_ns_ = file->mtime_ns;
  file_size_ = file->size;
  ++loads_;
  return absl::OkStatus();
}

absl::StatusOr<CustomMapping::FileText> CustomMapping::ReadStable() const {
  auto changed = [&] {
    return absl::UnavailableError(absl::StrCat(
        "custom mapping file ", options_.path,
        " changed while it was read (still being written?); the previous rows stay in force and "
        "it is read again at the next check"));
  };
  const int fd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open the custom mapping file ",
                                               options_.path, ": ", strerror(errno)));
  }
  struct stat before;
  struct stat after;
  std::string text;
  bool read_ok = ::fstat(fd, &before) == 0;
  char buf[64 * 1024];
  while (read_ok) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_ok = false;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  const int read_errno = errno;
  if (options_.during_read_for_testing) options_.during_read_for_testing();
  read_ok = read_ok && ::fstat(fd, &after) == 0;
  ::close(fd);
  if (!read_ok) {
    return absl::UnavailableError(absl::StrCat("cannot read the custom mapping file ",
                                               options_.path, ": ", strerror(read_errno)));
  }
  const auto mtime = [](const struct stat& s) {
    return static_cast<int64_t>(s.st_mtim.tv_sec) * 1000000000 + s.st_mtim.tv_nsec;
  };
  if (mtime(before) != mtime(after) || before.st_size != after.st_size ||
      static_cast<int64_t>(text.size()) != static_cast<int64_t>(after.st_size)) {
    return changed();
  }
  return FileText{std::move(text), mtime(after), static_cast<int64_t>(after.st_size)};
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
