"""The DAGs as Airflow loads them: import, order, gates, timezone, retries, both runners."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.airflow import RunProbe

pytestmark = pytest.mark.airflow

DAILY = ["benchmark", "sector", "trending", "holdings", "allocation"]
GATE_DATES = ["2026-08-20", "2026-08-21", "2026-08-22", "2026-07-03", "2026-07-02",
              "2026-07-31", "2026-11-26", "2026-05-29"]
NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def k8s(probe: RunProbe) -> dict[str, Any]:
    return probe("structure", *GATE_DATES, runner="kubernetes")


@pytest.fixture(scope="module")
def local(probe: RunProbe) -> dict[str, Any]:
    return probe("structure", *GATE_DATES, runner="local")


def _chain(tasks: dict[str, Any], first: str, through: list[str]) -> list[str]:
    """Follow ``first``'s downstream tasks, taking the child named in ``through`` at each step."""
    order, current = [first], first
    for name in through:
        assert tasks[name]["upstream"] == [current], (name, tasks[name]["upstream"])
        assert name in tasks[current]["downstream"]
        order.append(name)
        current = name
    return order


@pytest.mark.parametrize("runner", ["kubernetes", "local"])
def test_dagbag_imports_without_errors(runner: str, k8s: dict[str, Any], local: dict[str, Any]) -> None:
    doc = k8s if runner == "kubernetes" else local
    assert doc["import_errors"] == {}
    assert set(doc["dags"]) == {"trendfolio_daily", "trendfolio_weekly_holdings"}


def test_daily_order_is_a_chain_by_dependency(k8s: dict[str, Any]) -> None:
    tasks = k8s["dags"]["trendfolio_daily"]["tasks"]
    _chain(tasks, "is_nyse_session", DAILY)
    assert tasks["is_nyse_session"]["downstream"] == ["benchmark"]
    _chain(tasks, "allocation", ["is_last_session_of_month", "monthly"])
    # the ETF analytics follow the portfolio
    analytics = ["top-holdings", "monthly-returns"]
    _chain(tasks, "allocation", [s.replace("-", "_") for s in analytics])
    expected = {"is_nyse_session", "is_last_session_of_month", "monthly", *DAILY,
                *(s.replace("-", "_") for s in analytics)}
    assert set(tasks) == expected
    # no sleeping, no sensors: only the gates and the stages themselves
    assert {t["type"] for t in tasks.values()} == {
        "ShortCircuitOperator", "KubernetesPodOperator", "SparkKubernetesOperator",
    }


def test_every_stage_a_dag_runs_is_a_trendfolio_stage(k8s: dict[str, Any]) -> None:
    names = set()
    for dag in k8s["dags"].values():
        for t in dag["tasks"].values():
            if t["type"] == "KubernetesPodOperator":
                names.add(t["arguments"][1])
            elif t["type"] == "SparkKubernetesOperator":
                names.add(t["params"]["stage"])
    assert names, "no stage task in the DAGs"
    assert names <= set(k8s["known_stages"]), names - set(k8s["known_stages"])


def test_kubernetes_runner_operators_and_commands(k8s: dict[str, Any]) -> None:
    tasks = k8s["dags"]["trendfolio_daily"]["tasks"]
    kinds = {name: tasks[name]["type"] for name in [*DAILY, "monthly"]}
    assert kinds == {
        "benchmark": "KubernetesPodOperator", "sector": "KubernetesPodOperator",
        "trending": "SparkKubernetesOperator", "holdings": "KubernetesPodOperator",
        "allocation": "SparkKubernetesOperator", "monthly": "SparkKubernetesOperator",
    }
    for name in ("benchmark", "sector", "holdings"):
        assert tasks[name]["cmds"] == ["trendfolio"]
        assert tasks[name]["arguments"] == ["stage", name, "--date", "{{ ds }}"]
    for name in ("trending", "allocation", "monthly"):
        assert tasks[name]["params"]["stage"] == name
        assert '"--date", "{{ ds }}"' in tasks[name]["application_file"]
    weekly = k8s["dags"]["trendfolio_weekly_holdings"]["tasks"]
    assert weekly["etf_holdings"]["arguments"] == ["stage", "etf-holdings", "--date", "{{ ds }}"]


def test_local_runner_runs_the_same_commands_as_subprocesses(local: dict[str, Any]) -> None:
    tasks = local["dags"]["trendfolio_daily"]["tasks"]
    for name in [*DAILY, "monthly"]:
        assert tasks[name]["type"] == "BashOperator"
        assert tasks[name]["bash_command"].endswith(f"trendfolio stage {name} --date {{{{ ds }}}}")
    _chain(tasks, "is_nyse_session", DAILY)


def test_retries_with_backoff_on_every_stage(k8s: dict[str, Any]) -> None:
    for dag in k8s["dags"].values():
        for task_id, t in dag["tasks"].items():
            if t["type"] == "ShortCircuitOperator":
                assert t["retries"] == 0  # a calendar check has nothing to retry
                continue
            assert t["retries"] >= 2, task_id
            assert t["retry_exponential_backoff"], task_id
            assert t["execution_timeout_s"], task_id


def test_gates_skip_holidays_and_weekends(k8s: dict[str, Any]) -> None:
    gates = k8s["dags"]["trendfolio_daily"]["gates"]
    session = gates["is_nyse_session"]
    assert session["2026-08-20"] and session["2026-08-21"]
    assert not session["2026-08-22"]  # Saturday
    assert not session["2026-07-03"]  # Independence Day observed
    assert not session["2026-11-26"]  # Thanksgiving
    month_end = gates["is_last_session_of_month"]
    assert [d for d, ok in month_end.items() if ok] == ["2026-07-31", "2026-05-29"]
    tasks = k8s["dags"]["trendfolio_daily"]["tasks"]
    # the session gate skips everything after it; the month-end gate only the monthly stage
    assert tasks["is_nyse_session"]["ignore_downstream_trigger_rules"] is True
    assert tasks["is_last_session_of_month"]["downstream"] == ["monthly"]


def test_weekly_holdings_refresh_on_the_weeks_last_session(k8s: dict[str, Any]) -> None:
    weekly = k8s["dags"]["trendfolio_weekly_holdings"]
    gate = weekly["gates"]["is_last_session_of_week"]
    assert [d for d, ok in gate.items() if ok] == ["2026-08-21", "2026-07-02", "2026-07-31",
                                                    "2026-05-29"]
    _chain(weekly["tasks"], "is_last_session_of_week", ["etf_holdings"])


@pytest.mark.parametrize("dag_id", ["trendfolio_daily", "trendfolio_weekly_holdings"])
def test_schedule_is_new_york_time_after_the_close_in_both_dst_seasons(
    dag_id: str, k8s: dict[str, Any]
) -> None:
    dag = k8s["dags"][dag_id]
    assert dag["timezone"] == "America/New_York"
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    for season in ("triggers_winter", "triggers_summer"):
        assert len(dag[season]) == 5
        for iso in dag[season]:
            utc = datetime.fromisoformat(iso)
            ny = utc.astimezone(NY)
            assert ny.weekday() < 5
            assert (ny.hour, ny.minute) >= (18, 0), iso  # after the 16:00 close (+ data lag)
            # `ds` (the UTC date) must be the New York session date the run is for
            assert utc.date() == ny.date(), iso
    offsets = {datetime.fromisoformat(i).utcoffset() for i in dag["triggers_winter"]}
    assert offsets == {datetime.fromisoformat(dag["triggers_summer"][0]).utcoffset()}
    winter_utc = {datetime.fromisoformat(i).hour for i in dag["triggers_winter"]}
    summer_utc = {datetime.fromisoformat(i).hour for i in dag["triggers_summer"]}
    assert winter_utc != summer_utc  # DST-aware: the UTC hour moves, New York time does not


def test_an_unknown_runner_fails_the_import_naming_the_setting(probe: RunProbe) -> None:
    doc = probe("structure", runner="docker")
    assert doc["dags"] == {}
    assert len(doc["import_errors"]) == 2
    for err in doc["import_errors"].values():
        assert "TRENDFOLIO_AIRFLOW_RUNNER (or Variable trendfolio_runner) is 'docker'" in err
