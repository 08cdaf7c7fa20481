#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "simulators/zoom/tenant.h"

namespace zarc::graph_sim {

// A Microsoft Entra ID user as the simulator serves it (the properties zarc reads).
struct GraphUser {
  std::string id;  // a GUID
  std::string display_name;
  std::string mail;  // primary SMTP address; empty: the user has no mailbox
  std::string user_principal_name;
  bool account_enabled = true;
  // "SMTP:" marks the primary address, "smtp:" the others (Exchange's convention).
  std::vector<std::string> proxy_addresses;
};

struct GraphGroup {
  std::string id;
  std::string display_name;
  std::vector<std::string> member_ids;
};

// The simulated tenant's directory. Plain data.
struct Directory {
  std::vector<GraphUser> users;
  std::vector<GraphGroup> groups;

  // By id or userPrincipalName (case-insensitive), as /users/{id | userPrincipalName} does.
  const GraphUser* FindUser(absl::string_view id_or_upn) const;
  const GraphGroup* FindGroup(absl::string_view id) const;
};

// A stable GUID-shaped id derived from `seed` text.
std::string StableGuid(absl::string_view seed);

// Loads a directory from JSON (format in simulators/graph/README.md):
// {"users":[{"id","displayName","mail","userPrincipalName","accountEnabled","proxyAddresses"}],
//  "groups":[{"id","displayName","members":[user id or userPrincipalName]}]}.
// Missing ids are derived from the UPN; a group member that names no user is an error.
absl::StatusOr<Directory> ParseDirectoryJson(absl::string_view json);

// What the simulator's Graph tenant looks like for a Zoom simulator tenant (README.md, "Users
// generated from a Zoom tenant"): every Zoom user gets a Graph user whose mail is the Zoom address,
// except that every third user (index 1, 4, 7, ...) has a different primary address and the Zoom
// address only as a mixed-case "smtp:" proxy address; with three or more users the last one is
// disabled and the one before it has no mailbox (no mail; its
// Zoom address kept as an "smtp:" proxy address, as Entra ID does for an unlicensed user). Group
// kScopeGroupId holds every user with an even index.
Directory DirectoryForZoomTenant(const zoom_sim::Tenant& tenant);

inline constexpr absl::string_view kScopeGroupId = "5c0de000-0000-4000-8000-00000000a11e";

}  // namespace zarc::graph_sim
