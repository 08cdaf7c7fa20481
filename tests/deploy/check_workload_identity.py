#!/usr/bin/env python3
"""The chart with config.blob.azureIdentity.mode=workload-identity: Blob Storage through AKS
workload identity instead of a storage key.

Usage: check_workload_identity.py RENDERED.yaml CLIENT_ID OPTIONS.txt

Every stage with a blob store (fetcher, converter, importer) is labelled
azure.workload.identity/use=true (the webhook then injects AZURE_CLIENT_ID, AZURE_TENANT_ID,
AZURE_FEDERATED_TOKEN_FILE and the projected token), sets ZARC_<STORE>_AZURE_IDENTITY for the
three stores, and has no storage key or SAS: no *_AZURE_KEY_FILE or *_AZURE_SAS_FILE and no
zarc-azure volume. The ServiceAccount carries the client id. OPTIONS.txt (``zarc fetcher|converter|importer --help``)
must name each ZARC_ variable set, so the names are options zarc reads.
"""
import re
import sys

import yaml


def main(rendered, client_id, options_file):
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    help_text = open(options_file).read()
    problems = []
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    if len(accounts) != 1 or accounts[0]["metadata"].get("annotations", {}).get(
            "azure.workload.identity/client-id") != client_id:
        problems.append(f"the ServiceAccount is not annotated with client id {client_id}")
    for d in (d for d in docs if d["kind"] == "Deployment"):
        name = d["metadata"]["name"]
        template = d["spec"]["template"]
        stage = template["metadata"]["labels"]["app.kubernetes.io/component"]
        if stage == "mapper":
            continue  # no blob store
        if template["metadata"]["labels"].get("azure.workload.identity/use") != "true":
            problems.append(f"{name}: pods are not labelled azure.workload.identity/use=true")
        c = template["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        for store in ("STAGING", "MESSAGES", "ARCHIVE"):
            var = f"ZARC_{store}_AZURE_IDENTITY"
            if env.get(var) != "workload-identity":
                problems.append(f"{name}: {var}={env.get(var)!r}, want workload-identity")
            if f"`{var}`" not in help_text:
                problems.append(f"zarc's stages have no option read from {var}")
        keys = [v for v in env if re.match(r"ZARC_\w+_AZURE_(KEY|SAS)_FILE$", v)]
        if keys:
            problems.append(f"{name}: storage key or SAS still set: {keys}")
        volumes = [v for v in template["spec"].get("volumes", []) if v.get("secret", {}).get("secretName") == "zarc-azure"]
        if volumes:
            problems.append(f"{name}: still mounts the zarc-azure Secret")
    for p in problems:
        print("FAIL:", p)
    print("workload identity:", "ok" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
