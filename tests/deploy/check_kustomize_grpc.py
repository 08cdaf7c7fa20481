#!/usr/bin/env python3
"""Checks the secure-grpc overlay as rendered by `kubectl kustomize`: every Deployment serves TLS
with mTLS and a bearer token, mounts the two Secrets where its options point, and probes the
plaintext health-only port (the kubelet's gRPC probes cannot present a certificate or a token).
Every ZARC_GRPC_* variable set must be one the binaries know (docs/configuration.md, generated
from them), so a misspelt option cannot pass.

Usage: check_kustomize_grpc.py RENDERED.yaml docs/configuration.md
"""
import re
import sys

import yaml

TLS = "/var/run/secrets/zarc/grpc-tls"
TOKEN = "/var/run/secrets/zarc/grpc-token"
HEALTH_PORT = 7100
EXPECTED_ENV = {
    "ZARC_GRPC_TLS_CERT_FILE": f"{TLS}/tls.crt",
    "ZARC_GRPC_TLS_KEY_FILE": f"{TLS}/tls.key",
    "ZARC_GRPC_TLS_CA_FILE": f"{TLS}/ca.crt",
    "ZARC_GRPC_TLS_CLIENT_CA_FILE": f"{TLS}/ca.crt",
    "ZARC_GRPC_AUTH_TOKEN_FILE": f"{TOKEN}/token",
    "ZARC_GRPC_HEALTH_PORT": str(HEALTH_PORT),
    "ZARC_GRPC_HEALTH_ADDRESS": "$(POD_IP)",
}
EXPECTED_VOLUMES = {"grpc-tls": ("zarc-grpc-tls", TLS), "grpc-token": ("zarc-grpc-token", TOKEN)}
STAGES = {"zarc-fetcher", "zarc-converter", "zarc-mapper", "zarc-importer"}


def main():
    rendered, reference = sys.argv[1], sys.argv[2]
    with open(reference) as f:
        known = set(re.findall(r"\| `(ZARC_[A-Z0-9_]+)` \|", f.read()))
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    failures = []
    seen = set()
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        name = d["metadata"]["name"]
        seen.add(name)
        pod = d["spec"]["template"]["spec"]
        c = pod["containers"][0]
        env = c.get("env", [])
        names = [e["name"] for e in env]
        values = {e["name"]: e.get("value") for e in env}
        for key, want in EXPECTED_ENV.items():
            if values.get(key) != want:
                failures.append(f"{name}: {key} is {values.get(key)!r}, want {want!r}")
        if names.count("ZARC_GRPC_TLS_CERT_FILE") != 1:
            failures.append(f"{name}: ZARC_GRPC_TLS_CERT_FILE set {names.count('ZARC_GRPC_TLS_CERT_FILE')} times")
        pod_ip = next((e for e in env if e["name"] == "POD_IP"), None)
        if not pod_ip or pod_ip.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "status.podIP":
            failures.append(f"{name}: POD_IP does not come from status.podIP")
        elif names.index("POD_IP") > names.index("ZARC_GRPC_HEALTH_ADDRESS"):
            failures.append(f"{name}: POD_IP comes after ZARC_GRPC_HEALTH_ADDRESS ($(POD_IP) stays literal)")
        for key in names:
            if key.startswith("ZARC_GRPC_") and key not in known:
                failures.append(f"{name}: {key} is not an option of zarc (docs/configuration.md)")
        mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for vol, (secret, path) in EXPECTED_VOLUMES.items():
            m = mounts.get(vol)
            if not m or m.get("mountPath") != path or not m.get("readOnly"):
                failures.append(f"{name}: volume {vol} is not mounted read-only at {path}")
            if volumes.get(vol, {}).get("secret", {}).get("secretName") != secret:
                failures.append(f"{name}: volume {vol} is not the Secret {secret}")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            port = c.get(probe, {}).get("grpc", {}).get("port")
            if port != HEALTH_PORT:
                failures.append(f"{name}: {probe} asks port {port}, not the health-only port {HEALTH_PORT}")
    if seen != STAGES:
        failures.append(f"Deployments rendered: {sorted(seen)}, want {sorted(STAGES)}")
    for f in failures:
        print("FAIL", f)
    if failures:
        sys.exit(1)
    print(f"secure-grpc: {len(seen)} Deployments serve TLS + mTLS + token, probes on {HEALTH_PORT}")


if __name__ == "__main__":
    main()
