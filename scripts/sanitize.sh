#!/usr/bin/env bash
# Builds and runs tests under sanitizers, in a build folder of their own.
#   scripts/sanitize.sh asan [CTEST_ARGS...]   AddressSanitizer + UndefinedBehaviorSanitizer
#                                              (default: the whole suite)
#   scripts/sanitize.sh tsan [CTEST_ARGS...]   ThreadSanitizer on the concurrent runtime pieces
#                                              zarc owns (default: that set)
#   scripts/sanitize.sh ci                     ASan+UBSan on the representative subset CI runs:
#                                              the unit tests of the runtime and of every stage,
#                                              and the stage runner's tests on the mock cluster
#                                              (no Azurite, Dovecot or simulator runs; memory
#                                              bounds are not meaningful under ASan)
# Any report fails the test that triggered it (halt_on_error / -fno-sanitize-recover).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-asan}
shift || true
case "$kind" in
  asan) sanitize=address,undefined dir=build-asan
        default=() ;;
  ci) sanitize=address,undefined dir=build-asan
      export ZARC_SANITIZE_TARGETS="ledger_test fetcher_test reconciler_test converter_unit_test importer_unit_test http_test blob_test mapper_unit_test kafka_unit_test kafka_stage_runner_test"
      default=(-L "unit|fetcher|converter|importer|http|mapper|kafka|blob" -E "Sim|Memory|Rss|Dovecot|Azurite|Graph|Crash|AppTest") ;;
  # The pieces with threads of zarc's own: the Zoom rate limiter and API client, the reconciler,
  # the ledger, the HTTP server, the status log, byte streams, the base64 sink, config, the
  # mapper's cache and reloading mapping file, the stage worker pool. Only their test binaries are
  # built (the whole tree under TSan takes over an hour on two shared cores).
  # Debian's Abseil and librdkafka are not instrumented. Every binary of this build therefore
  # links runtime/testing/tsan/: annotations that tell TSan what absl::Mutex, CondVar and
  # Notification synchronise (without them, state guarded by an absl::Mutex is reported as a
  # race; AbslSynchronizationUnderTsanTest checks they are in effect), and C11 thrd_create/mtx/cnd
  # through the pthread functions TSan intercepts (without them, librdkafka's threads crash TSan's
  # allocator and its own locks are invisible). No suppression file is used.
  tsan) sanitize=thread dir=build-tsan
        export ZARC_SANITIZE_TARGETS=${ZARC_SANITIZE_TARGETS:-"tsan_annotations_test fetcher_test reconciler_test ledger_test http_test importer_unit_test io_test converter_unit_test config_test mapper_unit_test kafka_unit_test"}
        default=(-R "AbslSynchronizationUnderTsanTest|ZoomRateLimiterTest|ZoomApiTest|ReconcilerTest|LedgerTest|HttpServerTest|StatusLogTest|ByteStreamTest|Base64LineSinkTest|^ConfigTest|LookupCacheTest|CustomMappingTest|StageWorkerTest") ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan|ci [ctest args]"; exit 2 ;;
esac
[ $# -gt 0 ] || set -- "${default[@]}"
bash scripts/install-deps.sh
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZARC_SANITIZE="$sanitize" >/dev/null
targets=${ZARC_SANITIZE_TARGETS:-all}
cmake --build "$dir" -j"$(nproc)" --target $targets
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
ctest --test-dir "$dir" --output-on-failure --parallel 2 --timeout 900 "$@"
