#include "simulators/zoom/rate_limit.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace zarc::zoom_sim {

absl::string_view CategoryName(Category category) {
  switch (category) {
    case Category::kLight:
      return "Light";
    case Category::kMedium:
      return "Medium";
    case Category::kHeavy:
      return "Heavy";
  }
  return "Light";
}

absl::StatusOr<RateLimits> LimitsForPlan(absl::string_view plan) {
  RateLimits limits;
  const std::string lower = absl::AsciiStrToLower(plan);
  if (lower == "pro") {
    limits[Category::kLight] = {30, 0};
    limits[Category::kMedium] = {20, 0};
    limits[Category::kHeavy] = {10, 0};
  } else if (lower == "business") {
    limits[Category::kLight] = {80, 0};
    limits[Category::kMedium] = {60, 0};
    limits[Category::kHeavy] = {40, 60000};
  } else if (lower != "unlimited") {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown plan \"", plan, "\"; use \"pro\", \"business\" or \"unlimited\""));
  }
  return limits;
}

RateDecision RateLimiter::Admit(Category category, absl::Time now) {
  absl::MutexLock lock(&mu_);
  const CategoryLimit& limit = limits_[category];
  Window& w = windows_[static_cast<int>(category)];
  const int64_t second = absl::ToUnixSeconds(now);
  const int64_t day = second / 86400 - (second < 0 && second % 86400 != 0 ? 1 : 0);
  if (second != w.second) {
    w.second = second;
    w.in_second = 0;
    w.accepted_in_second = 0;
  }
  if (day != w.day) {
    w.day = day;
    w.accepted_in_day = 0;
  }
  ++w.in_second;
  ++w.stats.requests;
  w.stats.max_requests_in_second = std::max(w.stats.max_requests_in_second, w.in_second);

  RateDecision decision;
  if (limit.per_day > 0 && w.accepted_in_day >= limit.per_day) {
    ++w.stats.rejected_daily;
    decision.allowed = false;
    decision.daily = true;
    decision.limit = limit.per_day;
    decision.remaining = 0;
    decision.retry_after = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                            absl::FromUnixSeconds((day + 1) * 86400),
                                            absl::UTCTimeZone());
    return decision;
  }
  if (limit.per_second > 0 && w.accepted_in_second >= limit.per_second) {
    ++w.stats.rejected_qps;
    decision.allowed = false;
    decision.limit = limit.per_second;
    decision.remaining = 0;
    // Built, not assigned from a literal: GCC 12 gives a false -Wrestrict on the latter.
    decision.retry_after = absl::StrCat(1);
    return decision;
  }
  ++w.accepted_in_second;
  ++w.accepted_in_day;
  ++w.stats.accepted;
  w.stats.max_accepted_in_second = std::max(w.stats.max_accepted_in_second, w.accepted_in_second);
  if (limit.per_day > 0) {
    decision.limit = limit.per_day;
    decision.remaining = limit.per_day - w.accepted_in_day;
  } else {
    decision.limit = limit.per_second;
    decision.remaining = limit.per_second > 0 ? limit.per_second - w.accepted_in_second : 0;
  }
  return decision;
}

void RateLimiter::SetLimits(const RateLimits& limits) {
  absl::MutexLock lock(&mu_);
  limits_ = limits;
}

RateLimits RateLimiter::limits() const {
  absl::MutexLock lock(&mu_);
  return limits_;
}

CategoryStats RateLimiter::Stats(Category category) const {
  absl::MutexLock lock(&mu_);
  return windows_[static_cast<int>(category)].stats;
}

void RateLimiter::ResetStats() {
  absl::MutexLock lock(&mu_);
  for (Window& w : windows_) w.stats = CategoryStats{};
}

}  // namespace zarc::zoom_sim
