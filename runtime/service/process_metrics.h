#pragma once

#include <memory>

namespace prometheus {
class Collectable;
}

namespace zarc::service {

// The Prometheus client libraries' standard process metrics (prometheus.io/docs/instrumenting/
// writing_clientlibs/#process-metrics), which prometheus-cpp lacks, read from /proc/self at each
// scrape: process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
// process_open_fds, process_max_fds, process_start_time_seconds. On a system without /proc the
// collection is empty.
std::shared_ptr<prometheus::Collectable> NewProcessCollector();

}  // namespace zarc::service
