// zarc-fetcher: one stage of the pipeline as its own process (see ARCHITECTURE.md).
#include "runtime/service/service_host.h"
#include "services/fetcher/fetcher_config.h"

int main(int argc, char** argv) {
  zarc::service::ServiceMain<zarc::fetcher::FetcherConfig> app{
      .name = "fetcher",
      .schema = zarc::fetcher::FetcherSchema(),
      .host_member = &zarc::fetcher::FetcherConfig::host,
  };
  return zarc::service::RunServiceMain(app, argc, argv);
}
