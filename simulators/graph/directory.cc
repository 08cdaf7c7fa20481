#include "simulators/graph/directory.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"

namespace zarc::graph_sim {

const GraphUser* Directory::FindUser(absl::string_view id_or_upn) const {
  for (const GraphUser& u : users) {
    if (u.id == id_or_upn || absl::EqualsIgnoreCase(u.user_principal_name, id_or_upn)) return &u;
  }
  return nullptr;
}

const GraphGroup* Directory::FindGroup(absl::string_view id) const {
  for (const GraphGroup& g : groups) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

std::string StableGuid(absl::string_view seed) {
  const std::string h = crypto::Sha256Hex(seed);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-4", h.substr(13, 3), "-8",
                      h.substr(17, 3), "-", h.substr(20, 12));
}

absl::StatusOr<Directory> ParseDirectoryJson(absl::string_view text) {
  absl::StatusOr<json::Value> root = json::Parse(text, "Graph simulator users file");
  if (!root.ok()) return root.status();
  Directory dir;
  int index = 0;
  for (const json::Value& u : json::Array(*root, "users")) {
    const std::string where = absl::StrCat("users[", index++, "]");
    GraphUser user;
    user.user_principal_name = json::String(u, "userPrincipalName");
    if (user.user_principal_name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " has no userPrincipalName; every user needs one"));
    }
    user.id = json::String(u, "id", StableGuid(absl::AsciiStrToLower(user.user_principal_name)));
    user.display_name = json::String(u, "displayName", user.user_principal_name);
    user.mail = json::String(u, "mail");
    user.account_enabled = json::Bool(u, "accountEnabled", true);
    if (json::Has(u, "proxyAddresses")) {
      for (const json::Value& p : json::Array(u, "proxyAddresses")) {
        if (!p.IsString()) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ".proxyAddresses holds a non-string"));
        }
        user.proxy_addresses.push_back(p.AsString());
      }
    } else if (!user.mail.empty()) {
      user.proxy_addresses.push_back("SMTP:" + user.mail);
    }
    dir.users.push_back(std::move(user));
  }
  index = 0;
  for (const json::Value& g : json::Array(*root, "groups")) {
    const std::string where = absl::StrCat("groups[", index++, "]");
    GraphGroup group;
    group.display_name = json::String(g, "displayName");
    group.id = json::String(g, "id", StableGuid("group:" + group.display_name));
    for (const json::Value& m : json::Array(g, "members")) {
      const GraphUser* user = m.IsString() ? dir.FindUser(m.AsString()) : nullptr;
      if (user == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".members names ", m.IsString() ? m.AsString() : json::Serialize(m),
            ", which is no user's id or userPrincipalName"));
      }
      group.member_ids.push_back(user->id);
    }
    dir.groups.push_back(std::move(group));
  }
  return dir;
}

Directory DirectoryForZoomTenant(const zoom_sim::Tenant& tenant) {
  Directory dir;
  GraphGroup scope{.id = std::string(kScopeGroupId), .display_name = "Zoom archive scope"};
  const size_t n = tenant.users.size();
  for (size_t i = 0; i < n; ++i) {
    const zoom_sim::User& z = tenant.users[i];
    const std::string zoom_address = absl::AsciiStrToLower(z.email);
    GraphUser user;
    user.id = StableGuid(zoom_address);
    user.display_name = absl::StrCat(z.first_name, " ", z.last_name);
    user.user_principal_name = zoom_address;
    user.mail = zoom_address;
    user.proxy_addresses = {"SMTP:" + zoom_address};
    if (i % 3 == 1) {
      // The mailbox's primary address differs; Zoom's address is only a secondary proxy, in the
      // mixed case Exchange keeps as typed.
      const size_t at = zoom_address.find('@');
      const std::string local = zoom_address.substr(0, at);
      const std::string domain = zoom_address.substr(at + 1);
      user.mail = absl::StrCat("m365.", local, "@", domain);
      user.user_principal_name = user.mail;
      std::string mixed = z.email;
      if (!mixed.empty()) mixed[0] = absl::ascii_toupper(mixed[0]);
      user.proxy_addresses = {"SMTP:" + user.mail, "smtp:" + mixed};
    }
    if (n >= 3 && i == n - 1) user.account_enabled = false;
    if (n >= 3 && i == n - 2) {
      // Unlicensed: no mailbox, but Entra ID keeps the address among its proxy addresses.
      user.mail.clear();
      user.proxy_addresses = {"smtp:" + zoom_address};
    }
    if (i % 2 == 0) scope.member_ids.push_back(user.id);
    dir.users.push_back(std::move(user));
  }
  dir.groups.push_back(std::move(scope));
  return dir;
}

}  // namespace zarc::graph_sim
