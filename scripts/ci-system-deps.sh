#!/usr/bin/env bash
# System packages the dev services need (scripts/devservices.py): Java 17+ to run the Kafka
# broker and Maven to fetch its jars; Prometheus, promtool and the Pushgateway for
# tests/monitoring. Idempotent; run as root on Debian 12. Installs only what is missing.
set -euo pipefail

# Debian's Chromium (with Korean and emoji fonts) for the dashboard's Playwright tests.
if ! [ -x /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji
fi

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  # `java -version` prints e.g.: openjdk version "17.0.15" 2025-04-15 (or "1.8.0_392")
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)[."].*/\1/p' | head -n1)
  [ -n "$v" ] && [ "$v" -ge 17 ]
}

mvn_ok() {
  command -v mvn >/dev/null 2>&1 && mvn -v >/dev/null 2>&1
}

prom_ok() {
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
    && command -v prometheus-pushgateway >/dev/null 2>&1
}

if java_ok && mvn_ok && prom_ok; then
  echo "ci-system-deps: java $(java -version 2>&1 | head -n1 | cut -d'"' -f2) and $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g') present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ci-system-deps: Java 17+ or Maven is missing and installing needs root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
pkgs=()
java_ok || pkgs+=(openjdk-17-jdk-headless)
mvn_ok || pkgs+=(maven)
prom_ok || pkgs+=(prometheus prometheus-pushgateway)
apt-get install -y -q --no-install-recommends --no-upgrade "${pkgs[@]}"

if ! java_ok; then
  # another, older java may come first on PATH: point at the one just installed
  echo "ci-system-deps: java on PATH is still older than 17 ($(command -v java || echo none));" \
    "use /usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)/bin/java (JAVA_HOME)" >&2
  exit 1
fi
mvn_ok || { echo "ci-system-deps: mvn still does not run after installing maven" >&2; exit 1; }
prom_ok || { echo "ci-system-deps: prometheus/promtool/pushgateway missing after install" >&2; exit 1; }
echo "ci-system-deps: installed ${pkgs[*]}"
