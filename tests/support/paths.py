"""Where things are, for every test and benchmark: the checkout, its tools and virtualenvs,
and the real market data beside it (only in the development checkout)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
TRENDFOLIO = VENV_BIN / "trendfolio"  # the installed command, as a user runs it
AIRFLOW_VENV = REPO / ".venv-airflow"
TOOLS = REPO / ".tools"
CHART = REPO / "charts" / "trendfolio"
DAGS = REPO / "dags"
MARKET_2026 = REPO.parent / "shared" / "data" / "market-2026"
