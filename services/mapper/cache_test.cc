#include "services/mapper/cache.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

namespace zarc::mapper {
namespace {

double CounterValue(prometheus::Registry& registry, const std::string& name,
                    const std::string& label_value) {
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      for (const prometheus::ClientMetric::Label& l : m.label) {
        if (l.value == label_value) return m.counter.value;
      }
    }
  }
  return -1;
}

TEST(LookupCacheTest, PositiveAndNegativeEntriesExpireAfterTheirOwnTtl) {
  absl::Time now = absl::FromUnixSeconds(0);
  prometheus::Registry registry;
  LookupCache cache({.positive_ttl = absl::Hours(24), .negative_ttl = absl::Hours(1)}, &registry,
                    [&] { return now; });
  cache.Put("Ann@corp.test", {DirectoryUser{.id = "u-ann", .mail = "ann@corp.test"}});
  cache.Put("ghost@corp.test", {std::nullopt});

  std::optional<CachedLookup> ann = cache.Get("ann@CORP.test");
  ASSERT_TRUE(ann.has_value());
  EXPECT_EQ(ann->user->id, "u-ann");
  ASSERT_TRUE(cache.Get("ghost@corp.test").has_value());
  EXPECT_FALSE(cache.Get("ghost@corp.test")->user.has_value());

  now += absl::Hours(2);
  EXPECT_FALSE(cache.Get("ghost@corp.test").has_value()) << "negative TTL passed";
  EXPECT_TRUE(cache.Get("ann@corp.test").has_value());
  now += absl::Hours(23);
  EXPECT_FALSE(cache.Get("ann@corp.test").has_value()) << "positive TTL passed";

  EXPECT_EQ(cache.hits(), 4);
  EXPECT_EQ(cache.misses(), 2);
  EXPECT_EQ(CounterValue(registry, "zarc_mapper_cache_requests_total", "hit"), 4);
  EXPECT_EQ(CounterValue(registry, "zarc_mapper_cache_requests_total", "miss"), 2);
}

TEST(LookupCacheTest, EvictsTheLeastRecentlyUsedEntryWhenFull) {
  LookupCache cache({.max_entries = 2}, nullptr);
  cache.Put("a@x.test", {std::nullopt});
  cache.Put("b@x.test", {std::nullopt});
  ASSERT_TRUE(cache.Get("a@x.test").has_value());  // b is now the least recently used
  cache.Put("c@x.test", {std::nullopt});
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.Get("a@x.test").has_value());
  EXPECT_FALSE(cache.Get("b@x.test").has_value());
  EXPECT_TRUE(cache.Get("c@x.test").has_value());
}

}  // namespace
}  // namespace zarc::mapper
