#!/usr/bin/env python3
"""Validates every object in rendered Kubernetes YAML files against the Kubernetes schemas, offline.

Built-in kinds and the KEDA / Prometheus Operator CRDs go to validate_k8s.mjs (schemas from the
kubernetes-models npm packages, see that file). Strimzi KafkaTopic has no such package: it is checked
with python3-jsonschema against schemas/kafka.strimzi.io_v1beta2_KafkaTopic.json, a minimal schema
written from Strimzi's published CRD and labelled as such. An object of any other kind fails: nothing
passes unvalidated.

Usage: validate_manifests.py --node-modules DIR FILE.yaml...
"""
import argparse
import json
import os
import subprocess
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
LOCAL_SCHEMAS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "kafka.strimzi.io_v1beta2_KafkaTopic.json",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node-modules", required=True,
                        help="node_modules holding kubernetes-models (tools/node_modules)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    for pkg in ("kubernetes-models", "@kubernetes-models/keda", "@kubernetes-models/prometheus-operator"):
        if not os.path.isdir(os.path.join(args.node_modules, pkg)):
            sys.exit(f"{pkg} is not installed in {args.node_modules}: run scripts/install-deps.sh")

    for_node, failures, checked = [], 0, 0
    for path in args.files:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for i, doc in enumerate(docs):
            source = f"{os.path.basename(path)}#{i}"
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                print(f"FAIL {source}: not a Kubernetes object (no apiVersion/kind)")
                failures += 1
                continue
            checked += 1
            schema_file = LOCAL_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
            if schema_file is None:
                for_node.append({"source": source, "object": doc})
                continue
            with open(os.path.join(HERE, "schemas", schema_file)) as f:
                schema = json.load(f)
            errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
            name = doc.get("metadata", {}).get("name", "?")
            if errors:
                failures += 1
                for e in errors:
                    where = "/".join(str(p) for p in e.absolute_path)
                    print(f"FAIL {source}: {doc['kind']}/{name}: {where}: {e.message}")
            else:
                print(f"ok   {source}: {doc['kind']}/{name} ({doc['apiVersion']}, minimal schema {schema_file})")

    if checked == 0:
        print("FAIL: no Kubernetes objects found in " + " ".join(args.files))
        return 1
    if for_node:
        result = subprocess.run(["node", os.path.join(HERE, "validate_k8s.mjs"), args.node_modules],
                                input=json.dumps(for_node), text=True, capture_output=True)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            failures += 1
    print(f"validate_manifests: {checked} objects, {'FAILED' if failures else 'all valid'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
