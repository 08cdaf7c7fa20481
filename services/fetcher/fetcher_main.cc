#include "services/fetcher/fetcher_main.h"

#include "runtime/service/service_host.h"
#include "services/fetcher/fetcher_app.h"
#include "services/fetcher/fetcher_config.h"

namespace zarc::fetcher {

int RunFetcherService(int argc, char** argv) {
  return service::RunAppService<FetcherApp>("fetcher", FetcherSchema(), &FetcherConfig::host, argc, argv);
}

}  // namespace zarc::fetcher
