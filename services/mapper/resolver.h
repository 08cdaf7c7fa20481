#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "zarc/v1/events.pb.h"

namespace prometheus {
class Registry;
}

namespace zarc::mapper {

class CustomMapping;
class GraphClient;
class LookupCache;

// Turns participant addresses into Microsoft 365 mailboxes, saying for each which rule decided
// it and why in plain words. Implementations are thread-safe.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // One resolution per address, in order. An error only when the directory cannot be asked
  // (Graph down or throttled beyond patience, credentials refused): never for an address. An
  // address Graph refuses to look up (GraphClient::FindUsers) is NOT_FOUND with Graph's answer
  // as the reason, so one poison address never holds up an item.
  virtual absl::StatusOr<std::vector<zarc::v1::AddressResolution>> Resolve(
      const std::vector<std::string>& addresses) = 0;
};

// True for the rules that deliver to a mailbox (custom mapping, mail, proxy address, fallback).
bool Delivers(zarc::v1::MappingRule rule);
std::string RuleName(zarc::v1::MappingRule rule);  // "mail", "proxy_address", ...

struct ResolverOptions {
  // "graph": Microsoft Graph decides; "csv-only": no Graph, an in-domain address that is not in
  // the custom mapping is delivered to itself (rule MAIL) — for the embedded demo.
  std::string mode = "graph";
  // Addresses outside these domains (or their subdomains) are EXTERNAL; empty: all internal.
  std::vector<std::string> tenant_domains;
  // Deliver to disabled accounts and users without a mailbox (by UPN) instead of skipping them.
  bool deliver_to_disabled = false;
  // Only members of this Microsoft 365 group get deliveries; empty: everyone.
  std::string group_id;
  absl::Duration group_refresh = absl::Hours(1);
  std::function<absl::Time()> now;
};

// The mapper's resolver. Order for each address: the custom mapping, then the tenant-domain check,
// then the cache, then Graph (by mail or any proxy address, case-insensitively), then NOT_FOUND.
// A found user may still be DISABLED (disabled account, or no mailbox) or OUT_OF_SCOPE (not in the
// group). Addresses missing from the cache are looked up in one FindUsers call ($batch).
// `mapping`, `cache` and `graph` may be null (no custom mapping, no cache, csv-only mode); all
// that are given must outlive the resolver. Metric: zarc_mapper_resolutions_total{rule}.
class DirectoryResolver final : public Resolver {
 public:
  DirectoryResolver(ResolverOptions options, CustomMapping* mapping, LookupCache* cache,
                    GraphClient* graph, prometheus::Registry* metrics);
  ~DirectoryResolver() override;

  absl::StatusOr<std::vector<zarc::v1::AddressResolution>> Resolve(
      const std::vector<std::string>& addresses) override;

 private:
  struct Metrics;
  bool InTenant(const std::string& address) const;
  absl::Status CheckGroup(const std::string& user_id, bool* member);
  absl::Time Now() const { return options_.now ? options_.now() : absl::Now(); }

  const ResolverOptions options_;
  CustomMapping* const mapping_;
  LookupCache* const cache_;
  GraphClient* const graph_;
  std::unique_ptr<Metrics> metrics_;

  absl::Mutex group_mutex_;
  std::set<std::string> group_members_ ABSL_GUARDED_BY(group_mutex_);
  absl::Time group_fetched_ ABSL_GUARDED_BY(group_mutex_) = absl::InfinitePast();
};

}  // namespace zarc::mapper
