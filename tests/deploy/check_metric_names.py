#!/usr/bin/env python3
"""Every metric name used by the dashboards and alert rules must exist in real /metrics scrapes.

Usage: check_metric_names.py DASHBOARD_DIR ALERTS_DIR SCRAPE_FILE...

Names are taken from the PromQL of every dashboard target and templating query (*.json) and every
rule `expr` (*.yaml files with `groups:`; promtool test files are skipped). A name counts as present
if a scrape has a sample or a `# TYPE` line for it; for a histogram or summary, `NAME_bucket`,
`NAME_sum` and `NAME_count` count for its base name and the other way round. Names exported by
other programs are allowed through EXTERNAL below, each with where it comes from.
Exits 1, listing each missing name and where it is used.
"""
import glob
import json
import os
import re
import sys

import yaml

# Metric names zarc does not export, and who does. Keep this list short and documented.
EXTERNAL = {
    # Strimzi's Kafka Exporter (kafka-exporter in the Kafka CR): consumer lag and topic offsets.
    "kafka_consumergroup_lag": "Strimzi Kafka Exporter",
    "kafka_topic_partition_current_offset": "Strimzi Kafka Exporter",
    "kafka_topic_partition_oldest_offset": "Strimzi Kafka Exporter",
}

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan", "le", "atan2"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr):
    """Metric names referenced by a PromQL expression (Grafana variables allowed)."""
    e = re.sub(r"label_values\(\s*([^,()]+?)\s*,\s*\w+\s*\)", r"\1", expr)  # Grafana variable query
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', e)   # string literals
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "1", e)                                  # Grafana variables
    e = re.sub(r"\{[^{}]*\}", "", e)                                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                                          # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w.])(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def dashboard_exprs(path):
    with open(path) as f:
        dash = json.load(f)
    out = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    out.append(value)
                elif key == "query" and isinstance(value, str) and "(" in value:
                    out.append(value)
                elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                    out.append(value["query"])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dash)
    return out


def rule_exprs(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or "groups" not in doc:
        return []  # e.g. a promtool test file
    return [r["expr"] for g in doc["groups"] for r in g.get("rules", []) if "expr" in r]


def scraped_names(paths):
    names = set()
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("# TYPE "):
                    parts = line.split()
                    names.add(parts[2])
                    if len(parts) > 3 and parts[3] in ("histogram", "summary"):
                        names.update(parts[2] + s for s in HISTOGRAM_SUFFIXES)
                elif line and not line.startswith("#"):
                    names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    for name in list(names):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                if all(base + s in names for s in HISTOGRAM_SUFFIXES):
                    names.add(base)
    return names


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    dashboard_dir, alerts_dir, scrapes = argv[1], argv[2], argv[3:]
    used = {}  # name -> where
    sources = [(p, dashboard_exprs(p)) for p in sorted(glob.glob(os.path.join(dashboard_dir, "*.json")))]
    sources += [(p, rule_exprs(p)) for p in sorted(glob.glob(os.path.join(alerts_dir, "*.yaml")))]
    for path, exprs in sources:
        for expr in exprs:
            for name in metric_names(expr):
                used.setdefault(name, set()).add(os.path.basename(path))
    if not used:
        print(f"FAIL: no metric names found in {dashboard_dir} and {alerts_dir}")
        return 1
    present = scraped_names(scrapes)
    missing = sorted(n for n in used if n not in present and n not in EXTERNAL)
    for name in sorted(used):
        state = "external (" + EXTERNAL[name] + ")" if name in EXTERNAL else (
            "MISSING" if name in missing else "ok")
        print(f"{state:32} {name}  [{', '.join(sorted(used[name]))}]")
    print(f"check_metric_names: {len(used)} names used, {len(missing)} missing from "
          f"{len(scrapes)} scrape(s)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
