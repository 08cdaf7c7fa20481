// zarc-converter: renders each captured meeting (zarc.meetings) into an RFC 5322 message in the
// blob store and publishes it on zarc.messages.
#include "services/converter/converter_main.h"

int main(int argc, char** argv) { return zarc::converter::RunConverterService(argc, argv); }
