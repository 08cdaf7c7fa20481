#include "services/mapper/cache.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/strings/ascii.h"

namespace zarc::mapper {

LookupCache::LookupCache(CacheOptions options, prometheus::Registry* metrics,
                         std::function<absl::Time()> now)
    : options_(options), now_(std::move(now)) {
  if (metrics != nullptr) {
    auto& family = prometheus::BuildCounter()
                       .Name("zarc_mapper_cache_requests_total")
                       .Help("Directory cache lookups by result (hit ratio = hit / all)")
                       .Register(*metrics);
    hit_counter_ = &family.Add({{"result", "hit"}});
    miss_counter_ = &family.Add({{"result", "miss"}});
  }
}

LookupCache::~LookupCache() = default;

std::optional<CachedLookup> LookupCache::Get(absl::string_view address) {
  const std::string key = absl::AsciiStrToLower(address);
  const absl::Time now = Now();
  absl::MutexLock lock(&mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end() && now >= it->second.expires) {
    lru_.erase(it->second.position);
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    ++misses_;
    if (miss_counter_ != nullptr) miss_counter_->Increment();
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.position);
  ++hits_;
  if (hit_counter_ != nullptr) hit_counter_->Increment();
  return it->second.lookup;
}

void LookupCache::Put(absl::string_view address, CachedLookup lookup) {
  if (options_.max_entries == 0) return;
  const std::string key = absl::AsciiStrToLower(address);
  const absl::Time expires =
      Now() + (lookup.user.has_value() ? options_.positive_ttl : options_.negative_ttl);
  absl::MutexLock lock(&mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    it->second.lookup = std::move(lookup);
    it->second.expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second.position);
    return;
  }
  while (entries_.size() >= options_.max_entries) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(lookup), expires, lru_.begin()});
}

int64_t LookupCache::hits() const {
  absl::MutexLock lock(&mutex_);
  return hits_;
}
int64_t LookupCache::misses() const {
  absl::MutexLock lock(&mutex_);
  return misses_;
}
size_t LookupCache::size() const {
  absl::MutexLock lock(&mutex_);
  return entries_.size();
}

}  // namespace zarc::mapper
