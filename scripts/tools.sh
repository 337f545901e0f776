#!/usr/bin/env bash
# `make tools`: pinned command-line tools in .tools/bin, built from Go modules (the Go module
# proxy is the only download needed), plus the Spark operator's CRDs in .tools/crds.
#   helm           the chart is linted and rendered with it (tests/chart)
#   spark-operator github.com/kubeflow/spark-operator/v2 module: its published CRD YAML
# Idempotent: a tool already at its pinned version is kept. Needs Go >= 1.24 (GO=/path/to/go).
# Usage: scripts/tools.sh [all|helm|crds]   (tests/chart runs `crds` when the CRDs are missing)
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.19.5
SPARK_OPERATOR_VERSION=v2.3.0
# helm's Kubernetes version defaults come from its client-go module (v0.34.x = Kubernetes 1.34).
HELM_K8S_MAJOR=1
HELM_K8S_MINOR=34

ROOT=$PWD
BIN=$ROOT/.tools/bin
CRDS=$ROOT/.tools/crds
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
mkdir -p "$BIN" "$CRDS"

if ! [ -x "$GO" ]; then
  echo "tools: Go is needed to build helm (set GO=/path/to/go)" >&2
  exit 1
fi
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

helm_ok() {
  [ -x "$BIN/helm" ] && "$BIN/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"
}

install_helm() {
if helm_ok; then
  echo "tools: helm $HELM_VERSION present"
else
  echo "tools: building helm $HELM_VERSION (a few minutes the first time)"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=$HELM_K8S_MAJOR -X $pkg.k8sVersionMinor=$HELM_K8S_MINOR"
  done
  GOBIN=$BIN CGO_ENABLED=0 "$GO" install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  helm_ok || { echo "tools: helm did not report $HELM_VERSION" >&2; exit 1; }
fi
echo "tools: $("$BIN/helm" version --short)"
}

fetch_crds() {

crd=$CRDS/spark-operator-$SPARK_OPERATOR_VERSION/sparkoperator.k8s.io_sparkapplications.yaml
if [ -s "$crd" ]; then
  echo "tools: Spark operator $SPARK_OPERATOR_VERSION CRDs present"
else
  echo "tools: fetching the Spark operator $SPARK_OPERATOR_VERSION module for its CRDs"
  dir=$("$GO" mod download -json "github.com/kubeflow/spark-operator/v2@$SPARK_OPERATOR_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ] || ! [ -d "$dir/config/crd/bases" ]; then
    echo "tools: no CRDs in the downloaded spark-operator module ($dir)" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$crd")"
  cp "$dir"/config/crd/bases/sparkoperator.k8s.io_*.yaml "$(dirname "$crd")/"
  chmod u+w "$(dirname "$crd")"/*.yaml
fi
echo "tools: Spark operator CRDs in $(dirname "$crd")"
}

case "${1:-all}" in
  all) install_helm; fetch_crds ;;
  helm) install_helm ;;
  crds) fetch_crds ;;
  *) echo "usage: scripts/tools.sh [all|helm|crds]" >&2; exit 2 ;;
esac
