#include "services/converter/converter_main.h"

#include "runtime/service/service_host.h"
#include "services/converter/converter_app.h"
#include "services/converter/converter_config.h"

namespace zarc::converter {

int RunConverterService(int argc, char** argv) {
  return service::RunAppService<ConverterApp>("converter", ConverterSchema(), &ConverterConfig::host, argc, argv);
}

}  // namespace zarc::converter
