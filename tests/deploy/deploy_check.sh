#!/usr/bin/env bash
# The deploy/ checks, one subcommand per CTest test (tests/deploy/CMakeLists.txt).
# Usage: deploy_check.sh SUBCOMMAND OUT_DIR [ARGS...]; tools come from tools/ (scripts/install-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cmd=$1 out=$2
shift 2
mkdir -p "$out"
helm="$root/tools/bin/helm" kubectl="$root/tools/bin/kubectl" modules="$root/tools/node_modules"
chart="$root/deploy/helm/zarc"
py=/usr/bin/python3
# helm and kubectl keep caches under HOME: give them a private one.
export HOME="$out/home" HELM_CACHE_HOME="$out/home/cache" HELM_CONFIG_HOME="$out/home/config" HELM_DATA_HOME="$out/home/data"
mkdir -p "$HOME"
for tool in "$helm" "$kubectl"; do
  [ -x "$tool" ] || { echo "$tool is missing: run scripts/install-deps.sh"; exit 1; }
done
values() { [ "$1" = full ] && echo "-f $chart/ci/full-values.yaml" || true; }

case "$cmd" in
  helm-lint)  # helm-lint default|full
    # shellcheck disable=SC2046
    "$helm" lint --strict $(values "$1") "$chart" 2>&1 | tee "$out/lint-$1.txt"
    grep -q '0 chart(s) failed' "$out/lint-$1.txt"
    ;;
  helm-template)  # helm-template default|full: render, validate against the schemas, check semantics
    # shellcheck disable=SC2046
    "$helm" template zarc "$chart" --namespace zarc $(values "$1") > "$out/rendered-$1.yaml"
    $py "$here/validate_manifests.py" --node-modules "$modules" "$out/rendered-$1.yaml"
    $py "$here/check_rendered.py" "$1" "$out/rendered-$1.yaml" "$root/deploy"
    ;;
  helm-workload-identity)  # helm-workload-identity ZARC_BINARY: Blob Storage by AKS workload identity
    "$helm" template zarc "$chart" --namespace zarc --set config.blob.azureAccount=contosoarchive \
      --set config.blob.azureIdentity.mode=workload-identity \
      --set config.blob.azureIdentity.clientId=11111111-2222-3333-4444-555555555555 \
      > "$out/rendered-workload-identity.yaml"
    $py "$here/validate_manifests.py" --node-modules "$modules" "$out/rendered-workload-identity.yaml"
    for stage in fetcher converter importer; do "$1" "$stage" --help; done > "$out/options.txt" 2>&1
    $py "$here/check_workload_identity.py" "$out/rendered-workload-identity.yaml" \
      11111111-2222-3333-4444-555555555555 "$out/options.txt"
    ;;
  helm-refuses)  # values that must not render
    for case in "--set fetcher.replicas=2|one replica per Zoom account" \
                "--set converter.autoscaling.enabled=true --set converter.keda.enabled=true|not both" \
                "--set config.logFormat=xml|config.logFormat must be one of the following" \
                "--set importer.replicas=many|importer.replicas: Invalid type. Expected: integer" \
                "--set fetcher.service.grpcPort=70000|fetcher.service.grpcPort: Must be less than or equal to 65535" \
                "--set fetchr.replicas=1|Additional property fetchr is not allowed" \
                "--set grpc.auth.tokenSecretName=zarc-grpc-token|grpc.auth.tokenSecretName needs grpc.tls.secretName" \
                "--set grpc.tls.mtls=yes|grpc.tls.mtls: Invalid type. Expected: boolean" \
                "--set grpc.healthPort=0|grpc.healthPort: Must be greater than or equal to 1" \
                "--set console.auth=none|console.auth must be one of the following" \
                "--set console.port=70000|console.port: Must be less than or equal to 65535" \
                "--set console.enabled=true --set console.secretName=|console.secretName: String length must be greater than or equal to 1" \
                "--set console.enabled=true --set console.auth=proxy|console.auth proxy needs console.proxyAddresses" \
                "--set console.enabled=true --set console.viewerKey= --set console.adminKey=|needs console.viewerKey or console.adminKey" \
                "--set config.blob.azureIdentity.mode=workload-identity|clientId: String length must be greater than or equal to 1" \
                "--set config.blob.azureIdentity.mode=shared-key|config.blob.azureIdentity.mode must be one of the following"; do
      bad=${case%%|*} why=${case#*|}
      # shellcheck disable=SC2086
      if "$helm" template zarc "$chart" $bad > /dev/null 2> "$out/refused.txt"; then
        echo "FAIL: helm template $bad rendered"; exit 1
      fi
      cat "$out/refused.txt"
      grep -q "$why" "$out/refused.txt" || { echo "FAIL: $bad refused for another reason"; exit 1; }
    done
    echo "helm-refuses: ok"
    ;;
  chart-readme)  # the chart's README is generated from values.yaml's `# --` comments
    $py "$root/scripts/gen-chart-readme.py" "$chart" "$out/README.md"
    diff -u "$chart/README.md" "$out/README.md" \
      || { echo "FAIL: deploy/helm/zarc/README.md is stale: run scripts/gen-chart-readme.py deploy/helm/zarc"; exit 1; }
    echo "chart-readme: current"
    ;;
  chart-copies)  # the chart ships copies of deploy/alerts and deploy/dashboards (no symbolic links)
    if find "$chart" -type l | grep -q .; then
      find "$chart" -type l; echo "FAIL: the chart holds symbolic links (helm packages them badly)"; exit 1
    fi
    for f in alerts/zarc-alerts.yaml dashboards/zarc-pipeline.json; do
      cmp "$root/deploy/$f" "$chart/$f" \
        || { echo "FAIL: $chart/$f differs from deploy/$f: cp deploy/$f deploy/helm/zarc/$f"; exit 1; }
    done
    for f in "$root"/deploy/dashboards/*.json; do
      [ -f "$chart/dashboards/$(basename "$f")" ] || { echo "FAIL: the chart lacks dashboards/$(basename "$f")"; exit 1; }
    done
    echo "chart-copies: the chart's alerts and dashboards equal deploy/'s"
    ;;
  kustomize)  # kustomize base|overlays/example
    "$kubectl" kustomize "$root/deploy/k8s/$1" > "$out/kustomize-${1//\//-}.yaml"
    $py "$here/validate_manifests.py" --node-modules "$modules" "$out/kustomize-${1//\//-}.yaml"
    ;;
  kustomize-secure-grpc)  # the secure-grpc overlay: TLS, mTLS and token options and mounts on every stage
    "$kubectl" kustomize "$root/deploy/k8s/overlays/secure-grpc" > "$out/kustomize-secure-grpc.yaml"
    $py "$here/validate_manifests.py" --node-modules "$modules" "$out/kustomize-secure-grpc.yaml"
    $py "$here/check_kustomize_grpc.py" "$out/kustomize-secure-grpc.yaml" "$root/docs/configuration.md"
    # The check must notice an overlay without the components (the plain example).
    "$kubectl" kustomize "$root/deploy/k8s/overlays/example" > "$out/kustomize-example.yaml"
    if $py "$here/check_kustomize_grpc.py" "$out/kustomize-example.yaml" "$root/docs/configuration.md" \
        > "$out/selftest.txt"; then
      echo "FAIL: check_kustomize_grpc.py accepted the example overlay, which has no gRPC security"; exit 1
    fi
    ;;
  validator-selftest)  # the validator must reject broken objects of each kind of schema
    for bad in "$here"/testdata/invalid/*.yaml; do
      if $py "$here/validate_manifests.py" --node-modules "$modules" "$bad" > "$out/selftest.txt"; then
        cat "$out/selftest.txt"; echo "FAIL: $(basename "$bad") was accepted"; exit 1
      fi
      grep FAIL "$out/selftest.txt" | head -3
    done
    $py "$here/validate_manifests.py" --node-modules "$modules" "$here/testdata/valid.yaml"
    ;;
  promtool-check)
    promtool check rules "$root/deploy/alerts/zarc-alerts.yaml"
    ;;
  promtool-test)
    (cd "$root/deploy/alerts" && promtool test rules zarc-alerts_test.yaml)
    $py "$here/check_alert_tests.py" "$root/deploy/alerts/zarc-alerts.yaml" "$root/deploy/alerts/zarc-alerts_test.yaml"
    ;;
  runbook)  # every alert links its section of docs/runbook.md
    $py "$here/check_runbook.py" "$root/deploy/alerts/zarc-alerts.yaml" "$root/docs/runbook.md"
    # The check must notice an alert without its link.
    grep -v 'runbook_url:' "$root/deploy/alerts/zarc-alerts.yaml" > "$out/no-runbook.yaml"
    if $py "$here/check_runbook.py" "$out/no-runbook.yaml" "$root/docs/runbook.md" > "$out/selftest.txt"; then
      echo "FAIL: check_runbook.py accepted alerts without runbook_url"; exit 1
    fi
    ;;
  dockerfile)  # dockerfile [BINARY...]
    $py "$here/check_dockerfile.py" "$root/Dockerfile" "$root/scripts/install-deps.sh" "$@"
    ;;
  dockerfile-selftest)  # dockerfile-selftest [BINARY...]: what a broken Dockerfile must be told
    sed '/^USER /d' "$root/Dockerfile" > "$out/Dockerfile.root"
    sed 's/ librdkafka1 / /' "$root/Dockerfile" > "$out/Dockerfile.nolib"
    sed 's/^CMD .*/CMD ["run"]/' "$root/Dockerfile" > "$out/Dockerfile.loopback"
    for f in "$out/Dockerfile.root" "$out/Dockerfile.nolib" "$out/Dockerfile.loopback"; do
      if $py "$here/check_dockerfile.py" "$f" "$root/scripts/install-deps.sh" > "$out/selftest.txt"; then
        cat "$out/selftest.txt"; echo "FAIL: $(basename "$f") accepted"; exit 1
      fi
      grep FAIL "$out/selftest.txt"
    done
    # A library the binaries load whose package the runtime stage lacks is found through ldd + dpkg.
    if [ $# -gt 0 ]; then
      sed 's/ libprometheus-cpp-pull1.0 / /' "$root/Dockerfile" > "$out/Dockerfile.nopull"
      if $py "$here/check_dockerfile.py" "$out/Dockerfile.nopull" "$root/scripts/install-deps.sh" "$@" \
          > "$out/selftest.txt"; then
        cat "$out/selftest.txt"; echo "FAIL: Dockerfile.nopull accepted"; exit 1
      fi
      grep -E "FAIL .* loads .*libprometheus-cpp-pull.* from libprometheus-cpp-pull1.0, which the runtime stage does not install" \
        "$out/selftest.txt" || { cat "$out/selftest.txt"; echo "FAIL: the missing library was not reported by ldd"; exit 1; }
    fi
    ;;
  *)
    echo "unknown subcommand $cmd"; exit 2 ;;
esac
