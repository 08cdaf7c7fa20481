#include "services/mapper/resolver.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/mapper/cache.h"
#include "services/mapper/custom_mapping.h"
#include "services/mapper/graph_client.h"

namespace zarc::mapper {

using zarc::v1::AddressResolution;
using zarc::v1::MappingRule;

bool Delivers(MappingRule rule) {
  return rule == zarc::v1::MAPPING_RULE_CUSTOM_MAPPING || rule == zarc::v1::MAPPING_RULE_MAIL ||
         rule == zarc::v1::MAPPING_RULE_PROXY_ADDRESS || rule == zarc::v1::MAPPING_RULE_FALLBACK;
}

std::string RuleName(MappingRule rule) {
  std::string name = zarc::v1::MappingRule_Name(rule);
  absl::string_view n = name;
  if (absl::ConsumePrefix(&n, "MAPPING_RULE_")) return absl::AsciiStrToLower(n);
  return absl::AsciiStrToLower(name);
}

struct DirectoryResolver::Metrics {
  prometheus::Family<prometheus::Counter>* resolutions = nullptr;
};

DirectoryResolver::DirectoryResolver(ResolverOptions options, CustomMapping* mapping,
                                     LookupCache* cache, GraphClient* graph,
                                     prometheus::Registry* registry)
    : options_(std::move(options)),
      mapping_(mapping),
      cache_(cache),
      graph_(graph),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->resolutions = &prometheus::BuildCounter()
                                 .Name("zarc_mapper_resolutions_total")
                                 .Help("Participant addresses resolved, by the rule that decided")
                                 .Register(*registry);
  }
}

DirectoryResolver::~DirectoryResolver() = default;

bool DirectoryResolver::InTenant(const std::string& address) const {
  if (options_.tenant_domains.empty()) return true;
  const std::string domain = address.substr(address.rfind('@') + 1);
  for (const std::string& d : options_.tenant_domains) {
    if (absl::EqualsIgnoreCase(domain, d) || absl::EndsWithIgnoreCase(domain, "." + d)) return true;
  }
  return false;
}

absl::Status DirectoryResolver::CheckGroup(const std::string& user_id, bool* member) {
  absl::MutexLock lock(&group_mutex_);
  if (Now() - group_fetched_ >= options_.group_refresh) {
    absl::StatusOr<std::set<std::string>> ids = graph_->GroupMemberIds(options_.group_id);
    if (!ids.ok()) return ids.status();
    group_members_ = *std::move(ids);
    group_fetched_ = Now();
  }
  *member = group_members_.count(user_id) > 0;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AddressResolution>> DirectoryResolver::Resolve(
    const std::vector<std::string>& addresses) {
  const bool use_graph = options_.mode != "csv-only" && graph_ != nullptr;
  std::vector<AddressResolution> out(addresses.size());
  std::vector<std::string> custom_target(addresses.size());
  // Lower-cased address -> what the directory says; filled from the cache, then Graph.
  std::map<std::string, std::optional<DirectoryUser>> known;
  // Lower-cased address -> why Graph refused to look it up (the address's problem, see FindUsers).
  std::map<std::string, std::string> refused;
  std::vector<std::string> to_look_up;
  auto need = [&](const std::string& key) {
    if (!use_graph || known.count(key)) return;
    if (cache_ != nullptr) {
      if (std::optional<CachedLookup> hit = cache_->Get(key)) {
        known[key] = std::move(hit->user);
        return;
      }
    }
    known[key] = std::nullopt;
    to_look_up.push_back(key);
  };

  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string address = absl::AsciiStrToLower(absl::StripAsciiWhitespace(addresses[i]));
    AddressResolution& r = out[i];
    r.set_address(address);
    const size_t at = address.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == address.size()) {
      r.set_rule(zarc::v1::MAPPING_RULE_NOT_FOUND);
      r.set_reason(absl::StrCat("\"", address, "\" is not an e-mail address"));
      continue;
    }
    if (mapping_ != nullptr) {
      if (std::optional<std::string> target = mapping_->Lookup(address)) {
        custom_target[i] = absl::AsciiStrToLower(*target);
        r.set_rule(zarc::v1::MAPPING_RULE_CUSTOM_MAPPING);
        need(custom_target[i]);
        continue;
      }
    }
    if (!InTenant(address)) {
      r.set_rule(zarc::v1::MAPPING_RULE_EXTERNAL);
      r.set_reason(absl::StrCat(address, " is outside the tenant's domains (",
                                absl::StrJoin(options_.tenant_domains, ", "),
                                "): external participants are recorded, never delivered"));
      continue;
    }
    if (!use_graph) {
      r.set_rule(zarc::v1::MAPPING_RULE_MAIL);
      r.set_mailbox(address);
      r.set_reason(
          "csv-only mode: an address in the tenant's domains that the custom mapping "
          "does not name is delivered to itself");
      continue;
    }
    need(address);
  }

  if (!to_look_up.empty()) {
    std::vector<std::string> why_refused;
    absl::StatusOr<std::vector<std::optional<DirectoryUser>>> found =
        graph_->FindUsers(to_look_up, &why_refused);
    if (!found.ok()) return found.status();
    for (size_t k = 0; k < to_look_up.size(); ++k) {
      known[to_look_up[k]] = (*found)[k];
      // A refusal is not cached: the next item asks again (the refusal may be fixed by then).
      if (!why_refused[k].empty()) {
        refused[to_look_up[k]] = std::move(why_refused[k]);
      } else if (cache_ != nullptr) {
        cache_->Put(to_look_up[k], CachedLookup{(*found)[k]});
      }
    }
  }

  for (size_t i = 0; i < addresses.size(); ++i) {
    AddressResolution& r = out[i];
    const std::string& address = r.address();
    if (r.rule() == zarc::v1::MAPPING_RULE_CUSTOM_MAPPING) {
      const std::string& target = custom_target[i];
      const std::optional<DirectoryUser>* user = use_graph ? &known[target] : nullptr;
      if (user != nullptr && user->has_value()) {
        const DirectoryUser& u = **user;
        r.set_mailbox(absl::AsciiStrToLower(u.mail.empty() ? u.user_principal_name : u.mail));
        r.set_mailbox_id(u.id);
      } else {
        r.set_mailbox(target);
      }
      auto why = refused.find(target);
      r.set_reason(absl::StrCat(
          "the custom mapping maps ", address, " to ", target,
          why != refused.end() ? absl::StrCat(" (", why->second, "; delivered by address)")
          : user != nullptr && !user->has_value()
              ? " (Graph knows no user by that address; delivered by address)"
              : ""));
    } else if (r.rule() == zarc::v1::MAPPING_RULE_UNSPECIFIED) {
      const std::optional<DirectoryUser>& user = known[address];
      if (auto why = refused.find(address); why != refused.end()) {
        r.set_rule(zarc::v1::MAPPING_RULE_NOT_FOUND);
        r.set_reason(absl::StrCat(why->second, "; not delivered to this address"));
      } else if (!user.has_value()) {
        r.set_rule(zarc::v1::MAPPING_RULE_NOT_FOUND);
        r.set_reason(
            absl::StrCat("no Microsoft 365 user has ", address, " as mail or proxy address"));
      } else {
        const DirectoryUser& u = *user;
        const bool by_mail = absl::EqualsIgnoreCase(u.mail, address);
        r.set_mailbox_id(u.id);
        bool member = true;
        if (!options_.group_id.empty()) {
          if (absl::Status s = CheckGroup(u.id, &member); !s.ok()) return s;
        }
        if (!u.account_enabled && !options_.deliver_to_disabled) {
          r.set_rule(zarc::v1::MAPPING_RULE_DISABLED);
          r.set_reason(absl::StrCat("the Microsoft 365 account ", u.user_principal_name, " of ",
                                    address, " is disabled"));
        } else if (u.mail.empty() && !options_.deliver_to_disabled) {
          r.set_rule(zarc::v1::MAPPING_RULE_DISABLED);
          r.set_reason(absl::StrCat("no mailbox: the Microsoft 365 user ", u.user_principal_name,
                                    " of ", address, " has no mail address"));
        } else if (!member) {
          r.set_rule(zarc::v1::MAPPING_RULE_OUT_OF_SCOPE);
          r.set_reason(absl::StrCat("the Microsoft 365 user ", u.user_principal_name, " of ",
                                    address, " is not a member of group ", options_.group_id));
        } else {
          r.set_rule(by_mail ? zarc::v1::MAPPING_RULE_MAIL : zarc::v1::MAPPING_RULE_PROXY_ADDRESS);
          r.set_mailbox(absl::AsciiStrToLower(u.mail.empty() ? u.user_principal_name : u.mail));
          r.set_reason(
              by_mail ? absl::StrCat(address, " is the mail address of ", u.user_principal_name)
                      : absl::StrCat(address, " is a proxy address of ", u.user_principal_name,
                                     " (primary address ", u.mail.empty() ? "none" : u.mail, ")"));
        }
      }
    }
    if (metrics_->resolutions != nullptr) {
      metrics_->resolutions->Add({{"rule", RuleName(r.rule())}}).Increment();
    }
  }
  return out;
}

}  // namespace zarc::mapper
