#!/usr/bin/env bash
# The one-machine pipeline end to end: `zarc run` (embedded Kafka, local stores, .eml mailboxes,
# csv-only mapping) archives a Zoom simulator tenant with 1 KiB recordings. Measures mailbox items
# per second from the sync's start to the last expected item, CPU per item and peak RSS of the
# zarc process (from /proc), and prints one JSON object.
# Usage: bench/pipeline_bench.sh BUILD_DIR [MEETINGS]   (default 1000)
set -euo pipefail
build=$1 meetings=${2:-1000}
tmp=${KEEP_TMP:-$(mktemp -d)}
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
python3 - "$build" "$meetings" "$tmp" <<'PY'
import json, os, re, subprocess, sys, time
build, meetings, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
users = max(8, meetings // 50)
days = max(1, min(28, meetings // 100 + 1))
sim_log = open(f"{tmp}/sim.log", "w")
sim = subprocess.Popen([f"{build}/bin/zarc-zoom-sim", "--port=0", "--seed=5", f"--users={users}",
                        f"--meetings={meetings}", f"--days={days}", "--from=2024-03-01",
                        "--recording-bytes=1024", "--audio-bytes=1024", "--archive-bytes=1024",
                        "--plan=unlimited", "--account-id=acct-bench", "--log-level=warn",
                        f"--manifest-out={tmp}/manifest.json"], stdout=sim_log, stderr=subprocess.STDOUT)
def wait_for(path, pattern, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, open(path).read())
        if m: return m
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {pattern!r} in {path}")
url = wait_for(f"{tmp}/sim.log", r"listening on (http://\S+)").group(1)
manifest = json.load(open(f"{tmp}/manifest.json"))
domain = "@" + manifest["domain"].lower()
email = {u["id"]: u["email"].lower() for u in manifest["users"]}
expected = 0
for m in manifest["meetings"]:
    addresses = {email.get(m["host_id"], "")} | {p.get("user_email", "").lower() for p in m["participants"]}
    expected += sum(1 for a in addresses if a.endswith(domain))
run_log = open(f"{tmp}/run.log", "w")
run = subprocess.Popen([f"{build}/bin/zarc", "run", f"--run.data_dir={tmp}/data", "--importer.target=eml",
                        "--mapper.mode=csv-only", f"--mapper.tenant_domains={manifest['domain']}",
                        "--fetcher.poll_interval=0", f"--zoom.api_url={url}/v2",
                        f"--zoom.oauth_url={url}/oauth/token", "--zoom.account_id=acct-bench",
                        "--zoom.client_id=zarc-sim-client", "--zoom.plan=business",
                        "--listen.address=127.0.0.1", "--grpc.port=0", "--metrics.port=0", "--log.level=warn"]
                       + os.environ.get("BENCH_ZARC_FLAGS", "").split(),
                       env=dict(os.environ, ZARC_ZOOM_CLIENT_SECRET="zarc-sim-secret"),
                       stdout=run_log, stderr=subprocess.STDOUT)
# The listening line is logged at info; with warn, find the port from the process's sockets instead.
def grpc_port():
    deadline = time.time() + 60
    while time.time() < deadline:
        out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
        ports = sorted(int(l.split()[3].rsplit(":", 1)[1]) for l in out.splitlines() if f"pid={run.pid}," in l)
        for p in ports:
            probe = subprocess.run([f"{build}/bin/zarc", "log", f"--importer=127.0.0.1:{p}", "--format=json"],
                                   capture_output=True, text=True)
            if probe.returncode == 0: return p
        time.sleep(0.2)
    raise SystemExit("zarc run did not start: " + open(f"{tmp}/run.log").read()[-2000:])
port = grpc_port()
def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
def delivered():
    n = 0
    for root, _, files in os.walk(f"{tmp}/data/mailboxes"):
        if "/." not in root: n += sum(f.endswith(".eml") for f in files)
    return n
cpu0, t0 = cpu_seconds(run.pid), time.monotonic()
sync = subprocess.Popen([f"{build}/bin/zarc", "sync", "--from=2024-03-01", "--to=2024-04-01",
                         f"--fetcher=127.0.0.1:{port}"], stdout=subprocess.DEVNULL)
deadline = t0 + 3600
while delivered() < expected and time.monotonic() < deadline:
    time.sleep(0.2)
elapsed = time.monotonic() - t0
cpu = cpu_seconds(run.pid) - cpu0
peak_kib = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{run.pid}/status").read()).group(1))
got = delivered()
sync.wait(timeout=60)
run.terminate(); run.wait(timeout=60); sim.terminate()
print(json.dumps({"meetings": meetings, "items": got, "expected_items": expected, "seconds": round(elapsed, 1),
                  "items_per_second": round(got / elapsed, 1), "cpu_ms_per_item": round(1000 * cpu / max(1, got), 2),
                  "peak_rss_mib": round(peak_kib / 1024, 1)}))
PY
