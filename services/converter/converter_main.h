#pragma once

namespace zarc::converter {

// The converter service's main(): configuration from flags, ZARC_* environment and --config, the
// service host, the stage, and a clean stop on SIGTERM. Used by zarc-converter and `zarc converter`.
int RunConverterService(int argc, char** argv);

}  // namespace zarc::converter
