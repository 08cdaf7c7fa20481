#!/usr/bin/env bash
# Runs the benchmarks and writes bench/RESULTS.md (the table the README points to): each result as
# a ratio against a reference measured in the same run, plus the machine it ran on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target render_bench
json=$(mktemp)
build/bench/render_bench --benchmark_format=json --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true >"$json"
python3 - "$json" <<'PY' > bench/RESULTS.md
import json, platform, sys, subprocess
data = json.load(open(sys.argv[1]))
median = {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
render, ref = median["BM_RenderMessage"], median["BM_Base64Reference"]
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
print("# Benchmark results\n")
print(f"Machine: {cpu}, {data['context']['num_cpus']} CPUs. Written by scripts/bench.sh.\n")
print("| benchmark | what | median | MB/s | ratio to reference |")
print("| --- | --- | --- | --- | --- |")
for name, what, b in [("BM_RenderMessage", "render a message with a 16 MiB attachment (MIME, base64 lines, SHA-256, streaming)", render),
                      ("BM_Base64Reference", "reference: one in-memory base64 pass over the same 16 MiB", ref)]:
    mbs = b["bytes_per_second"] / 1e6
    print(f"| {name} | {what} | {b['real_time']:.1f} ms | {mbs:.0f} | {b['real_time'] / ref['real_time']:.2f} |")
PY
cat bench/RESULTS.md
