#!/usr/bin/env bash
# Runs every benchmark in bench/ and writes the results into docs/benchmarks.md (between its
# "bench.sh" markers), with the machine, the command and the date. Each result stands next to a
# reference measured in the same run, so the ratios compare across machines.
#   BENCH_MEETINGS   meetings for the pipeline benchmark (default 1000; the target run is 57000)
#   BENCH_RENDER_MIB attachment size for the render benchmark (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target render_bench codec_bench render_file zarc zarc-zoom-sim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build/bench/codec_bench --benchmark_format=json --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true >"$out/codec.json"
build/bench/render_bench --benchmark_format=json --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true >"$out/render.json"
bench/render_file_bench.sh build "${BENCH_RENDER_MIB:-1024}" >"$out/render_file.json"
bench/pipeline_bench.sh build "${BENCH_MEETINGS:-1000}" >"$out/pipeline.json"
bench/fsync_bench.sh >"$out/fsync.json"
python3 - "$out" "${BENCH_MEETINGS:-1000}" <<'PY'
import datetime, json, re, subprocess, sys
out, meetings = sys.argv[1], sys.argv[2]
def median(path):
    data = json.load(open(path))
    return data, {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
codec_data, codec = median(f"{out}/codec.json")
_, render = median(f"{out}/render.json")
render_file = json.load(open(f"{out}/render_file.json"))
pipeline = json.load(open(f"{out}/pipeline.json"))
fsync = json.load(open(f"{out}/fsync.json"))
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
lines = [f"Run of {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC at commit {commit} on {cpu}, "
         f"{codec_data['context']['num_cpus']} CPUs (`scripts/bench.sh`, BENCH_MEETINGS={meetings}).", "",
         "| benchmark | what | MB/s | reference | reference MB/s | time / reference |",
         "| --- | --- | --- | --- | --- | --- |"]
pairs = [("BM_Base64LineSink", "base64 with 76-character lines, streamed in 64 KiB chunks", "BM_Base64Reference", codec),
         ("BM_Sha256", "SHA-256, streamed", "BM_MemcpyReference", codec),
         ("BM_UnstructuredHeader", "Subject header encoding (encoded-words, folding)", "BM_HeaderCopyReference", codec),
         ("BM_ParseChatTxt", "cloud chat TXT parser", "BM_LineSplitReference", codec),
         ("BM_ParseVtt", "WebVTT transcript parser", "BM_LineSplitReference", codec),
         ("BM_ParseChatJson", "archived chat JSON parser (base64 fields)", "BM_Base64DecodeReference", codec),
         ("BM_RenderMessage", "render a message with a 16 MiB attachment", "BM_Base64Reference", render)]
for name, what, ref, table in pairs:
    b, r = table[name], table[ref]
    # time / reference: how many times longer zarc takes for the same bytes.
    lines.append(f"| {name} | {what} | {b['bytes_per_second'] / 1e6:.0f} | {ref} | "
                 f"{r['bytes_per_second'] / 1e6:.0f} | {r['bytes_per_second'] / b['bytes_per_second']:.2f} |")
lines += ["", "| end to end | measured | target |", "| --- | --- | --- |",
          f"| render a {render_file['size_mib']} MiB attachment vs `sha256sum` + `base64 -w 76` of the file | "
          f"{render_file['speed_vs_reference']:.2f} of the reference's speed ({render_file['render_s']} s vs "
          f"{render_file['reference_s']} s), peak RSS {render_file['peak_rss_mib']} MiB | ≥ 0.70, ≤ 64 MiB |",
          f"| `zarc run`, .eml target, {pipeline['meetings']} meetings ({pipeline['items']} of "
          f"{pipeline['expected_items']} mailbox items) | {pipeline['items_per_second']} items/s, "
          f"{pipeline['cpu_ms_per_item']} ms CPU per item, peak RSS {pipeline['peak_rss_mib']} MiB | "
          f"≥ 3,300 items/s, ≤ 0.5 ms, ≤ 256 MiB |",
          f"| {fsync['files']} fsyncs of 2 KiB files, by 1 / 4 / 16 threads at once (`bench/fsync_bench.sh`) | "
          f"{fsync['ms_per_fsync_1_threads']} / {fsync['ms_per_fsync_4_threads']} / "
          f"{fsync['ms_per_fsync_16_threads']} ms per fsync | — (what parallel deliveries share) |"]
doc = open("docs/benchmarks.md").read()
block = "<!-- bench.sh: begin -->\n" + "\n".join(lines) + "\n<!-- bench.sh: end -->"
doc = re.sub(r"<!-- bench.sh: begin -->.*<!-- bench.sh: end -->", lambda _: block, doc, flags=re.S)
open("docs/benchmarks.md", "w").write(doc)
print(block)
PY
