#!/usr/bin/env bash
# The container engine `make images` and tests/images use, on a Debian machine as root:
# rootful podman with the settings this kind of VM needs (cgroupfs, a file event log, runc —
# crun refuses hybrid cgroups — and ulimits within the VM's hard limits), overlay storage, and
# mmdebstrap to build the base image from Debian packages when no registry is reachable.
# Idempotent: installs only what is missing, writes a setting file only when absent. A machine
# with a working docker needs none of this.
set -euo pipefail

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  echo "container-engine: docker answers; nothing to do"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "container-engine: podman or docker is needed and installing podman needs root" >&2
  exit 1
fi
missing=()
for cmd in podman runc mmdebstrap; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
[ -d /usr/lib/cni ] || missing+=(containernetworking-plugins)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    podman runc containernetworking-plugins mmdebstrap
fi
mkdir -p /etc/containers
if ! [ -s /etc/containers/containers.conf ]; then
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
fi
if ! [ -s /etc/containers/storage.conf ]; then
  cat > /etc/containers/storage.conf <<'CONF'
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
CONF
fi
podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' \
  | sed 's/^/container-engine: podman ready: runtime, storage: /'
