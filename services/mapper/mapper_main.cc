#include "services/mapper/mapper_main.h"

#include "runtime/service/service_host.h"
#include "services/mapper/mapper_app.h"
#include "services/mapper/mapper_config.h"

namespace zarc::mapper {

int RunMapperService(int argc, char** argv) {
  return service::RunAppService<MapperApp>("mapper", MapperSchema(), &MapperConfig::host, argc, argv);
}

}  // namespace zarc::mapper
