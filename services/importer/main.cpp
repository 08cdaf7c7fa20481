// zarc-importer: delivers items into mailboxes (IMAP, .eml folder) and the archive, and writes the
// status log (zarc.import-log).
#include "services/importer/importer_main.h"

int main(int argc, char** argv) { return zarc::importer::RunImporterService(argc, argv); }
