#include "simulators/zoom/faults.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

using json::Value;

absl::Status ReadRule(const Value& v, absl::string_view name, FaultRule& rule) {
  if (!v.IsObject()) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault \"", name, "\" must be an object like {\"every_n\": 3} or "
                     "{\"probability\": 0.1}, got ", v.Serialize()));
  }
  for (const auto& [key, field] : v.AsObject()) {
    if (key == "every_n" && field.IsInteger()) {
      rule.every_n = field.AsInt();
    } else if (key == "probability" && field.IsNumber()) {
      rule.probability = field.AsDouble();
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("fault \"", name, "\": field \"", key, "\" = ", field.Serialize(),
                       " is not allowed; use every_n (integer) and probability (number)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateFaultConfig(const FaultConfig& c) {
  for (const auto& [name, rule] : {std::pair<const char*, const FaultRule&>{"error", c.error},
                                   {"slow", c.slow},
                                   {"truncate", c.truncate},
                                   {"html", c.html},
                                   {"throttle", c.throttle}}) {
    if (rule.every_n < 0 || rule.probability < 0 || rule.probability > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fault \"", name, "\": every_n must be >= 0 and probability within [0, 1], got every_n=",
          rule.every_n, " probability=", rule.probability));
    }
  }
  if (c.error_status < 500 || c.error_status > 599) {
    return absl::InvalidArgumentError(
        absl::StrCat("error_status must be a 5xx code, got ", c.error_status));
  }
  if (c.slow_ms < 0 || c.slow_ms > 600000) {
    return absl::InvalidArgumentError(
        absl::StrCat("slow_ms must be within [0, 600000], got ", c.slow_ms));
  }
  if (c.truncate_fraction < 0 || c.truncate_fraction >= 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("truncate_fraction must be within [0, 1), got ", c.truncate_fraction));
  }
  return absl::OkStatus();
}

absl::StatusOr<FaultConfig> ParseFaultConfigJson(absl::string_view json, const FaultConfig& base) {
  FaultConfig config = base;
  Value root;
  absl::StatusOr<Value> parsed = json::Parse(json, "fault config");
  if (!parsed.ok()) return parsed.status();
  root = *std::move(parsed);
  if (!root.IsObject()) return absl::InvalidArgumentError("fault config must be a JSON object");
  for (const auto& [key, field] : root.AsObject()) {
    absl::Status status;
    if (key == "error") {
      status = ReadRule(field, key, config.error);
    } else if (key == "slow") {
      status = ReadRule(field, key, config.slow);
    } else if (key == "truncate") {
      status = ReadRule(field, key, config.truncate);
    } else if (key == "html") {
      status = ReadRule(field, key, config.html);
    } else if (key == "throttle") {
      status = ReadRule(field, key, config.throttle);
    } else if (key == "error_status" && field.IsInteger()) {
      config.error_status = field.AsInt();
    } else if (key == "slow_ms" && field.IsInteger()) {
      config.slow_ms = field.AsInt();
    } else if (key == "truncate_fraction" && field.IsNumber()) {
      config.truncate_fraction = field.AsDouble();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "fault config: field \"", key, "\" = ", field.Serialize(),
          " is not allowed; use error, slow, truncate, html, throttle (objects), error_status, slow_ms "
          "(integers), truncate_fraction (number)"));
    }
    if (!status.ok()) return status;
  }
  if (absl::Status status = ValidateFaultConfig(config); !status.ok()) return status;
  return config;
}

void FaultInjector::Set(const FaultConfig& config) {
  absl::MutexLock lock(&mu_);
  config_ = config;
  error_count_ = slow_count_ = truncate_count_ = html_count_ = throttle_count_ = 0;
}

FaultConfig FaultInjector::config() const {
  absl::MutexLock lock(&mu_);
  return config_;
}

FaultStats FaultInjector::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool FaultInjector::Fire(const FaultRule& rule, int64_t& counter) {
  ++counter;
  if (rule.every_n > 0 && counter % rule.every_n == 0) return true;
  if (rule.probability > 0) {
    // 53 random bits give a uniform double in [0, 1).
    const double draw = static_cast<double>(rng_.Next() >> 11) * 0x1.0p-53;
    return draw < rule.probability;
  }
  return false;
}

bool FaultInjector::NextError() {
  absl::MutexLock lock(&mu_);
  const bool fire = Fire(config_.error, error_count_);
  if (fire) ++stats_.errors;
  return fire;
}

int FaultInjector::NextSlowMs() {
  absl::MutexLock lock(&mu_);
  if (config_.slow_ms <= 0 || !Fire(config_.slow, slow_count_)) return 0;
  ++stats_.slow;
  return config_.slow_ms;
}

bool FaultInjector::NextTruncate() {
  absl::MutexLock lock(&mu_);
  const bool fire = Fire(config_.truncate, truncate_count_);
  if (fire) ++stats_.truncated;
  return fire;
}

bool FaultInjector::NextHtml() {
  absl::MutexLock lock(&mu_);
  const bool fire = Fire(config_.html, html_count_);
  if (fire) ++stats_.html;
  return fire;
}

bool FaultInjector::NextThrottle() {
  absl::MutexLock lock(&mu_);
  const bool fire = Fire(config_.throttle, throttle_count_);
  if (fire) ++stats_.throttled;
  return fire;
}

}  // namespace zarc::zoom_sim
