#!/usr/bin/env bash
# Create .venv-airflow: Apache Airflow 3 with the cncf.kubernetes provider and the trendfolio
# package (editable, no extras), so the DAGs in dags/ import `trendfolio`. Airflow is kept out of
# the main .venv: its dependency pins clash with the services'. The official constraints file is
# not reachable from here (only PyPI is): requirements/airflow.txt is the lock, with hashes.
# Usage: scripts/airflow-venv.sh [VENV_DIR]   (PYTHON=python3.11 by default)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
VENV=${1:-.venv-airflow}

"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "airflow-venv: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
# the versions in requirements/airflow.in, resolved with the package's own dependencies by
# `make lock`; then this checkout, editable, without dependencies
"$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
  -r requirements/build.txt -r requirements/airflow.txt
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c 'import airflow, trendfolio; print("airflow-venv: airflow", airflow.__version__)'
