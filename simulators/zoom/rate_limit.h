#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace zarc::zoom_sim {

// Zoom's rate-limit categories (README "Rate limits"): per account, shared by all apps.
enum class Category { kLight = 0, kMedium = 1, kHeavy = 2 };
inline constexpr int kCategoryCount = 3;
absl::string_view CategoryName(Category category);  // "Light", "Medium", "Heavy"

struct CategoryLimit {
  int per_second = 0;   // 0: unlimited
  int64_t per_day = 0;  // 0: unlimited
};

struct RateLimits {
  std::array<CategoryLimit, kCategoryCount> limits;
  CategoryLimit& operator[](Category c) { return limits[static_cast<int>(c)]; }
  const CategoryLimit& operator[](Category c) const { return limits[static_cast<int>(c)]; }
};

// The published table: "pro" (30/20/10 per second) or "business" (80/60/40 per second, Heavy with
// a daily pool of 60,000), or "unlimited".
absl::StatusOr<RateLimits> LimitsForPlan(absl::string_view plan);

// What Admit decided. When refused, the fields fill Zoom's 429 headers.
struct RateDecision {
  bool allowed = true;
  bool daily = false;  // refused by the daily limit (X-RateLimit-Type: Daily-limit), else QPS
  int64_t limit = 0;
  int64_t remaining = 0;
  std::string retry_after;  // seconds ("1") for QPS, ISO date-time of next UTC midnight for daily
};

struct CategoryStats {
  int64_t requests = 0;
  int64_t accepted = 0;
  int64_t rejected_qps = 0;
  int64_t rejected_daily = 0;
  int64_t max_requests_in_second = 0;   // all arrivals in one wall-clock second
  int64_t max_accepted_in_second = 0;
};

// Fixed one-second windows (like Zoom's per-second limits) and UTC-day windows. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimits limits) : limits_(limits) {}

  RateDecision Admit(Category category, absl::Time now);
  void SetLimits(const RateLimits& limits);
  RateLimits limits() const;
  CategoryStats Stats(Category category) const;
  void ResetStats();

 private:
  struct Window {
    int64_t second = -1;
    int64_t in_second = 0;
    int64_t accepted_in_second = 0;
    int64_t day = -1;
    int64_t accepted_in_day = 0;
    CategoryStats stats;
  };

  mutable absl::Mutex mu_;
  RateLimits limits_ ABSL_GUARDED_BY(mu_);
  std::array<Window, kCategoryCount> windows_ ABSL_GUARDED_BY(mu_);
};

}  // namespace zarc::zoom_sim
