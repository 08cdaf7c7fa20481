#include "tests/support/mailbox_audit.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/converter/renderer.h"

namespace zarc::testing {

std::map<std::string, std::set<std::string>> ExpectedFromManifest(const json::Value& manifest) {
  const std::string account = json::String(manifest, "account_id");
  const std::string domain = "@" + absl::AsciiStrToLower(json::String(manifest, "domain"));
  std::map<std::string, std::string> user_email;
  for (const json::Value& u : json::Array(manifest, "users")) {
    user_email[json::String(u, "id")] = absl::AsciiStrToLower(json::String(u, "email"));
  }
  std::map<std::string, std::set<std::string>> out;
  for (const json::Value& m : json::Array(manifest, "meetings")) {
    std::set<std::string> addresses = {user_email[json::String(m, "host_id")]};
    for (const json::Value& p : json::Array(m, "participants")) {
      addresses.insert(absl::AsciiStrToLower(json::String(p, "user_email")));
    }
    const std::string id = converter::MessageIdFor(account, json::String(m, "uuid"), 1, "zarc.archive");
    for (const std::string& a : addresses) {
      if (absl::EndsWith(a, domain)) out[a].insert(id);
    }
  }
  return out;
}

int64_t Pairs(const std::map<std::string, std::set<std::string>>& expected) {
  int64_t n = 0;
  for (const auto& [mailbox, ids] : expected) n += static_cast<int64_t>(ids.size());
  return n;
}

MailboxContents ReadEmlMailboxes(const std::string& mailboxes_root) {
  MailboxContents out;
  std::error_code ec;
  if (!std::filesystem::exists(mailboxes_root, ec)) return out;
  for (const auto& box : std::filesystem::directory_iterator(mailboxes_root, ec)) {
    const std::string name = box.path().filename().string();
    if (!box.is_directory() || absl::StartsWith(name, ".")) continue;
    const std::filesystem::path folder = box.path() / "Inbox" / "Zoom Meetings";
    if (!std::filesystem::exists(folder, ec)) continue;
    for (const auto& f : std::filesystem::directory_iterator(folder, ec)) {
      if (f.path().extension() != ".eml") continue;
      std::ifstream in(f.path());
      std::string line, id;
      while (std::getline(in, line) && line != "\r" && !line.empty()) {
        if (absl::StartsWithIgnoreCase(line, "Message-ID:")) {
          id = std::string(absl::StripAsciiWhitespace(line.substr(11)));
          if (absl::StartsWith(id, "<") && id.size() >= 2) id = id.substr(1, id.size() - 2);
          break;
        }
      }
      ++out[name][id];
    }
  }
  return out;
}

int64_t Count(const MailboxContents& contents) {
  int64_t n = 0;
  for (const auto& [mailbox, ids] : contents) {
    for (const auto& [id, copies] : ids) n += copies;
  }
  return n;
}

AuditResult Audit(const std::map<std::string, std::set<std::string>>& expected,
                  const MailboxContents& contents) {
  AuditResult r;
  auto example = [&](int64_t n, const std::string& text) {
    if (n <= 5) absl::StrAppend(&r.examples, text, "\n");
  };
  for (const auto& [mailbox, ids] : expected) {
    auto box = contents.find(mailbox);
    for (const std::string& id : ids) {
      const int copies = box == contents.end() || box->second.count(id) == 0 ? 0 : box->second.at(id);
      if (copies == 0) example(++r.missing, absl::StrCat(mailbox, " lacks ", id));
      if (copies > 1) example(++r.duplicated, absl::StrCat(mailbox, " holds ", id, " ", copies, " times"));
    }
  }
  for (const auto& [mailbox, ids] : contents) {
    auto box = expected.find(mailbox);
    for (const auto& [id, copies] : ids) {
      if (box == expected.end() || box->second.count(id) == 0) {
        example(++r.unexpected, absl::StrCat(mailbox, " holds ", id, ", which is not expected"));
      }
    }
  }
  return r;
}

int64_t SumDays(const json::Value& log, const char* field) {
  int64_t n = 0;
  for (const json::Value& d : json::Array(log, "days")) n += json::Int(d, field);
  return n;
}

}  // namespace zarc::testing
