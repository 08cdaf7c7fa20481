#!/usr/bin/env bash
# Builds every libFuzzer target with clang (-DZARC_FUZZ=ON, folder build-fuzz) and runs each in
# turn for N seconds (default 600) under nice -n 19, one at a time:
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 60 fetcher_webhook_fuzz
# Each target starts from its committed seed corpus (<library>/fuzz/corpus/<name>/) plus what
# earlier runs found (build-fuzz/fuzz-runs/<target>/corpus; the committed folder is never written).
# A crash, a broken invariant, an ASan/UBSan report, a timeout (-timeout=10 s per input) or more
# than 2 GB of memory stops that target; the input is left in build-fuzz/fuzz-runs/<target>/ as
# crash-*, timeout-*, oom-* or leak-*. Commit it to the corpus folder once the parser is fixed: the
# area's *_fuzz_replay_test then replays it in every normal test run. The summary (executions,
# exec/s, coverage edges and features, findings) is printed per target and written to
# build-fuzz/fuzz-runs/summary.txt. Exit status 1 if any target had a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
dir=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZARC_FUZZ=ON >/dev/null
# Target name -> seed corpus folder.
declare -A seeds=(
  [converter_chat_txt_fuzz]=services/converter/fuzz/corpus/chat_txt
  [converter_chat_json_fuzz]=services/converter/fuzz/corpus/chat_json
  [converter_vtt_fuzz]=services/converter/fuzz/corpus/vtt
  [converter_mime_header_fuzz]=services/converter/fuzz/corpus/mime_header
  [fetcher_zoom_json_fuzz]=services/fetcher/fuzz/corpus/zoom_json
  [fetcher_webhook_fuzz]=services/fetcher/fuzz/corpus/webhook
  [mapper_mapping_csv_fuzz]=services/mapper/fuzz/corpus/mapping_csv
  [mapper_graph_fuzz]=services/mapper/fuzz/corpus/graph
  [importer_graph_fuzz]=services/importer/fuzz/corpus/graph
  [importer_imap_fuzz]=services/importer/fuzz/corpus/imap
  [config_file_fuzz]=runtime/config/fuzz/corpus/config_file
  [blob_azure_xml_fuzz]=runtime/blob/fuzz/corpus/azure_xml
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(printf '%s\n' "${!seeds[@]}" | sort))
nice -n 19 cmake --build "$dir" -j2 --target "${targets[@]}"
out=$dir/fuzz-runs
mkdir -p "$out"
: > "$out/summary.txt"
failed=0
for t in "${targets[@]}"; do
  seed=${seeds[$t]:?unknown target $t}
  mkdir -p "$out/$t/corpus"
  log=$out/$t/log.txt
  echo "== $t: ${seconds}s from $seed"
  set +e
  # leak_check_at_exit=0: the final leak scan of a 500 MB process stalls for many minutes under
  # nice -n 19 on a busy machine; leaks per input are still reported while fuzzing.
  ASAN_OPTIONS=leak_check_at_exit=0 nice -n 19 "$dir/bin/$t" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$out/$t/" \
    "$out/$t/corpus" "$seed" >"$log" 2>&1
  rc=$?
  set -e
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/edges \1, features \2/p' <<<"$last")
  findings=$(ls "$out/$t" | grep -cE '^(crash|timeout|oom|leak|slow-unit)-' || true)
  line="$t: ${seconds}s, ${runs:-?} executions (${rate:-?}/s), ${cov:-coverage ?}, findings: $findings, rc $rc"
  echo "$line" | tee -a "$out/summary.txt"
  if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then failed=1; fi
done
exit $failed
