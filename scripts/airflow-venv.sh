#!/usr/bin/env bash
# Create .venv-airflow: Apache Airflow 3 with the cncf.kubernetes provider and the trendfolio
# package (editable, no extras), so the DAGs in dags/ import `trendfolio`. Airflow is kept out of
# the main .venv: its dependency pins clash with the services'. The official constraints file is
# not reachable from here (only PyPI is), so the versions that matter are pinned below instead.
# Usage: scripts/airflow-venv.sh [VENV_DIR]   (PYTHON=python3.11 by default)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
VENV=${1:-.venv-airflow}

AIRFLOW_VERSION=3.3.2
CNCF_KUBERNETES_VERSION=10.25.0
STANDARD_PROVIDER_VERSION=1.21.0
KUBERNETES_VALIDATE_VERSION=1.37.0

"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "airflow-venv: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet \
  "apache-airflow==${AIRFLOW_VERSION}" \
  "apache-airflow-providers-cncf-kubernetes==${CNCF_KUBERNETES_VERSION}" \
  "apache-airflow-providers-standard==${STANDARD_PROVIDER_VERSION}" \
  "kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}" \
  -e .
"$VENV/bin/python" -c 'import airflow, trendfolio; print("airflow-venv: airflow", airflow.__version__)'
