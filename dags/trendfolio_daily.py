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
from trendfolio_dags.tasks import DAGS_FOLDER, DEFAULT_ARGS, known_stages, stage_task

DAILY_STAGES = ("benchmark", "sector", "trending", "holdings", "allocation")
ANALYTICS_STAGES = ("top-holdings", "monthly-returns")
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
    for name in DAILY_STAGES:
        task = stage_task(name, RUNNER)
        previous >> task
        previous = task
    allocation = previous
    allocation >> gates.last_session_of_month() >> stage_task("monthly", RUNNER)
    # ETF analytics (SPEC §4.7, §4.8), when the installed trendfolio has them: after the
    # portfolio, one Spark job after the other (no two JVMs at once on a laptop).
    for name in ANALYTICS_STAGES:
        if name in known_stages():
            task = stage_task(name, RUNNER)
            previous >> task
            previous = task
