#!/usr/bin/env bash
# Installs what is missing, builds everything, runs every test through CTest, then the
# AddressSanitizer + UndefinedBehaviorSanitizer subset (scripts/sanitize.sh ci).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --parallel 2 --timeout 600
bash scripts/sanitize.sh ci
