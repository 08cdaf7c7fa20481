// zarc-fetcher: captures Zoom meetings (polls, webhooks, Sync backfills) into zarc.meetings.
#include "services/fetcher/fetcher_main.h"

int main(int argc, char** argv) { return zarc::fetcher::RunFetcherService(argc, argv); }
