#include "tests/support/mailbox_audit.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
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

namespace {

// The Message-ID header of a message, without its angle brackets.
std::string MessageIdOf(std::istream& in) {
  std::string line;
  while (std::getline(in, line) && line != "\r" && !line.empty()) {
    if (!absl::StartsWithIgnoreCase(line, "Message-ID:")) continue;
    std::string id(absl::StripAsciiWhitespace(line.substr(11)));
    if (absl::StartsWith(id, "<") && id.size() >= 2) id = id.substr(1, id.size() - 2);
    return id;
  }
  return "";
}

// Adds the Message-ID of every file in `folder` for which `take(path)` holds to `ids`.
template <typename Take>
void CountMessageIds(const std::filesystem::path& folder, Take take, std::map<std::string, int>& ids) {
  std::error_code ec;
  if (!std::filesystem::exists(folder, ec)) return;
  for (const auto& f : std::filesystem::directory_iterator(folder, ec)) {
    if (!f.is_regular_file(ec) || !take(f.path())) continue;
    std::ifstream in(f.path());
    ++ids[MessageIdOf(in)];
  }
}

// The mailbox folders under `root`, one per mailbox, named by their address.
template <typename Visit>
void ForEachMailbox(const std::string& root, Visit visit) {
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return;
  for (const auto& box : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = box.path().filename().string();
    if (!box.is_directory() || absl::StartsWith(name, ".")) continue;
    visit(name, box.path());
  }
}

}  // namespace

MailboxContents ReadEmlMailboxes(const std::string& mailboxes_root) {
  MailboxContents out;
  ForEachMailbox(mailboxes_root, [&](const std::string& name, const std::filesystem::path& box) {
    CountMessageIds(box / "Inbox" / "Zoom Meetings",
                    [](const std::filesystem::path& p) { return p.extension() == ".eml"; }, out[name]);
    if (out[name].empty()) out.erase(name);
  });
  return out;
}

MailboxContents ReadMaildirMailboxes(const std::string& mail_root) {
  MailboxContents out;
  ForEachMailbox(mail_root, [&](const std::string& name, const std::filesystem::path& box) {
    std::error_code ec;
    if (!std::filesystem::exists(box / "Maildir", ec)) return;
    for (const auto& folder : std::filesystem::directory_iterator(box / "Maildir", ec)) {
      // Maildir++ names a subfolder by its path with '.' separators: ".INBOX.Zoom Meetings".
      if (!absl::EndsWith(folder.path().filename().string(), ".Zoom Meetings")) continue;
      for (const char* sub : {"cur", "new"}) {
        CountMessageIds(folder.path() / sub, [](const std::filesystem::path&) { return true; }, out[name]);
      }
    }
    if (out[name].empty()) out.erase(name);
  });
  return out;
}

std::vector<std::string> MessagesWithId(const std::string& mailboxes_root, const std::string& id) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(mailboxes_root, ec)) return out;
  for (const auto& f : std::filesystem::recursive_directory_iterator(mailboxes_root, ec)) {
    if (f.path().extension() != ".eml") continue;
    std::ifstream in(f.path(), std::ios::binary);
    if (MessageIdOf(in) != id) continue;
    in.clear();
    in.seekg(0);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

std::string PlainBody(const std::string& message) {
  const size_t part = message.find("Content-Type: text/plain");
  if (part == std::string::npos) return "";
  const size_t header_end = message.find("\r\n\r\n", part);
  if (header_end == std::string::npos) return "";
  const size_t start = header_end + 4;
  std::string encoded = message.substr(start, message.find("\r\n--", start) - start);
  std::erase(encoded, '\r');
  std::erase(encoded, '\n');
  absl::StatusOr<std::string> body = crypto::Base64Decode(encoded);
  return body.ok() ? *body : "";
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
