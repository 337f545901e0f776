"""Short-circuit tasks that skip a run when the as-of date does not qualify."""

from __future__ import annotations

from typing import Any

from trendfolio_dags import schedule


def _short_circuit(task_id: str, rule: Any, doc: str, *, skip_all_downstream: bool) -> Any:
    from airflow.providers.standard.operators.python import ShortCircuitOperator

    def check(ds: str) -> bool:
        return bool(rule(ds))

    return ShortCircuitOperator(
        task_id=task_id,
        python_callable=check,
        op_kwargs={"ds": "{{ ds }}"},
        # False: only the direct downstream is skipped, later joins keep their trigger rules.
        ignore_downstream_trigger_rules=skip_all_downstream,
        doc_md=doc,
        retries=0,
    )


def nyse_session() -> Any:
    return _short_circuit(
        "is_nyse_session",
        schedule.is_session,
        "Skips the whole run unless the as-of date is a NYSE session (holidays included).",
        skip_all_downstream=True,
    )


def last_session_of_month() -> Any:
    return _short_circuit(
        "is_last_session_of_month",
        schedule.is_last_session_of_month,
        "Lets the monthly portfolio run only on the month's last NYSE session.",
        skip_all_downstream=True,
    )


def last_session_of_week() -> Any:
    return _short_circuit(
        "is_last_session_of_week",
        schedule.is_last_session_of_week,
        "Lets the weekly holdings refresh run only on the week's last NYSE session.",
        skip_all_downstream=True,
    )
