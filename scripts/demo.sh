#!/usr/bin/env bash
# Installs what is missing, builds zarc, and archives a demo tenant from the Zoom simulator end to
# end on this machine (embedded Kafka, local folders, .eml mailboxes). Extra arguments go to
# `zarc demo` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target zarc
exec build/bin/zarc demo "$@"
