// zarc-mapper: resolves each rendered message's participants to Microsoft 365 mailboxes
// (zarc.messages -> zarc.deliveries) and serves MapperControl.Resolve.
#include "services/mapper/mapper_main.h"

int main(int argc, char** argv) { return zarc::mapper::RunMapperService(argc, argv); }
