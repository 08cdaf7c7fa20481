#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/config/config.h"
#include "runtime/service/grpc_security.h"

namespace grpc {
class Service;
}
namespace prometheus {
class Registry;
}

namespace zarc::service {

class HealthService;

// What every zarc process serves besides its stage: the gRPC control plane (with
// grpc.health.v1), Prometheus metrics, and its log settings.
struct HostConfig {
  std::string listen_address = "0.0.0.0";
  int64_t grpc_port = 0;
  int64_t metrics_port = 0;
  std::string log_level = "info";
  std::string log_format = "text";
  // TLS, mTLS and the bearer token of the gRPC port (grpc.tls_*, grpc.auth_token); the same
  // settings are the client side when this process calls another zarc service.
  GrpcSecurity security;
  // A second, plaintext gRPC port serving grpc.health.v1 only (for Kubernetes' gRPC probes,
  // which cannot present TLS or a token): -1 none, 0 a free port. Bound to health_address
  // (empty: listen.address); the chart binds it to the pod IP.
  int64_t health_port = -1;
  std::string health_address;
};

// The host options under `grpc.port`, `metrics.port`, `listen.address`, `log.level`,
// `log.format`, `grpc.health_port`, `grpc.health_address` and the gRPC security options
// (GrpcSecuritySchema), with per-service default ports and listen address (the services bind
// every address, as a pod must; `zarc run`, one machine, binds loopback unless told otherwise).
// Loading refuses insecure combinations (CheckServerSecurity).
config::Schema<HostConfig> HostSchema(int64_t default_grpc_port, int64_t default_metrics_port,
                                      std::string default_listen_address = "0.0.0.0");

// Blocks SIGINT and SIGTERM in the calling thread so every thread started afterwards inherits the
// mask and the signals are only ever taken by WaitForShutdownSignal. Call first thing in main().
void BlockShutdownSignals();
// Waits for SIGINT or SIGTERM; returns the signal number.
int WaitForShutdownSignal();

// Owns the gRPC server and the metrics endpoint of one process. Thread-safe after Start().
class ServiceHost {
 public:
  // `services` stay owned by the caller and must outlive the host. `metrics` is the registry the
  // process's components registered on before the host started (a new one if null).
  static absl::StatusOr<std::unique_ptr<ServiceHost>> Start(
      const std::string& name, const HostConfig& config, std::vector<grpc::Service*> services,
      std::shared_ptr<prometheus::Registry> metrics = nullptr);
  ~ServiceHost();

  prometheus::Registry& metrics();
  // Marks the process (and `component`, if given) serving or not for health checks. After the
  // health probe failed (MonitorHealth), the process stays NOT_SERVING whatever this says.
  void SetServing(bool serving, const std::string& component = "");
  // Calls `probe` every `period` on a thread of the host. The first time it fails (a stage
  // runner that stopped on a fatal error) the error is logged and the process goes NOT_SERVING
  // for good: what stopped does not restart by itself, and Kubernetes replaces the pod. `probe`
  // must stay callable until StopHealthMonitor() or Shutdown(). One monitor per host.
  void MonitorHealth(std::function<absl::Status()> probe,
                     absl::Duration period = absl::Seconds(1));
  // Stops and joins the monitor, if any; idempotent. Call before what `probe` uses goes away.
  void StopHealthMonitor();
  int grpc_port() const;
  int metrics_port() const;
  // The plaintext health-only port, 0 when there is none.
  int health_port() const;
  // Health goes NOT_SERVING, then the gRPC server stops (in-flight calls get `grace`).
  void Shutdown();

 private:
  struct Impl;
  explicit ServiceHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A typical service main(): loads `Config` (HostConfig included via `host_member`), answers
// --help with the option reference, configures logging, calls `start` (which builds and starts the
// service's components, registering their metrics, and returns the gRPC services they serve),
// starts the host, reports healthy, waits for SIGINT/SIGTERM, then calls `stop` and shuts down.
// Exit codes: 0 clean stop, 2 bad configuration, 1 failure at start-up.
template <typename Config>
struct ServiceMain {
  std::string name;
  config::Schema<Config> schema;
  HostConfig Config::*host_member;
  std::function<absl::StatusOr<std::vector<grpc::Service*>>(const Config&, prometheus::Registry&)>
      start;
  std::function<void()> stop;
  // Optional, called every second once serving (after `start`, until `stop`): a failure turns the
  // process NOT_SERVING (ServiceHost::MonitorHealth).
  std::function<absl::Status()> health;
};

using StartFn =
    std::function<absl::StatusOr<std::vector<grpc::Service*>>(prometheus::Registry& metrics)>;

int RunServiceMainImpl(const std::string& name, int argc, char** argv,
                       const std::vector<config::OptionSpec>& specs,
                       const std::function<absl::StatusOr<HostConfig>(const config::Sources&,
                                                                      std::string* printed)>& load,
                       const StartFn& start, const std::function<void()>& stop,
                       const std::function<absl::Status()>& health = nullptr);

template <typename Config>
int RunServiceMain(ServiceMain<Config>& m, int argc, char** argv) {
  Config loaded{};
  return RunServiceMainImpl(
      m.name, argc, argv, m.schema.Specs(),
      [&](const config::Sources& sources, std::string* printed) -> absl::StatusOr<HostConfig> {
        absl::StatusOr<Config> c = m.schema.Load(sources);
        if (!c.ok()) return c.status();
        loaded = *std::move(c);
        *printed = m.schema.Print(loaded);
        return loaded.*(m.host_member);
      },
      [&](prometheus::Registry& metrics) -> absl::StatusOr<std::vector<grpc::Service*>> {
        if (!m.start) return std::vector<grpc::Service*>{};
        return m.start(loaded, metrics);
      },
      [&]() {
        if (m.stop) m.stop();
      },
      m.health);
}

}  // namespace zarc::service

namespace zarc::service {

// main() of a service built as an `App` (FetcherApp, ConverterApp, ...): App::Create(config,
// registry*) → StatusOr<unique_ptr<App>>, Start(), optionally control_service() for its gRPC
// control plane, and optionally health() (OK while its stage runs) for grpc.health.v1. The app is
// destroyed (stopping it) on SIGTERM.
template <typename App, typename Config>
int RunAppService(std::string name, config::Schema<Config> schema, HostConfig Config::*host,
                  int argc, char** argv) {
  std::unique_ptr<App> app;
  ServiceMain<Config> m{.name = std::move(name), .schema = std::move(schema), .host_member = host};
  m.start = [&](const Config& config,
                prometheus::Registry& metrics) -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto created = App::Create(config, &metrics);
    if (!created.ok()) return created.status();
    app = *std::move(created);
    if (absl::Status s = app->Start(); !s.ok()) return s;
    if constexpr (requires { app->control_service(); }) {
      return std::vector<grpc::Service*>{app->control_service()};
    } else {
      return std::vector<grpc::Service*>{};
    }
  };
  m.stop = [&] { app.reset(); };
  if constexpr (requires(App& a) {
                  { a.health() } -> std::convertible_to<absl::Status>;
                }) {
    m.health = [&]() -> absl::Status {
      return app != nullptr ? app->health() : absl::UnavailableError("not started");
    };
  }
  return RunServiceMain(m, argc, argv);
}

}  // namespace zarc::service
