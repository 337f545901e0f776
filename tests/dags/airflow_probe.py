"""Runs inside .venv-airflow (the main .venv has no Airflow); prints one JSON document.

    python airflow_probe.py structure            DagBag errors, DAGs, tasks, gates, schedules
    python airflow_probe.py render DATE          every pod / SparkApplication rendered for DATE

Called by tests/dags/test_*.py with AIRFLOW_HOME in a temp folder and the dags folder on
PYTHONPATH, as Airflow's dags-folder bundle puts it there.
"""

from __future__ import annotations

import json
import sys
import types
from datetime import datetime
from pathlib import Path
from typing import Any

DAGS = Path(__file__).resolve().parents[2] / "dags"


def _dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def _task(t: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": type(t).__name__,
        "upstream": sorted(t.upstream_task_ids),
        "downstream": sorted(t.downstream_task_ids),
        "retries": t.retries,
        "retry_delay_s": t.retry_delay.total_seconds(),
        "retry_exponential_backoff": bool(t.retry_exponential_backoff),
        "execution_timeout_s": t.execution_timeout.total_seconds() if t.execution_timeout else None,
        "trigger_rule": str(t.trigger_rule),
    }
    if out["type"] == "BashOperator":
        out["bash_command"] = t.bash_command
    if out["type"] == "KubernetesPodOperator":
        out["cmds"], out["arguments"] = list(t.cmds), list(t.arguments)
    if out["type"] == "SparkKubernetesOperator":
        out["application_file"] = t.application_file
        out["params"] = {k: t.params[k] for k in t.params}
    if out["type"] == "ShortCircuitOperator":
        out["ignore_downstream_trigger_rules"] = t.ignore_downstream_trigger_rules
    return out


def _trigger_times(dag: Any, start: datetime, count: int) -> list[str]:
    """The next ``count`` scheduled run times (UTC ISO) after ``start``, from the timetable."""
    from airflow.timetables.base import DataInterval, TimeRestriction

    tt = dag.timetable
    restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
    last: DataInterval | None = None
    out = []
    for _ in range(count):
        info = tt.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            break
        out.append(info.run_after.in_timezone("UTC").isoformat())
        last = info.data_interval
    return out


def structure(gate_dates: list[str]) -> dict[str, Any]:
    import pendulum

    bag = _dagbag()
    dags: dict[str, Any] = {}
    for dag_id, dag in bag.dags.items():
        tasks = {t.task_id: _task(t) for t in dag.tasks}
        gates = {
            t.task_id: {d: bool(t.python_callable(ds=d)) for d in gate_dates}
            for t in dag.tasks
            if type(t).__name__ == "ShortCircuitOperator"
        }
        winter = pendulum.datetime(2026, 1, 5, tz="UTC")
        summer = pendulum.datetime(2026, 7, 6, tz="UTC")
        dags[dag_id] = {
            "timezone": str(dag.timezone),
            "timetable": type(dag.timetable).__name__,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tasks": tasks,
            "gates": gates,
            "triggers_winter": _trigger_times(dag, winter, 5),
            "triggers_summer": _trigger_times(dag, summer, 5),
        }
    from trendfolio.stages import ALL

    return {
        "import_errors": {str(k): v for k, v in bag.import_errors.items()},
        "dags": dags,
        "known_stages": [s.name for s in ALL],
    }


def _context(dag: Any, task: Any, ds: str) -> dict[str, Any]:
    """What rendering and pod building read from a run's context (a dry run, no database)."""
    import pendulum

    logical = pendulum.parse(ds + "T22:30:00+00:00")
    ti = types.SimpleNamespace(
        dag_id=dag.dag_id, task_id=task.task_id, map_index=-1, try_number=1, run_id="dry"
    )
    return {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "run_id": f"scheduled__{logical.isoformat()}",
        "ds": ds,
        "ds_nodash": ds.replace("-", ""),
        "logical_date": logical,
        "params": task.params,
        "macros": types.SimpleNamespace(),
        "var": {},
    }


def render(ds: str) -> dict[str, Any]:
    from airflow.providers.cncf.kubernetes.operators.custom_object_launcher import (
        CustomObjectLauncher,
    )
    from kubernetes.client import ApiClient

    api = ApiClient()
    bag = _dagbag()
    pods: dict[str, Any] = {}
    spark: dict[str, Any] = {}
    for dag_id, dag in bag.dags.items():
        for task in dag.tasks:
            kind = type(task).__name__
            if kind not in ("KubernetesPodOperator", "SparkKubernetesOperator"):
                continue
            ctx = _context(dag, task, ds)
            task.render_template_fields(ctx, jinja_env=dag.get_template_env())
            key = f"{dag_id}.{task.task_id}"
            if kind == "KubernetesPodOperator":
                pod = task.build_pod_request_obj(ctx, dry_run=True)
                pods[key] = api.sanitize_for_serialization(pod)
            else:
                launcher = CustomObjectLauncher(
                    name=task.create_job_name(),
                    namespace=task.namespace,
                    kube_client=None,
                    custom_obj_api=None,
                    template_body=task.template_body,
                )
                spark[key] = {"template": task.template_body["spark"], "body": launcher.body}
    return {"pods": pods, "spark_applications": spark}


def main(argv: list[str]) -> int:
    if argv[0] == "structure":
        doc = structure(argv[1:])
    elif argv[0] == "render":
        doc = render(argv[1])
    else:
        print(f"unknown probe {argv[0]!r}", file=sys.stderr)  # noqa: T201
        return 2
    print("PROBE-JSON " + json.dumps(doc, default=str))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

