#include "simulators/graph/directory.h"

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace zarc::graph_sim {
namespace {

TEST(DirectoryTest, ZoomTenantUsersGetMailboxesWithTheDocumentedExceptions) {
  zoom_sim::TenantOptions options;
  options.users = 6;
  options.meetings = 0;
  const zoom_sim::Tenant tenant = zoom_sim::GenerateTenant(options);
  const Directory dir = DirectoryForZoomTenant(tenant);
  ASSERT_EQ(dir.users.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    const GraphUser& u = dir.users[i];
    const std::string zoom = absl::AsciiStrToLower(tenant.users[i].email);
    SCOPED_TRACE(zoom);
    EXPECT_EQ(u.account_enabled, i != 5);
    if (i == 4) {
      EXPECT_TRUE(u.mail.empty()) << "the user before the last has no mailbox";
    } else if (i % 3 == 1) {
      EXPECT_NE(u.mail, zoom);
      ASSERT_EQ(u.proxy_addresses.size(), 2u);
      EXPECT_TRUE(absl::StartsWith(u.proxy_addresses[1], "smtp:"));
      EXPECT_TRUE(absl::EqualsIgnoreCase(u.proxy_addresses[1], "smtp:" + zoom));
      EXPECT_NE(u.proxy_addresses[1], "smtp:" + zoom) << "mixed case expected";
    } else {
      EXPECT_EQ(u.mail, zoom);
    }
  }
  const GraphGroup* scope = dir.FindGroup(kScopeGroupId);
  ASSERT_NE(scope, nullptr);
  EXPECT_EQ(scope->member_ids.size(), 3u);
  EXPECT_EQ(scope->member_ids[0], dir.users[0].id);
}

TEST(DirectoryTest, ParsesUsersAndGroupsFromJson) {
  absl::StatusOr<Directory> dir = ParseDirectoryJson(R"({
    "users": [
      {"userPrincipalName": "ann@corp.test", "mail": "ann@corp.test"},
      {"id": "u2", "userPrincipalName": "bob@corp.test", "mail": "Bob@corp.test",
       "accountEnabled": false, "proxyAddresses": ["SMTP:Bob@corp.test", "smtp:rob@corp.test"]}
    ],
    "groups": [{"id": "g1", "displayName": "Archive", "members": ["ann@corp.test", "u2"]}]
  })");
  ASSERT_TRUE(dir.ok()) << dir.status();
  ASSERT_EQ(dir->users.size(), 2u);
  EXPECT_EQ(dir->users[0].id, StableGuid("ann@corp.test"));
  EXPECT_EQ(dir->users[0].proxy_addresses, std::vector<std::string>{"SMTP:ann@corp.test"});
  EXPECT_FALSE(dir->users[1].account_enabled);
  EXPECT_EQ(dir->FindUser("BOB@corp.test"), &dir->users[1]);
  EXPECT_EQ(dir->FindGroup("g1")->member_ids, (std::vector<std::string>{dir->users[0].id, "u2"}));
}

TEST(DirectoryTest, RejectsAGroupMemberThatIsNoUser) {
  absl::StatusOr<Directory> dir = ParseDirectoryJson(
      R"({"users":[{"userPrincipalName":"a@x.test"}],"groups":[{"id":"g","members":["nobody"]}]})");
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(absl::StrContains(dir.status().message(), "nobody")) << dir.status();
  EXPECT_FALSE(ParseDirectoryJson(R"({"users":[{"mail":"a@x.test"}]})").ok());
}

}  // namespace
}  // namespace zarc::graph_sim
