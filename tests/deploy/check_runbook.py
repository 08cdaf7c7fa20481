#!/usr/bin/env python3
"""Every alert has a runbook_url annotation pointing at its own section of docs/runbook.md.

Usage: check_runbook.py RULES.yaml RUNBOOK.md
"""
import re
import sys

import yaml

BASE = "https://github.com/zarc/zarc/blob/main/docs/runbook.md#"


def anchors(markdown):
    """GitHub's heading anchors: lower case, spaces to '-', punctuation dropped."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            out.add(re.sub(r"[^a-z0-9 _-]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out


def main(rules_path, runbook_path):
    with open(rules_path) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r]
    with open(runbook_path) as f:
        have = anchors(f.read())
    problems = []
    for r in rules:
        name = r["alert"]
        url = r.get("annotations", {}).get("runbook_url", "")
        if not url:
            problems.append(f"{name}: no runbook_url annotation")
        elif url != BASE + name.lower():
            problems.append(f"{name}: runbook_url is {url}, want {BASE + name.lower()}")
        if name.lower() not in have:
            problems.append(f"{name}: docs/runbook.md has no section '## {name}'")
    for p in problems:
        print("FAIL " + p)
    print(f"check_runbook: {len(rules)} alerts, {len(problems)} problems")
    return 1 if problems or not rules else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
