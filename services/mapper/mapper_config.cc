#include "services/mapper/mapper_config.h"

#include "absl/strings/str_cat.h"
#include "runtime/common_options/common_options.h"

namespace zarc::mapper {

config::Schema<MapperConfig> MapperSchema() {
  config::Schema<MapperConfig> s;
  s.Include(service::HostSchema(7003, 9403), &MapperConfig::host)
      .Include(common_options::KafkaSchema("zarc-mapper"), &MapperConfig::kafka)
      .Include(common_options::StageSchema(), &MapperConfig::stage)
      .Include(common_options::GraphSchema(
                   "needs User.Read.All (and GroupMember.Read.All with mapper.group_id) as "
                   "application permissions",
                   "how long one lookup keeps waiting out 429s and failures before the item is "
                   "retried later"),
               &MapperConfig::graph)
      .Enum("mapper.mode", &MapperConfig::mode, "graph", {"graph", "csv-only"},
            "graph: Microsoft Graph resolves addresses; csv-only: no Graph, the custom mapping "
            "and tenant domains decide and an in-domain address maps to itself (embedded demo)")
      .String("mapper.custom_mapping_file", &MapperConfig::custom_mapping_file, "",
              "CSV with header zoom_email,m365_address; its rows win over automatic mapping")
      .Duration("mapper.custom_mapping_check_interval",
                &MapperConfig::custom_mapping_check_interval, "30s",
                "how often the custom mapping file is checked for changes")
      .List("mapper.tenant_domains", &MapperConfig::tenant_domains, "",
            "the tenant's e-mail domains (subdomains included); other addresses are external "
            "and never delivered; empty: every address is internal")
      .String("mapper.fallback_mailbox", &MapperConfig::fallback_mailbox, "",
              "mailbox for items no participant maps to; empty: such items fail with \"no "
              "participant could be mapped\" (as the Microsoft connector)")
      .Bool("mapper.deliver_to_disabled", &MapperConfig::deliver_to_disabled, false,
            "deliver to disabled accounts and users without a mailbox instead of skipping them")
      .String("mapper.group_id", &MapperConfig::group_id, "",
              "only members of this Microsoft 365 group (object id) get deliveries")
      .Duration("mapper.cache_positive_ttl", &MapperConfig::cache_positive_ttl, "24h",
                "how long an address found in the directory is remembered")
      .Duration("mapper.cache_negative_ttl", &MapperConfig::cache_negative_ttl, "1h",
                "how long an address no user has is remembered")
      .Int("mapper.cache_max_entries", &MapperConfig::cache_max_entries, 100000, 0, 100000000,
           "addresses remembered at most (least recently used go first); 0 turns the cache off")
      .Check([](const MapperConfig& c) -> absl::Status {
        if (c.mode == "graph" && !c.graph.HasCredentials()) {
          return absl::InvalidArgumentError(absl::StrCat(
              common_options::RequireGraphCredentials(c.graph, "mapper.mode=graph").message(),
              "; or set mapper.mode=csv-only to run without Graph"));
        }
        if (c.mode == "csv-only" && !c.group_id.empty()) {
          return absl::InvalidArgumentError(
              "mapper.group_id needs Graph to check membership; it cannot be used with "
              "mapper.mode=csv-only");
        }
        if (!c.fallback_mailbox.empty() && c.fallback_mailbox.find('@') == std::string::npos) {
          return absl::InvalidArgumentError(absl::StrCat(
              "mapper.fallback_mailbox \"", c.fallback_mailbox, "\" is not an e-mail address"));
        }
        return absl::OkStatus();
      });
  return s;
}

}  // namespace zarc::mapper
