#!/usr/bin/env bash
# Offline checks of the deployment artefacts; exits non-zero on the first failing check.
# Needs `npm ci` (devDependencies: kubernetes-models, @kubernetes-models/knative,
# @kubernetes-models/prometheus-operator, typescript, dockerfile-utils) and promtool (Debian's
# prometheus package): no cluster, no Docker engine, no Prometheus server, no network.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Kubernetes and Cloud Run manifests (OpenAPI schemas + strict fields)"
node deploy/validate-manifests.mjs

echo "== Prometheus rules (promtool check rules, promtool test rules)"
promtool check rules deploy/prometheus/rules.yaml
promtool test rules deploy/prometheus/rules.test.yaml

echo "== Dockerfile lint (dockerfile-utils, the Docker language server's validator)"
# --json prints [] when clean; warnings (deprecated instructions, ...) fail too.
lint=$(node node_modules/dockerfile-utils/bin/dockerfile-utils lint --json Dockerfile)
if [ "$lint" != "[]" ]; then
  node node_modules/dockerfile-utils/bin/dockerfile-utils lint Dockerfile || true
  echo "Dockerfile: lint findings: $lint" >&2
  exit 1
fi
echo "ok   Dockerfile"
