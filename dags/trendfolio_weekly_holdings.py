"""Weekly refresh of every ETF's holdings (trending or not) and their top-holdings analytics.

Runs on each week's last NYSE session (Friday, or Thursday before a Friday holiday), after the
daily controller's time slot. Same runners as the daily controller.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable
from trendfolio_dags import gates, schedule
from trendfolio_dags.settings import runner
from trendfolio_dags.tasks import DAGS_FOLDER, DEFAULT_ARGS, stage_task

from trendfolio import stages

RUNNER = runner()

with DAG(
    dag_id="trendfolio_weekly_holdings",
    description="Every ETF's holdings, on the week's last NYSE session",
    schedule=CronTriggerTimetable(schedule.WEEKLY_CRON, timezone=schedule.TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 2, tz=schedule.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    template_searchpath=[str(DAGS_FOLDER)],
    tags=["trendfolio", "weekly", RUNNER],
    doc_md=__doc__,
) as dag:
    refresh = gates.last_session_of_week() >> stage_task(stages.ETF_HOLDINGS, RUNNER)
    refresh >> stage_task(stages.TOP_HOLDINGS, RUNNER)
