"""The DAGs' date rules (dags/trendfolio_dags/schedule.py) on the real NYSE calendar."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import pytest

from tests.support.paths import DAGS

sys.path.insert(0, str(DAGS))

from trendfolio import calendar
from trendfolio_dags import schedule


@pytest.mark.parametrize(
    ("ds", "expected"),
    [
        ("2026-08-20", True),  # a Thursday session
        ("2026-08-22", False),  # Saturday
        ("2026-08-23", False),  # Sunday
        ("2026-07-03", False),  # Independence Day observed (Friday)
        ("2026-11-26", False),  # Thanksgiving
        ("2026-04-03", False),  # Good Friday
        ("2026-11-27", True),  # the early close after Thanksgiving is still a session
    ],
)
def test_session_gate(ds: str, expected: bool) -> None:
    assert schedule.is_session(ds) is expected


def test_month_end_gate_is_the_months_last_session() -> None:
    # July 2026 ends on a Friday; May 2026 ends on a Sunday (last session Friday the 29th).
    assert schedule.is_last_session_of_month("2026-07-31")
    assert schedule.is_last_session_of_month("2026-05-29")
    assert not schedule.is_last_session_of_month("2026-05-28")
    assert not schedule.is_last_session_of_month("2026-05-31")  # a Sunday, not a session
    # Exactly one day per month passes, and it is a session.
    start = date(2026, 1, 1)
    passing = [
        start + timedelta(days=i)
        for i in range(365)
        if schedule.is_last_session_of_month((start + timedelta(days=i)).isoformat())
    ]
    assert [d.month for d in passing] == list(range(1, 13))
    assert all(calendar.is_session(d) for d in passing)


def test_week_end_gate_moves_before_a_friday_holiday() -> None:
    assert schedule.is_last_session_of_week("2026-08-21")  # an ordinary Friday
    assert not schedule.is_last_session_of_week("2026-08-20")
    assert schedule.is_last_session_of_week("2026-07-02")  # Friday July 3rd is a holiday
    assert schedule.is_last_session_of_week("2026-04-02")  # Good Friday
    assert not schedule.is_last_session_of_week("2026-07-03")
    # One run per week that has any session.
    start = date(2026, 1, 5)  # a Monday
    for week in range(52):
        monday = start + timedelta(weeks=week)
        days = [monday + timedelta(days=i) for i in range(7)]
        hits = [d for d in days if schedule.is_last_session_of_week(d.isoformat())]
        has_session = any(calendar.is_session(d) for d in days)
        assert len(hits) == (1 if has_session else 0), (monday, hits)
