"""When stages run: NYSE sessions in America/New_York, from ``trendfolio.calendar`` alone.

Pure functions of a date, so the rules are tested without Airflow; the DAGs call them from
short-circuit tasks with the run's as-of date (the logical date in New York).
"""

from __future__ import annotations

from datetime import date, timedelta

from trendfolio import calendar

TIMEZONE = "America/New_York"
# 18:30 New York, Monday to Friday: 2.5 h after the regular close (16:00) whatever the DST
# offset. Every trigger must stay before 19:00 New York (= midnight UTC in winter): a run's
# `ds` is its logical date in UTC, and it must be the New York session date it is for.
DAILY_CRON = "30 18 * * 1-5"
# The weekly holdings refresh: a quarter of an hour later, still the same UTC date.
WEEKLY_CRON = "45 18 * * 1-5"


def as_of(ds: str) -> date:
    return date.fromisoformat(ds)


def is_session(ds: str) -> bool:
    """The daily controller's gate: run only on NYSE sessions (weekends and holidays skip)."""
    return calendar.is_session(as_of(ds))


def is_last_session_of_month(ds: str) -> bool:
    """The monthly portfolio's gate (SPEC §4.6), checked on the day itself, not a week late."""
    return calendar.is_last_session_of_month(as_of(ds))


def is_last_session_of_week(ds: str) -> bool:
    """The weekly refresh's gate: a session whose next session falls in a later ISO week.

    So it runs on Friday, or on Thursday when Friday is a holiday (Good Friday, July 4th...).
    """
    d = as_of(ds)
    if not calendar.is_session(d):
        return False
    nxt = calendar.session_offset(d, 1)
    monday = d - timedelta(days=d.weekday())
    return nxt >= monday + timedelta(days=7)
