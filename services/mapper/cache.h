#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/mapper/graph_client.h"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace zarc::mapper {

// What Graph said about one address: the user it belongs to, or that none does.
struct CachedLookup {
  std::optional<DirectoryUser> user;
};

struct CacheOptions {
  absl::Duration positive_ttl = absl::Hours(24);  // an address that belongs to a user
  absl::Duration negative_ttl = absl::Hours(1);   // an address no user has
  size_t max_entries = 100000;                    // least recently used entries go first
};

// Directory lookups by lower-cased address, so a large tenant asks Graph about each address once
// per TTL rather than once per meeting. Thread-safe. Metrics:
// zarc_mapper_cache_requests_total{result="hit|miss"}.
class LookupCache {
 public:
  LookupCache(CacheOptions options, prometheus::Registry* metrics,
              std::function<absl::Time()> now = nullptr);
  ~LookupCache();

  // A fresh entry for `address` (any case), counted as a hit; nullopt (a miss) otherwise.
  std::optional<CachedLookup> Get(absl::string_view address);
  void Put(absl::string_view address, CachedLookup lookup);

  int64_t hits() const;
  int64_t misses() const;
  size_t size() const;

 private:
  struct Entry {
    CachedLookup lookup;
    absl::Time expires;
    std::list<std::string>::iterator position;  // in lru_
  };
  absl::Time Now() const { return now_ ? now_() : absl::Now(); }

  const CacheOptions options_;
  const std::function<absl::Time()> now_;
  prometheus::Counter* hit_counter_ = nullptr;
  prometheus::Counter* miss_counter_ = nullptr;

  mutable absl::Mutex mutex_;
  std::unordered_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  std::list<std::string> lru_ ABSL_GUARDED_BY(mutex_);  // most recently used first
  int64_t hits_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t misses_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace zarc::mapper
