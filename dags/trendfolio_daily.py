"""Daily controller: the five stages for each NYSE session, then the monthly portfolio.

18:30 America/New_York on weekdays (after the close, DST-aware); a holiday skips at the gate;
each stage starts when the previous one succeeded (no sleeping); the logical date is the as-of
date. Runner: env TRENDFOLIO_AIRFLOW_RUNNER or Variable trendfolio_runner (kubernetes | local).
"""

from __future__ import annotations

from trendfolio import stages
from trendfolio_dags import gates, schedule
from trendfolio_dags.settings import runner
from trendfolio_dags.tasks import dag, stage_task

DAILY_STAGES = (stages.BENCHMARK, stages.SECTOR, stages.TRENDING, stages.HOLDINGS,
                stages.ALLOCATION)
# ETF analytics (SPEC §4.7, §4.8) after the portfolio, one Spark job after the other (no two
# JVMs at once on a laptop).
ANALYTICS_STAGES = (stages.TOP_HOLDINGS, stages.MONTHLY_RETURNS)
RUNNER = runner()

with dag("trendfolio_daily",
         "NYSE sessions: benchmark → sector → trending → holdings → allocation (→ monthly)",
         schedule.DAILY_CRON, "daily", RUNNER, __doc__):
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
