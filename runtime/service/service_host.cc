#include "runtime/service/process_metrics.h"
#include "runtime/service/service_host.h"

#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "runtime/log/log.h"
#include "runtime/service/health_service.h"

namespace zarc::service {

config::Schema<HostConfig> HostSchema(int64_t default_grpc_port, int64_t default_metrics_port,
                                      std::string default_listen_address) {
  config::Schema<HostConfig> s;
  s.String("listen.address", &HostConfig::listen_address, std::move(default_listen_address),
           "address the gRPC and metrics servers bind to; each stage's service binds every "
           "address (0.0.0.0) by default, zarc run loopback only (the container image passes "
           "0.0.0.0)")
      .Int("grpc.port", &HostConfig::grpc_port, default_grpc_port, 0, 65535,
           "gRPC control-plane port (health, control RPCs); 0 picks a free port")
      .Int("metrics.port", &HostConfig::metrics_port, default_metrics_port, 0, 65535,
           "Prometheus /metrics port; 0 picks a free port")
      .Enum("log.level", &HostConfig::log_level, "info", {"debug", "info", "warn", "error"},
            "least severe log level written")
      .Enum("log.format", &HostConfig::log_format, "text", {"text", "json"},
            "log line format: text, or JSON lines for log collectors")
      .Int("grpc.health_port", &HostConfig::health_port, -1, -1, 65535,
           "second, plaintext gRPC port serving grpc.health.v1 only, for Kubernetes probes when "
           "the gRPC port needs TLS or a token; -1: none, 0 picks a free port")
      .String("grpc.health_address", &HostConfig::health_address, "",
              "address the health-only port binds to (the pod IP in Kubernetes); empty: "
              "listen.address")
      .Include(GrpcSecuritySchema(), &HostConfig::security)
      .Check([](const HostConfig& c) { return CheckServerSecurity(c.security, c.listen_address); });
  return s;
}

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a peer closing a socket is an error to handle, not a process exit
}

int WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signo = 0;
  sigwait(&set, &signo);
  return signo;
}

struct ServiceHost::Impl {
  std::string name;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Collectable> process_metrics;  // process_* at every scrape
  HealthService health;
  HealthService plain_health;  // the same statuses on the plaintext health-only port
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<grpc::Server> health_server;
  int grpc_port = 0;
  int health_port = 0;
  int metrics_port = 0;

  absl::Mutex mutex;
  bool serving ABSL_GUARDED_BY(mutex) = false;
  bool failed ABSL_GUARDED_BY(mutex) = false;  // the health probe failed: NOT_SERVING for good
  bool stop_monitor ABSL_GUARDED_BY(mutex) = false;
  std::thread monitor;

  void SetHealth(const std::string& component, HealthService::Status status) {
    health.SetStatus(component, status);
    plain_health.SetStatus(component, status);
  }
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    SetHealth("", serving && !failed ? grpc::health::v1::HealthCheckResponse::SERVING
                                     : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  }
};

ServiceHost::ServiceHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ServiceHost::~ServiceHost() { Shutdown(); }

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Start(
    const std::string& name, const HostConfig& config, std::vector<grpc::Service*> services,
    std::shared_ptr<prometheus::Registry> metrics) {
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  if (metrics != nullptr) impl->registry = std::move(metrics);

  const std::string metrics_bind = absl::StrCat(config.listen_address, ":", config.metrics_port);
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(metrics_bind);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", metrics_bind, ": ",
                                               e.what(), "; choose another metrics.port"));
  }
  impl->exposer->RegisterCollectable(impl->registry);
  impl->process_metrics = NewProcessCollector();
  impl->exposer->RegisterCollectable(impl->process_metrics);
  const std::vector<int> ports = impl->exposer->GetListeningPorts();
  impl->metrics_port = ports.empty() ? 0 : ports.front();

  prometheus::BuildGauge()
      .Name("zarc_build_info")
      .Help("Always 1; labels say which zarc service this process runs")
      .Register(*impl->registry)
      .Add({{"service", name}, {"version", ZARC_VERSION}})
      .Set(1);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      MakeServerCredentials(config.security, config.listen_address, name);
  if (!creds.ok()) return creds.status();
  grpc::ServerBuilder builder;
  const std::string grpc_bind = absl::StrCat(config.listen_address, ":", config.grpc_port);
  builder.AddListeningPort(grpc_bind, *creds, &impl->grpc_port);
  builder.RegisterService(&impl->health);
  for (grpc::Service* s : services) builder.RegisterService(s);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->grpc_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on ", grpc_bind, "; choose another grpc.port"));
  }
  impl->SetHealth("", HealthService::Status::HealthCheckResponse_ServingStatus_NOT_SERVING);
  if (config.health_port >= 0) {
    const std::string health_bind =
        absl::StrCat(config.health_address.empty() ? config.listen_address : config.health_address,
                     ":", config.health_port);
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(health_bind, grpc::InsecureServerCredentials(),
                                    &impl->health_port);
    health_builder.RegisterService(&impl->plain_health);
    impl->health_server = health_builder.BuildAndStart();
    if (impl->health_server == nullptr || impl->health_port == 0) {
      impl->server->Shutdown();
      return absl::UnavailableError(absl::StrCat("cannot serve gRPC health on ", health_bind,
                                                 "; choose another grpc.health_port"));
    }
  }
  log::Info(name, "listening",
            {{"grpc_port", impl->grpc_port},
             {"grpc_security", DescribeServerSecurity(config.security)},
             {"health_port", impl->health_port},
             {"metrics_port", impl->metrics_port}});
  if (config.security.tls_cert_file.empty() && !config.security.has_token() &&
      !IsLoopback(config.listen_address)) {
    log::Warn(name, "the gRPC control plane is plaintext and unauthenticated beyond loopback; "
                    "set grpc.tls_cert_file and grpc.tls_key_file, with grpc.tls_client_ca_file "
                    "or grpc.auth_token_file",
              {{"listen_address", config.listen_address}});
  }
  return std::unique_ptr<ServiceHost>(new ServiceHost(std::move(impl)));
}

prometheus::Registry& ServiceHost::metrics() { return *impl_->registry; }

void ServiceHost::SetServing(bool serving, const std::string& component) {
  if (component.empty()) {
    absl::MutexLock lock(&impl_->mutex);
    impl_->serving = serving;
    impl_->Publish();
    return;
  }
  const auto status = serving ? grpc::health::v1::HealthCheckResponse::SERVING
                              : grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  impl_->SetHealth(component, status);
}

void ServiceHost::MonitorHealth(std::function<absl::Status()> probe, absl::Duration period) {
  StopHealthMonitor();
  {
    absl::MutexLock lock(&impl_->mutex);
    impl_->stop_monitor = false;
  }
  Impl* impl = impl_.get();
  impl->monitor = std::thread([impl, probe = std::move(probe), period] {
    absl::MutexLock lock(&impl->mutex);
    while (!impl->failed) {
      impl->mutex.AwaitWithTimeout(absl::Condition(&impl->stop_monitor), period);
      if (impl->stop_monitor) return;
      impl->mutex.Unlock();  // the probe takes the component's own locks
      absl::Status status = probe();
      impl->mutex.Lock();
      if (status.ok() || impl->stop_monitor) continue;
      log::Error(impl->name, "no longer serving: a component stopped; restart the service",
                 {{"error", status}});
      impl->failed = true;
      impl->Publish();
    }
  });
}

void ServiceHost::StopHealthMonitor() {
  {
    absl::MutexLock lock(&impl_->mutex);
    impl_->stop_monitor = true;
  }
  if (impl_->monitor.joinable()) impl_->monitor.join();
}

int ServiceHost::grpc_port() const { return impl_->grpc_port; }
int ServiceHost::metrics_port() const { return impl_->metrics_port; }
int ServiceHost::health_port() const { return impl_->health_port; }

void ServiceHost::Shutdown() {
  StopHealthMonitor();
  if (impl_->server == nullptr) return;
  impl_->health.Shutdown();
  impl_->plain_health.Shutdown();
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  impl_->server.reset();
  if (impl_->health_server != nullptr) {
    impl_->health_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    impl_->health_server.reset();
  }
  impl_->exposer.reset();
}

int RunServiceMainImpl(const std::string& name, int argc, char** argv,
                       const std::vector<config::OptionSpec>& specs,
                       const std::function<absl::StatusOr<HostConfig>(const config::Sources&,
                                                                      std::string* printed)>& load,
                       const StartFn& start, const std::function<void()>& stop,
                       const std::function<absl::Status()>& health) {
  BlockShutdownSignals();
  config::Sources sources{.args = {argv + 1, argv + argc}, .env = config::ProcessEnvironment()};
  for (const std::string& a : sources.args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: %s [--config=FILE] [--key=value ...]\n\n"
                  "Options (also ZARC_* environment variables or `key = value` lines in FILE):\n\n%s",
                  argv[0], config::ReferenceTable(specs).c_str());
      return 0;
    }
  }
  std::string printed;
  absl::StatusOr<HostConfig> host_config = load(sources, &printed);
  if (!host_config.ok()) {
    std::fprintf(stderr, "%s: configuration error: %s\n", name.c_str(),
                 std::string(host_config.status().message()).c_str());
    return 2;
  }
  log::Level level = log::Level::kInfo;
  (void)log::ParseLevel(host_config->log_level, &level);
  log::Configure(level, host_config->log_format == "json" ? log::Format::kJson : log::Format::kText);
  log::Info(name, "starting with configuration", {{"config", printed}});

  auto registry = std::make_shared<prometheus::Registry>();
  absl::StatusOr<std::vector<grpc::Service*>> services = start(*registry);
  if (!services.ok()) {
    log::Error(name, "cannot start", {{"error", services.status()}});
    stop();
    return 1;
  }
  absl::StatusOr<std::unique_ptr<ServiceHost>> host =
      ServiceHost::Start(name, *host_config, *services, registry);
  if (!host.ok()) {
    log::Error(name, "cannot start", {{"error", host.status()}});
    stop();
    return 1;
  }
  (*host)->SetServing(true);
  if (health) (*host)->MonitorHealth(health);
  const int signo = WaitForShutdownSignal();
  log::Info(name, "stopping", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*host)->SetServing(false);
  (*host)->StopHealthMonitor();  // before `stop` takes away what the probe reads
  stop();
  (*host)->Shutdown();
  log::Info(name, "stopped cleanly");
  return 0;
}

}  // namespace zarc::service
