#!/usr/bin/env bash
# `make tools`: pinned command-line tools in .tools/bin, built from Go modules (the Go module
# proxy is the only download needed), plus the Spark operator's CRDs in .tools/crds.
#   helm           the chart is linted and rendered with it (tests/chart)
#   spark-operator github.com/kubeflow/spark-operator/v2 module: its published CRD YAML
# Idempotent: a tool already at its pinned version is kept. Needs Go >= 1.24 (GO=/path/to/go).
#   kube-apiserver (optional, `apiserver`) k8s.io/kubernetes, for tests/chart/test_apiserver.py,
#                  which also needs etcd (Debian: etcd-server, installed here when root)
# Usage: scripts/tools.sh [all|helm|crds|apiserver]  (tests/chart runs `crds` when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.19.5
SPARK_OPERATOR_VERSION=v2.3.0
# helm's Kubernetes version defaults come from its client-go module (v0.34.x = Kubernetes 1.34).
HELM_K8S_MAJOR=1
HELM_K8S_MINOR=34
KUBERNETES_VERSION=v1.34.2

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

# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules with
# local paths), so a throwaway module requires it with those replaced by their published
# versions (v0.<minor>.<patch>), then builds cmd/kube-apiserver.
install_apiserver() {
  if [ -x "$BIN/kube-apiserver" ] && "$BIN/kube-apiserver" --version 2>/dev/null | grep -q "${KUBERNETES_VERSION#v}\|$KUBERNETES_VERSION"; then
    echo "tools: kube-apiserver $KUBERNETES_VERSION present"
  else
    echo "tools: building kube-apiserver $KUBERNETES_VERSION (10+ minutes the first time)"
    local src=$ROOT/.tools/src/kube-apiserver staging=v0.${KUBERNETES_VERSION#v1.} gomod minor
    minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
    mkdir -p "$src"
    gomod=$("$GO" mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" \
            | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    {
      echo "module trendfolio.local/kube-apiserver"
      grep '^go ' "$gomod"
      echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
      echo "replace ("
      grep '=> ./staging/' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } > "$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' \
      > "$src/tools.go"
    (cd "$src" && "$GO" mod tidy && CGO_ENABLED=0 "$GO" build -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
      -o "$BIN/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  fi
  if ! command -v etcd >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends etcd-server \
        || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
             --no-install-recommends etcd-server; }
    else
      echo "tools: etcd is missing (Debian: apt-get install etcd-server)" >&2
    fi
  fi
}

case "${1:-all}" in
  all) install_helm; fetch_crds ;;
  helm) install_helm ;;
  crds) fetch_crds ;;
  apiserver) install_apiserver ;;
  *) echo "usage: scripts/tools.sh [all|helm|crds|apiserver]" >&2; exit 2 ;;
esac
