#include "runtime/service/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace zarc::service {
namespace {

prometheus::MetricFamily Family(const std::string& name, const std::string& help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily f{name, help, type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

// Boot time (seconds since the epoch), for the start time: /proc/stat's btime.
double BootTime() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      double t = 0;
      (void)absl::SimpleAtod(line.substr(6), &t);
      return t;
    }
  }
  return 0;
}

class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector() : ticks_(static_cast<double>(sysconf(_SC_CLK_TCK))), page_(sysconf(_SC_PAGESIZE)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    std::ifstream in("/proc/self/stat");
    std::stringstream text;
    text << in.rdbuf();
    const std::string stat = text.str();
    // Fields after the command name, which is in parentheses and may hold spaces (proc(5)).
    const size_t close = stat.rfind(')');
    if (close == std::string::npos || ticks_ <= 0) return out;
    const std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
    // proc(5) numbers fields from 1 (pid); f[0] is field 3 (state).
    auto field = [&](size_t n) {
      double v = 0;
      if (n - 3 < f.size()) (void)absl::SimpleAtod(f[n - 3], &v);
      return v;
    };
    out.push_back(Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                         prometheus::MetricType::Counter, (field(14) + field(15)) / ticks_));
    out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         prometheus::MetricType::Gauge, field(23)));
    out.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                         prometheus::MetricType::Gauge, field(24) * static_cast<double>(page_)));
    out.push_back(Family("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.",
                         prometheus::MetricType::Gauge, boot_time_ + field(22) / ticks_));
    std::error_code ec;
    double fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++fds;
    }
    out.push_back(Family("process_open_fds", "Number of open file descriptors.",
                         prometheus::MetricType::Gauge, fds));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      out.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                           prometheus::MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
    }
    return out;
  }

 private:
  const double ticks_;
  const long page_;
  const double boot_time_ = BootTime();
};

}  // namespace

std::shared_ptr<prometheus::Collectable> NewProcessCollector() {
  return std::make_shared<ProcessCollector>();
}

}  // namespace zarc::service
