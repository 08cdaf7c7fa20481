#pragma once

namespace zarc::importer {

// The importer service's main(): configuration from flags, ZARC_* environment and --config, the
// service host, the stage, and a clean stop on SIGTERM. Used by zarc-importer and `zarc importer`.
int RunImporterService(int argc, char** argv);

}  // namespace zarc::importer
