#!/usr/bin/env bash
# What sharing a disk's cache flushes is worth: N small files written, then fsync'd by 1, 4 and 16
# threads at once, on the file system of DIR (default: a temporary folder). Prints one JSON object:
# milliseconds per fsync for each thread count. The ratio to one thread is what the stage runner's
# parallel deliveries gain on this disk (ARCHITECTURE.md, "Several records in flight per stage").
# Usage: bench/fsync_bench.sh [DIR] [FILES]   (default FILES 256)
set -euo pipefail
dir=$(mktemp -d "${1:-${TMPDIR:-/tmp}}/fsync-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" "${2:-256}" <<'PY'
import json, os, sys, threading, time
folder, files = sys.argv[1], int(sys.argv[2])
result = {"files": files}
for threads in (1, 4, 16):
    fds = []
    for i in range(files):
        fd = os.open(f"{folder}/t{threads}-{i}", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        os.write(fd, b"x" * 2048)
        fds.append(fd)
    start = time.monotonic()
    def work(k):
        for j in range(k, files, threads):
            os.fsync(fds[j])
    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool: t.start()
    for t in pool: t.join()
    result[f"ms_per_fsync_{threads}_threads"] = round((time.monotonic() - start) * 1000 / files, 3)
    for fd in fds: os.close(fd)
print(json.dumps(result))
PY
