#!/usr/bin/env bash
# `make base-image` and `make images`: every Trendfolio image from docker/Dockerfile, with docker
# when its engine answers, else podman.
#
#   scripts/images.sh base                 the Python base from Debian packages (cached)
#   scripts/images.sh build [NAME ...]     the images (all by default), then their sizes
#   scripts/images.sh sizes                the sizes of the built images
# NAME: collector consumer api dashboard spark-jobs airflow (docker/Dockerfile), and the
# stand-ins of the development values' third-party images: postgres kafka prometheus
# pushgateway (docker/third-party/Dockerfile).
#
# BASE=image        build on that base instead (e.g. docker.io/library/python:3.11.14-slim-bookworm
#                   where a registry is reachable); default: the local base, built when missing.
# ENGINE=docker|podman, TAG=0.1.0 (default: the chart's appVersion),
# TRENDFOLIO_IMAGE_CACHE=DIR (the base's root filesystem; default ~/.cache/trendfolio/images).
set -euo pipefail
cd "$(dirname "$0")/.."

NAMES=(collector consumer api dashboard spark-jobs airflow)
THIRD_PARTY=(postgres kafka prometheus pushgateway)
LOCAL_BASE=localhost/trendfolio-base:bookworm
TAG=${TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/trendfolio/Chart.yaml)}
CACHE=${TRENDFOLIO_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trendfolio/images}
# What the base holds; a change here (or of the host's extra CA certificates) makes a new one.
BASE_PACKAGES=python3,python3-venv,ca-certificates,passwd
SUITE=bookworm

log() { echo "images: $*" >&2; }
die() { echo "images: $*" >&2; exit 1; }

engine() {
  if [ -n "${ENGINE:-}" ]; then
    command -v "$ENGINE" >/dev/null || die "ENGINE=$ENGINE is not installed"
    echo "$ENGINE"
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo docker
  elif command -v podman >/dev/null; then
    echo podman
  else
    die "neither docker nor podman is installed: install one (Debian: apt-get install podman runc containernetworking-plugins)"
  fi
}

# The host's own extra CA certificates (a proxy's, a company's): pip inside a build trusts them
# only if the base does. Empty on most machines.
extra_cas() { find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | sort; }

base_key() {
  { echo "$SUITE $BASE_PACKAGES"; for f in $(extra_cas); do sha256sum "$f"; done; } \
    | sha256sum | cut -c1-16
}

base() {
  local eng key tar
  eng=$(engine)
  key=$(base_key)
  if [ "$("$eng" image inspect --format '{{ index .Labels "trendfolio.base" }}' "$LOCAL_BASE" \
        2>/dev/null || true)" = "$key" ]; then
    log "base $LOCAL_BASE ($key) present"
    return
  fi
  tar=$CACHE/base-$SUITE-$key.tar
  if ! [ -s "$tar" ]; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap is needed to build the base from Debian packages (apt-get install mmdebstrap), or set BASE=<an image with python3.11>"
    [ "$(id -u)" -eq 0 ] || die "building the base with mmdebstrap needs root (or set BASE=...)"
    mkdir -p "$CACHE"
    log "building the base from Debian $SUITE packages ($BASE_PACKAGES): a few minutes once"
    local hooks=()
    if [ -n "$(extra_cas)" ]; then
      hooks+=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
      for f in $(extra_cas); do
        hooks+=(--customize-hook="copy-in $f /usr/local/share/ca-certificates")
      done
      hooks+=(--customize-hook='chroot "$1" update-ca-certificates')
    fi
    mmdebstrap --quiet --format=tar --variant=minbase --include="$BASE_PACKAGES" "${hooks[@]}" \
      "$SUITE" "$tar.part"
    mv "$tar.part" "$tar"
  fi
  "$eng" import --change "LABEL trendfolio.base=$key" --change 'CMD ["/bin/bash"]' \
    "$tar" "$LOCAL_BASE" >/dev/null
  log "base $LOCAL_BASE ($key) imported from $tar"
}

# The third-party images' context: docker/third-party plus Apache Kafka's jars from Maven
# Central (fetched once into .tools/kafka by scripts/devservices.py, as the dev broker's are).
third_party_context() {
  local ctx=$CACHE/third-party-context libs
  libs=$(.venv/bin/python -c 'import importlib.util as u, sys
spec = u.spec_from_file_location("devservices", "scripts/devservices.py")
ds = u.module_from_spec(spec); sys.modules["devservices"] = ds; spec.loader.exec_module(ds)
print(ds.ensure_kafka_jars())')
  rm -rf "$ctx"
  mkdir -p "$ctx/kafka"
  cp -r docker/third-party/. "$ctx/"
  cp -r "$libs" "$ctx/kafka/libs"
  echo "$ctx"
}

third_party_tag() {
  case $1 in
    postgres) echo "trendfolio/postgres:15-bookworm" ;;
    kafka) echo "trendfolio/kafka:$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)" ;;
    prometheus) echo "trendfolio/prometheus:bookworm" ;;
    pushgateway) echo "trendfolio/pushgateway:bookworm" ;;
  esac
}

requirements_of() {
  case $1 in
    collector|consumer|api|dashboard|spark-jobs|airflow) echo "$1" ;;
    *) die "unknown image $1: one of ${NAMES[*]} ${THIRD_PARTY[*]}" ;;
  esac
}

build() {
  local eng base_image names=("$@") name started
  eng=$(engine)
  [ ${#names[@]} -gt 0 ] || names=("${NAMES[@]}" "${THIRD_PARTY[@]}")
  if [ -n "${BASE:-}" ]; then
    base_image=$BASE
  else
    base
    base_image=$LOCAL_BASE
  fi
  local ctx=""
  for name in "${names[@]}"; do
    if [[ " ${THIRD_PARTY[*]} " == *" $name "* ]]; then
      [ -n "$ctx" ] || ctx=$(third_party_context)
      started=$(date +%s)
      log "building $(third_party_tag "$name") on $base_image"
      "$eng" build --network host --file "$ctx/Dockerfile" --target "$name" \
        --build-arg "BASE=$base_image" --tag "$(third_party_tag "$name")" "$ctx" >&2
      log "$(third_party_tag "$name") built in $(( $(date +%s) - started )) s"
      continue
    fi
    local args=(--build-arg "BASE=$base_image" --build-arg "REQUIREMENTS=$(requirements_of "$name")")
    # the official Airflow chart runs its pods as UID 50000
    [ "$name" = airflow ] && args+=(--build-arg UID=50000)
    started=$(date +%s)
    log "building trendfolio/$name:$TAG on $base_image"
    # host networking for pip and apt only while building; the images run without it
    "$eng" build --network host --file docker/Dockerfile --target "$name" "${args[@]}" \
      --tag "trendfolio/$name:$TAG" . >&2
    log "trendfolio/$name:$TAG built in $(( $(date +%s) - started )) s"
  done
  sizes "${names[@]}"
}

tag_of() {
  if [[ " ${THIRD_PARTY[*]} " == *" $1 "* ]]; then third_party_tag "$1"; else echo "trendfolio/$1:$TAG"; fi
}

sizes() {
  local eng name names=("$@") size
  eng=$(engine)
  [ ${#names[@]} -gt 0 ] || names=("${NAMES[@]}" "${THIRD_PARTY[@]}")
  for name in "${names[@]}"; do
    size=$("$eng" image inspect --format '{{.Size}}' "$(tag_of "$name")" 2>/dev/null || true)
    printf '%-12s %-34s %s\n' "$name" "$(tag_of "$name")" \
      "$([ -n "$size" ] && awk -v s="$size" 'BEGIN { printf "%.0f MB", s / 1e6 }' || echo "not built")"
  done
}

case ${1:-build} in
  base) base ;;
  build) shift || true; build "$@" ;;
  sizes) shift; sizes "$@" ;;
  *) echo "usage: scripts/images.sh base|build [NAME ...]|sizes" >&2; exit 2 ;;
esac
