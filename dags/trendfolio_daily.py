"""Daily controller: the five stages for each NYSE session, then the monthly portfolio.

18:30 America/New_York on weekdays (after the close, DST-aware); a holiday skips at the gate;
each stage starts when the previous one succeeded (no sleeping); the logical date is the as-of
date. Runner: env TRENDFOLIO_AIRFLOW_RUNNER or Variable trendfolio_runner (kubernetes | local).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable
from trendfolio_dags import gates, schedule
from trendfolio_dags.settings import runner
from trendfolio_dags.tasks import DAGS_FOLDER, DEFAULT_ARGS, stage_task

from trendfolio import stages

DAILY_STAGES = (stages.BENCHMARK, stages.SECTOR, stages.TRENDING, stages.HOLDINGS,
                stages.ALLOCATION)
# ETF analytics (SPEC §4.7, §4.8) after the portfolio, one Spark job after the other (no two
# JVMs at once on a laptop).
ANALYTICS_STAGES = (stages.TOP_HOLDINGS, stages.MONTHLY_RETURNS)
RUNNER = runner()

with DAG(
    dag_id="trendfolio_daily",
    description="NYSE sessions: benchmark → sector → trending → holdings → allocation (→ monthly)",
    schedule=CronTriggerTimetable(schedule.DAILY_CRON, timezone=schedule.TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 2, tz=schedule.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    template_searchpath=[str(DAGS_FOLDER)],
    tags=["trendfolio", "daily", RUNNER],
    doc_md=__doc__,
) as dag:
    previous = gates.nyse_session()
    for stage in DAILY_STAGES:
        task = stage_task(stage, RUNNER)
        previous >> task
        previous = task
    allocation = previous
    allocation >> gates.last_session_of_month() >> stage_task(stages.MONTHLY, RUNNER)
    for stage in ANALYTICS_STAGES:
        task = stage_task(stage, RUNNER)
        previous >> task
        previous = task
