#!/usr/bin/env bash
# `make lock`: resolve every dependency once (uv.lock, from pyproject.toml) and export, with
# hashes, the requirements of each install: the laptop (`make install`), the developer (`make
# dev`, CI), each image, the build backend and the Airflow virtualenv (its own resolution: its
# pins clash with the services'). Images, CI and `make install` install only from these files.
# No tool downloads an interpreter: uv uses the Python 3.11 given (PYTHON=python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
PYTHON=${PYTHON:-$(command -v python3.11)}
export UV_PYTHON_DOWNLOADS=never UV_PYTHON="$PYTHON" UV_NO_PROGRESS=1
CHECK=${1:-}  # --check: fail if anything is out of date instead of writing it

# requirements/<name>.txt ← these extras of the project
declare -A SETS=(
  [laptop]="full"
  [dev]="dev"
  [collector]="yahoo kafka"
  [consumer]="kafka"
  [api]="api"
  [dashboard]="dashboard"
  [spark-jobs]="spark"
)

if [ "$CHECK" = --check ]; then
  "$UV" lock --locked --quiet || { echo "lock: uv.lock is out of date: run make lock" >&2; exit 1; }
fi
"$UV" lock --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for name in "${!SETS[@]}"; do
  extras=()
  for e in ${SETS[$name]}; do extras+=(--extra "$e"); done
  "$UV" export --frozen --quiet --no-header --no-emit-project --format requirements-txt "${extras[@]}" \
    --output-file "$out/$name.txt" >/dev/null
done
for name in build airflow; do
  inputs=("requirements/$name.in")
  [ "$name" = airflow ] && inputs+=(pyproject.toml)  # the package's own dependencies, no extras
  "$UV" pip compile --quiet --generate-hashes --python-version 3.11 --no-header \
    --custom-compile-command "make lock" "${inputs[@]}" --output-file "$out/$name.txt"
done
stale=0
for f in "$out"/*.txt; do
  target=requirements/$(basename "$f")
  if ! cmp -s "$f" "$target"; then
    if [ "$CHECK" = --check ]; then
      echo "lock: $target is out of date: run make lock" >&2
      stale=1
    else
      cp "$f" "$target"
      echo "lock: wrote $target"
    fi
  fi
done
exit $stale
