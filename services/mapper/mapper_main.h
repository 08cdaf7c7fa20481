#pragma once

namespace zarc::mapper {

// The mapper service's main(): configuration from flags, ZARC_* environment and --config, the
// service host with MapperControl, the stage, and a clean stop on SIGTERM. Used by zarc-mapper and
// `zarc mapper`.
int RunMapperService(int argc, char** argv);

}  // namespace zarc::mapper
