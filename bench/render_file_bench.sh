#!/usr/bin/env bash
# Rendering a message with a 1 GiB attachment against what one core reading, hashing and encoding
# the same file costs: `sha256sum FILE` plus `base64 -w 76 FILE`, timed in the same run. Prints one
# JSON object: seconds of each, the ratio, and the renderer's peak RSS.
# Usage: bench/render_file_bench.sh BUILD_DIR [SIZE_MIB]   (default 1024)
set -euo pipefail
build=$1 size_mib=${2:-1024}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c $((size_mib << 20)) /dev/urandom > "$tmp/video.mp4"
sha=$(sha256sum "$tmp/video.mp4" | cut -d' ' -f1)  # also warms the page cache for both runs
python3 - "$build/bench/render_file" "$tmp/video.mp4" "$sha" "$size_mib" <<'PY'
import json, resource, subprocess, sys, time
render, path, sha, size_mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def timed(argv, stdout=subprocess.DEVNULL):
    start = time.monotonic()
    subprocess.run(argv, check=True, stdout=stdout)
    return time.monotonic() - start
best = lambda f: min(f() for _ in range(3))
ref = best(lambda: timed(["sha256sum", path]) + timed(["base64", "-w", "76", path]))
ours = best(lambda: timed([render, path, sha]))
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child: render_file
print(json.dumps({"size_mib": size_mib, "render_s": round(ours, 2), "reference_s": round(ref, 2),
                  "speed_vs_reference": round(ref / ours, 2), "peak_rss_mib": round(peak_kib / 1024, 1)}))
PY
