"""Weekly refresh of every ETF's holdings (trending or not) and their top-holdings analytics.

Runs on each week's last NYSE session (Friday, or Thursday before a Friday holiday), after the
daily controller's time slot. Same Airflow runners as the daily controller.
"""

from __future__ import annotations

from trendfolio import stages
from trendfolio_dags import gates, schedule
from trendfolio_dags.settings import runner
from trendfolio_dags.tasks import dag, stage_task

RUNNER = runner()

with dag("trendfolio_weekly_holdings", "Every ETF's holdings, on the week's last NYSE session",
         schedule.WEEKLY_CRON, "weekly", RUNNER, __doc__):
    refresh = gates.last_session_of_week() >> stage_task(stages.ETF_HOLDINGS, RUNNER)
    refresh >> stage_task(stages.TOP_HOLDINGS, RUNNER)
