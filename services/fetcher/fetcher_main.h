#pragma once

namespace zarc::fetcher {

// The fetcher service's main(): configuration from flags, ZARC_* environment and --config, the
// service host, the stage, and a clean stop on SIGTERM. Used by zarc-fetcher and `zarc fetcher`.
int RunFetcherService(int argc, char** argv);

}  // namespace zarc::fetcher
