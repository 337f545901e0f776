"""One function builds a stage task for either runner; the DAG files only chain them.

Every task runs ``trendfolio stage NAME --date {{ ds }}``: the logical date is the as-of date,
so a backfill (``airflow dags backfill``) re-runs past sessions exactly.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from trendfolio.stages import StageInfo
from trendfolio_dags.settings import KubernetesSettings, Runner, local_command

DAGS_FOLDER = Path(__file__).resolve().parents[1]
SPARK_TEMPLATE = "spark/sparkapplication.yaml"  # relative to the DAGs folder (template path)
AS_OF = "{{ ds }}"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "trendfolio",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=1),
}

LABELS = {"app.kubernetes.io/name": "trendfolio", "app.kubernetes.io/component": "stage"}


def dag(dag_id: str, description: str, cron: str, tag: str, runner: Runner, doc: str | None) -> Any:
    """A Trendfolio DAG: on ``cron`` in New York time from 2026-01-02, no catch-up, one run at a
    time, the stage retries of ``DEFAULT_ARGS``, templates from the DAGs folder."""
    import pendulum
    from airflow.sdk import DAG
    from airflow.timetables.trigger import CronTriggerTimetable

    from trendfolio_dags import schedule

    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=CronTriggerTimetable(cron, timezone=schedule.TIMEZONE),
        start_date=pendulum.datetime(2026, 1, 2, tz=schedule.TIMEZONE),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        template_searchpath=[str(DAGS_FOLDER)],
        tags=["trendfolio", tag, runner],
        doc_md=doc,
    )


def stage_command(name: str) -> list[str]:
    """The stage's command line after the executable (what a pod and a subprocess run)."""
    return ["stage", name, "--date", AS_OF]


def stage_task(stage: StageInfo, runner: Runner) -> Any:
    """The operator that runs ``stage`` for the run's as-of date with ``runner``: a pod for a
    collector, a SparkApplication for a Spark stage, or a subprocess either way (local)."""
    name, task_id = stage.name, stage.name.replace("-", "_")
    if runner == "local":
        return _local_task(name, task_id)
    k8s = KubernetesSettings.from_env()
    if stage.kind == "spark":
        return _spark_task(name, task_id, k8s)
    return _pod_task(name, task_id, k8s)


def _local_task(name: str, task_id: str) -> Any:
    import shlex

    from airflow.providers.standard.operators.bash import BashOperator

    command = " ".join(shlex.quote(p) for p in [local_command(), *stage_command(name)[:-1]])
    return BashOperator(
        task_id=task_id,
        bash_command=f"{command} {AS_OF}",
        append_env=True,  # TRENDFOLIO_* of the worker: database URL, source, home...
    )


def _security() -> tuple[Any, Any]:
    from kubernetes.client import models as k8s

    pod = k8s.V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=10001,
        run_as_group=10001,
        fs_group=10001,
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )
    container = k8s.V1SecurityContext(
        run_as_non_root=True,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )
    return pod, container


def _pod_task(name: str, task_id: str, cfg: KubernetesSettings) -> Any:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

    pod_security, container_security = _security()
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"trendfolio-{name}",
        namespace=cfg.namespace,
        image=cfg.image,
        image_pull_policy=cfg.image_pull_policy,
        cmds=["trendfolio"],
        arguments=stage_command(name),
        labels={**LABELS, "trendfolio.io/stage": name},
        env_from=[
            k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=cfg.config_map)),
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=cfg.secret)),
        ],
        env_vars=[k8s.V1EnvVar(name="TRENDFOLIO_HOME", value="/tmp/trendfolio")],
        volumes=[
            k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="512Mi"))
        ],
        volume_mounts=[k8s.V1VolumeMount(name="tmp", mount_path="/tmp")],
        security_context=pod_security,
        container_security_context=container_security,
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "100m", "memory": "256Mi"},
            limits={"cpu": "1", "memory": "1Gi"},
        ),
        service_account_name=cfg.service_account,
        automount_service_account_token=False,
        in_cluster=cfg.in_cluster,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
        startup_timeout_seconds=600,
    )


def _spark_task(name: str, task_id: str, cfg: KubernetesSettings) -> Any:
    from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import (
        SparkKubernetesOperator,
    )

    return SparkKubernetesOperator(
        task_id=task_id,
        namespace=cfg.namespace,
        application_file=SPARK_TEMPLATE,
        params={
            "stage": name,
            "namespace": cfg.namespace,
            "image": cfg.spark_image,
            "image_pull_policy": cfg.image_pull_policy,
            "main": cfg.spark_main,
            "spark_version": cfg.spark_version,
            "service_account": cfg.spark_service_account,
            "config_map": cfg.config_map,
            "secret": cfg.secret,
        },
        in_cluster=cfg.in_cluster,
        get_logs=True,
        delete_on_termination=True,
    )
