#!/usr/bin/env python3
"""Every alert in RULES has a promtool test that fires it and one where it stays quiet.

Usage: check_alert_tests.py RULES.yaml TESTS.yaml   (run `promtool test rules TESTS.yaml` too)
"""
import sys

import yaml


def main(rules_path, tests_path):
    with open(rules_path) as f:
        alerts = [r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r]
    with open(tests_path) as f:
        tests = yaml.safe_load(f)["tests"]
    fires, quiet = set(), set()
    for t in tests:
        for case in t.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = [f"{a}: no test fires it" for a in alerts if a not in fires]
    problems += [f"{a}: no test shows it quiet when healthy" for a in alerts if a not in quiet]
    problems += [f"{a}: tested but not in {rules_path}" for a in sorted((fires | quiet) - set(alerts))]
    for p in problems:
        print("FAIL " + p)
    print(f"check_alert_tests: {len(alerts)} alerts, {len(problems)} problems")
    return 1 if problems or not alerts else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
