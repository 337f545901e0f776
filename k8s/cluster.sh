#!/usr/bin/env bash
# A local Kubernetes cluster with everything Trendfolio runs on. Called by the Makefile:
#   make cluster-up     kind (or CLUSTER=minikube) + ingress-nginx + kube-prometheus-stack
#                       + Pushgateway + the Kubeflow Spark operator
#   make images         build every image (scripts/images.sh); load-images puts them in the cluster
#   make deploy         the Trendfolio chart (in-cluster PostgreSQL and Kafka) + Airflow
#   make cluster-down   delete the cluster
# Needs docker, kubectl, kind or minikube, and helm (.tools/bin/helm from `make tools`, or PATH).
# Secrets (Airflow metadata DB, Fernet and API keys, Grafana admin) are generated here once and
# kept in the cluster: there is no default password.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-kind}              # kind | minikube
NAME=trendfolio                       # kind cluster / minikube profile
NS=${NAMESPACE:-trendfolio}
TAG=${TAG:-0.1.0}
# Pinned third-party charts.
INGRESS_NGINX_CHART=4.13.3
KUBE_PROMETHEUS_STACK_CHART=79.5.0
PUSHGATEWAY_CHART=3.4.2
SPARK_OPERATOR_CHART=2.3.0
AIRFLOW_CHART=1.22.0

HELM=${HELM:-$PWD/.tools/bin/helm}
[ -x "$HELM" ] || HELM=$(command -v helm || true)
need() { command -v "$1" >/dev/null 2>&1 || { echo "cluster: $1 is not installed" >&2; exit 1; }; }
log() { echo "cluster: $*" >&2; }

# the images scripts/images.sh builds from docker/Dockerfile
IMAGES=(collector consumer api dashboard spark-jobs airflow)

random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "${1:-32}"; }

# Create a Secret once; an existing one (and so its password) is kept.
secret_once() {
  local ns=$1 name=$2; shift 2
  if kubectl -n "$ns" get secret "$name" >/dev/null 2>&1; then
    return
  fi
  kubectl -n "$ns" create secret generic "$name" "$@" >/dev/null
  log "generated Secret $ns/$name"
}

helm_repos() {
  "$HELM" repo add ingress-nginx https://kubernetes.github.io/ingress-nginx --force-update >/dev/null
  "$HELM" repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
  "$HELM" repo add spark-operator https://kubeflow.github.io/spark-operator --force-update >/dev/null
  "$HELM" repo add apache-airflow https://airflow.apache.org --force-update >/dev/null
  "$HELM" repo update >/dev/null
}

up() {
  need docker; need kubectl
  [ -n "$HELM" ] || { echo "cluster: helm not found: run make tools" >&2; exit 1; }
  case $CLUSTER in
    kind)
      need kind
      kind get clusters | grep -qx "$NAME" || kind create cluster --config k8s/kind-config.yaml
      kubectl config use-context "kind-$NAME" >/dev/null ;;
    minikube)
      need minikube
      grep -v '^#' k8s/minikube.flags | xargs minikube start ;;
    *) echo "cluster: CLUSTER must be kind or minikube" >&2; exit 2 ;;
  esac
  helm_repos
  kubectl create namespace monitoring --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  if [ "$CLUSTER" = kind ]; then
    "$HELM" upgrade --install ingress-nginx ingress-nginx/ingress-nginx --version "$INGRESS_NGINX_CHART" \
      --namespace ingress-nginx --create-namespace \
      --set controller.hostPort.enabled=true --set controller.service.type=NodePort \
      --set-string controller.nodeSelector.ingress-ready=true \
      --set controller.watchIngressWithoutClass=true --wait
  fi
  secret_once monitoring grafana-admin --from-literal=admin-user=admin \
    --from-literal=admin-password="$(random 24)"
  "$HELM" upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack \
    --version "$KUBE_PROMETHEUS_STACK_CHART" --namespace monitoring \
    -f k8s/kube-prometheus-stack-values.yaml --wait --timeout 10m
  "$HELM" upgrade --install prometheus-pushgateway prometheus-community/prometheus-pushgateway \
    --version "$PUSHGATEWAY_CHART" --namespace monitoring -f k8s/pushgateway-values.yaml --wait
  "$HELM" upgrade --install spark-operator spark-operator/spark-operator \
    --version "$SPARK_OPERATOR_CHART" --namespace spark-operator --create-namespace \
    -f k8s/spark-operator-values.yaml --set "spark.jobNamespaces={$NS}" --wait
  log "cluster $CLUSTER/$NAME is up; next: make images && make deploy"
}

images() {
  local name
  for name in "${IMAGES[@]}"; do
    log "loading trendfolio/$name:$TAG into $CLUSTER"
    case $CLUSTER in
      kind) kind load docker-image --name "$NAME" "trendfolio/$name:$TAG" ;;
      minikube) minikube -p "$NAME" image load "trendfolio/$name:$TAG" ;;
    esac
  done
}

deploy() {
  need kubectl
  [ -n "$HELM" ] || { echo "cluster: helm not found: run make tools" >&2; exit 1; }
  helm_repos
  kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  "$HELM" upgrade --install trendfolio charts/trendfolio --namespace "$NS" \
    -f k8s/trendfolio-dev-values.yaml --set image.tag="$TAG" --wait --timeout 10m
  # Airflow: generated once, kept on every later deploy.
  local pg
  if ! kubectl -n "$NS" get secret airflow-postgresql >/dev/null 2>&1; then
    pg=$(random 32)
    secret_once "$NS" airflow-postgresql --from-literal=postgres-password="$pg"
    secret_once "$NS" airflow-metadata --from-literal=connection="postgresql://postgres:$pg@airflow-postgresql.$NS:5432/postgres?sslmode=disable"
  fi
  secret_once "$NS" airflow-fernet-key --from-literal=fernet-key="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
  secret_once "$NS" airflow-api-secret-key --from-literal=api-secret-key="$(random 48)"
  "$HELM" upgrade --install airflow apache-airflow/airflow --version "$AIRFLOW_CHART" \
    --namespace "$NS" -f k8s/airflow-values.yaml --set images.airflow.tag="$TAG" \
    --wait --timeout 15m
  "$HELM" status trendfolio --namespace "$NS" --show-resources=false | sed -n '/NOTES/,$p'
}

down() {
  case $CLUSTER in
    kind) need kind; kind delete cluster --name "$NAME" ;;
    minikube) need minikube; minikube delete -p "$NAME" ;;
  esac
}

case "${1:-}" in
  up) up ;;
  load-images) images ;;
  deploy) deploy ;;
  down) down ;;
  *) echo "usage: k8s/cluster.sh up|load-images|deploy|down   (CLUSTER=kind|minikube)" >&2; exit 2 ;;
esac
