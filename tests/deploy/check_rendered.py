#!/usr/bin/env python3
"""What the chart renders must match what zarc needs, beyond schema validity.

Usage: check_rendered.py default|full RENDERED.yaml DEPLOY_DIR

Every Deployment: non-root, read-only root, gRPC probes on its gRPC port (with gRPC TLS on: on
the plaintext health-only port bound to the pod IP, the TLS files and token mounted), secrets
only as *_FILE paths of mounted volumes, `zarc <stage>`. The importer's console has its Service
port and NetworkPolicy rule when enabled; helm test pods carry the gRPC client credentials. The fetcher keeps 1 replica. Autoscaled stages leave
`replicas` to their HPA or ScaledObject, which scale on the right consumer group and topic.
The dashboards ConfigMap and PrometheusRule carry deploy/dashboards and deploy/alerts unchanged.
`full` expects every optional object to be there.
"""
import glob
import json
import os
import sys

import yaml

INPUT = {"converter": ("zarc.meetings", "zarc-converter"), "mapper": ("zarc.messages", "zarc-mapper"),
         "importer": ("zarc.deliveries", "zarc-importer")}
GRPC_PORT = {"fetcher": 7001, "converter": 7002, "mapper": 7003, "importer": 7004}
HEALTH_PORT = 7100  # full values turn gRPC TLS on
CONSOLE_PORT = 9504
GRPC_TLS_ENV = {"ZARC_GRPC_TLS_CERT_FILE", "ZARC_GRPC_TLS_KEY_FILE", "ZARC_GRPC_TLS_CA_FILE",
                "ZARC_GRPC_TLS_CLIENT_CA_FILE", "ZARC_GRPC_AUTH_TOKEN_FILE"}


def main(mode, rendered, deploy_dir):
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    problems = []
    scaled = {o["spec"]["scaleTargetRef"]["name"] for o in
              by_kind.get("HorizontalPodAutoscaler", []) + by_kind.get("ScaledObject", [])}

    deployments = by_kind.get("Deployment", [])
    if sorted(d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
              for d in deployments) != sorted(GRPC_PORT):
        problems.append(f"expected one Deployment per stage, got {[d['metadata']['name'] for d in deployments]}")
    for d in deployments:
        name = d["metadata"]["name"]
        stage = d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        pod = d["spec"]["template"]["spec"]
        c = pod["containers"][0]
        if pod["securityContext"].get("runAsNonRoot") is not True or pod["securityContext"].get("runAsUser", 0) == 0:
            problems.append(f"{name}: pod may run as root")
        if c["securityContext"].get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root file system is writable")
        if c.get("command") != ["/usr/local/bin/zarc"] or c.get("args", [None])[0] != stage:
            problems.append(f"{name}: does not run `zarc {stage}`")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        probe_port = HEALTH_PORT if mode == "full" else GRPC_PORT[stage]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if c.get(probe, {}).get("grpc", {}).get("port") != probe_port:
                problems.append(f"{name}: {probe} is not a gRPC health probe on {probe_port}")
        if mode == "full":
            if not GRPC_TLS_ENV <= set(env):
                problems.append(f"{name}: gRPC TLS on but {sorted(GRPC_TLS_ENV - set(env))} not set")
            if (env.get("ZARC_GRPC_HEALTH_PORT"), env.get("ZARC_GRPC_HEALTH_ADDRESS")) != (str(HEALTH_PORT), "$(POD_IP)"):
                problems.append(f"{name}: the health-only port is not {HEALTH_PORT} on the pod IP")
            if HEALTH_PORT not in {p["containerPort"] for p in c["ports"]}:
                problems.append(f"{name}: no container port {HEALTH_PORT} for the probes")
        elif set(env) & GRPC_TLS_ENV:
            problems.append(f"{name}: default values set gRPC TLS options {sorted(set(env) & GRPC_TLS_ENV)}")
        if stage in ("mapper", "importer"):
            # full values: a certificate credential (secrets.graph.certificateKey); default: the secret
            want = "ZARC_GRAPH_CLIENT_CERTIFICATE_FILE" if mode == "full" else "ZARC_GRAPH_CLIENT_SECRET_FILE"
            other = "ZARC_GRAPH_CLIENT_SECRET_FILE" if mode == "full" else "ZARC_GRAPH_CLIENT_CERTIFICATE_FILE"
            if not str(env.get(want) or "").startswith("/var/run/secrets/zarc/graph/") or other in env:
                problems.append(f"{name}: Graph credential env {want}={env.get(want)!r}, {other} {'set' if other in env else 'unset'}")
        console = stage == "importer" and mode == "full"
        if console != (env.get("ZARC_CONSOLE_ENABLED") == "true"):
            problems.append(f"{name}: console {'off' if console else 'on'}, want {'on' if console else 'off'}")
        if console and not (env.get("ZARC_CONSOLE_VIEWER_SECRET_FILE") and env.get("ZARC_CONSOLE_MAPPER_ADDRESS")):
            problems.append(f"{name}: the console has no viewer secret or mapper address")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        for e in c.get("env", []):
            if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]:
                problems.append(f"{name}: secret {e['name']} in the environment; mount it and use *_FILE")
            if e["name"].endswith("_FILE") and not any(e["value"].startswith(m + "/") for m in mounts):
                problems.append(f"{name}: {e['name']}={e['value']} is not in a mounted volume")
        if stage == "fetcher" and d["spec"].get("replicas") != 1:
            problems.append(f"{name}: the fetcher must have exactly 1 replica")
        if name in scaled and "replicas" in d["spec"]:
            problems.append(f"{name}: autoscaled but sets replicas (each apply would reset the scale)")

    for so in by_kind.get("ScaledObject", []):
        stage = so["metadata"]["labels"]["app.kubernetes.io/component"]
        meta = so["spec"]["triggers"][0]["metadata"]
        if (meta["topic"], meta["consumerGroup"]) != INPUT[stage]:
            problems.append(f"{so['metadata']['name']}: scales on {meta['topic']}/{meta['consumerGroup']}, "
                            f"want {INPUT[stage]}")

    pdbs = {p["metadata"]["name"] for p in by_kind.get("PodDisruptionBudget", [])}
    if pdbs != {d["metadata"]["name"] for d in deployments}:
        problems.append(f"PodDisruptionBudgets {sorted(pdbs)} do not match the Deployments")

    services = {s["metadata"]["name"]: {p["name"] for p in s["spec"]["ports"]} for s in by_kind.get("Service", [])}
    for d in deployments:
        ports = services.get(d["metadata"]["name"], set())
        if not {"grpc", "metrics"} <= ports:
            problems.append(f"{d['metadata']['name']}: Service lacks grpc/metrics ports ({sorted(ports)})")
        console = d["metadata"]["name"].endswith("-importer") and mode == "full"
        if console != ("console" in ports):
            problems.append(f"{d['metadata']['name']}: Service console port {'missing' if console else 'present'}")

    for pod in by_kind.get("Pod", []):  # helm test
        c = pod["spec"]["containers"][0]
        env = {e["name"] for e in c.get("env", [])}
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        want = {"ZARC_GRPC_TLS_CA_FILE", "ZARC_GRPC_TLS_CERT_FILE", "ZARC_GRPC_AUTH_TOKEN_FILE"} if mode == "full" else set()
        if not want <= env or (mode != "full" and env):
            problems.append(f"{pod['metadata']['name']}: gRPC client settings {sorted(env)}, want {sorted(want)}")
        for e in c.get("env", []):
            if e["name"].endswith("_FILE") and not any(e["value"].startswith(m + "/") for m in mounts):
                problems.append(f"{pod['metadata']['name']}: {e['name']}={e['value']} is not in a mounted volume")

    for np in by_kind.get("NetworkPolicy", []):
        if np["metadata"]["labels"]["app.kubernetes.io/component"] != "importer":
            continue
        ports = {p["port"] for rule in np["spec"]["ingress"] for p in rule.get("ports", [])}
        if mode == "full" and not {CONSOLE_PORT, HEALTH_PORT} <= ports:
            problems.append(f"{np['metadata']['name']}: admits {sorted(ports)}, not the console and health ports")

    dash_cms = [c for c in by_kind.get("ConfigMap", []) if c["metadata"]["name"].endswith("-dashboards")]
    for path in glob.glob(os.path.join(deploy_dir, "dashboards", "*.json")):
        want = json.load(open(path))
        got = dash_cms[0]["data"].get(os.path.basename(path)) if dash_cms else None
        if got is None or json.loads(got) != want:
            problems.append(f"dashboards ConfigMap does not carry {os.path.basename(path)} unchanged")

    topics = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in by_kind.get("KafkaTopic", [])}
    rules = by_kind.get("PrometheusRule", [])
    if mode == "full":
        want_kinds = {"HorizontalPodAutoscaler", "ScaledObject", "ServiceMonitor", "KafkaTopic", "PrometheusRule"}
        for k in sorted(want_kinds - set(by_kind)):
            problems.append(f"full values render no {k}")
        if len(by_kind.get("ServiceMonitor", [])) != 4:
            problems.append("full values: expected a ServiceMonitor per stage")
        if set(topics) != {"zarc.meetings", "zarc.messages", "zarc.deliveries", "zarc.import-log", "zarc.dead-letter"}:
            problems.append(f"KafkaTopics {sorted(topics)} are not zarc's five topics")
        for so in by_kind.get("ScaledObject", []):
            stage = so["metadata"]["labels"]["app.kubernetes.io/component"]
            if so["spec"]["maxReplicaCount"] > topics.get(INPUT[stage][0], 0):
                problems.append(f"{so['metadata']['name']}: maxReplicaCount above the partitions of {INPUT[stage][0]}")
        want_rules = yaml.safe_load(open(os.path.join(deploy_dir, "alerts", "zarc-alerts.yaml")))
        if not rules or rules[0]["spec"] != want_rules:
            problems.append("PrometheusRule does not carry deploy/alerts/zarc-alerts.yaml unchanged")
    else:
        for k in ("HorizontalPodAutoscaler", "ScaledObject", "ServiceMonitor", "KafkaTopic", "PrometheusRule"):
            if k in by_kind:
                problems.append(f"default values render an optional {k} (needs a CRD or opt-in)")

    for p in problems:
        print("FAIL " + p)
    print(f"check_rendered ({mode}): {len(docs)} objects, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("default", "full"):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
