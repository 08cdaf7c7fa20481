#!/usr/bin/env bash
# Self-test of check_metric_names.py: a scrape with every name passes; the same scrape without one
# name (a counter, then a histogram) fails and names what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
deploy=$(cd "$here/../../deploy" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { /usr/bin/python3 "$here/check_metric_names.py" "$deploy/dashboards" "$deploy/alerts" "$@"; }

check "$here/testdata/fake_scrape.txt" > "$tmp/out" || { cat "$tmp/out"; echo "FAIL: complete scrape rejected"; exit 1; }
grep -q ' 0 missing' "$tmp/out" || { cat "$tmp/out"; echo "FAIL: complete scrape not reported complete"; exit 1; }

for name in zarc_stage_records_total zarc_importer_delivery_latency_seconds; do
  grep -v "^$name\|^# TYPE $name " "$here/testdata/fake_scrape.txt" > "$tmp/scrape"
  if check "$tmp/scrape" > "$tmp/out"; then
    cat "$tmp/out"; echo "FAIL: scrape without $name accepted"; exit 1
  fi
  grep -q "^MISSING .*$name" "$tmp/out" || { cat "$tmp/out"; echo "FAIL: $name not reported missing"; exit 1; }
done
# A scrape split over several files (one per service) counts as one.
split -l 40 "$here/testdata/fake_scrape.txt" "$tmp/part."
check "$tmp"/part.* > "$tmp/out" || { cat "$tmp/out"; echo "FAIL: split scrape rejected"; exit 1; }
echo "selftest_metric_names: ok"
