from datetime import UTC, date, datetime

import pytest

from trendfolio import calendar
from trendfolio.errors import UsageError


def test_holidays_and_weekends_are_not_sessions() -> None:
    assert not calendar.is_session(date(2026, 4, 3))  # Good Friday
    assert not calendar.is_session(date(2026, 7, 3))  # Independence Day observed
    assert not calendar.is_session(date(2026, 8, 22))  # Saturday
    assert calendar.is_session(date(2026, 8, 20))


def test_sessions_between_skips_holidays() -> None:
    days = calendar.sessions_between(date(2026, 4, 1), date(2026, 4, 7))
    assert days == [date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 6), date(2026, 4, 7)]


def test_session_offset_counts_sessions_not_weekdays() -> None:
    assert calendar.session_offset(date(2026, 4, 6), -1) == date(2026, 4, 2)
    assert calendar.session_offset(date(2026, 4, 2), 1) == date(2026, 4, 6)
    with pytest.raises(UsageError, match="not a NYSE session"):
        calendar.session_offset(date(2026, 4, 3), 1)


def test_require_session_names_the_previous_session() -> None:
    with pytest.raises(UsageError, match="2026-08-21"):
        calendar.require_session(date(2026, 8, 22))


def test_latest_completed_session_waits_for_the_close() -> None:
    before_close = datetime(2026, 8, 20, 19, 0, tzinfo=UTC)  # 15:00 New York
    after_close = datetime(2026, 8, 20, 20, 30, tzinfo=UTC)  # 16:30 New York
    assert calendar.latest_completed_session(before_close) == date(2026, 8, 19)
    assert calendar.latest_completed_session(after_close) == date(2026, 8, 20)
    saturday = datetime(2026, 8, 22, 12, 0, tzinfo=UTC)
    assert calendar.latest_completed_session(saturday) == date(2026, 8, 21)


def test_last_session_of_month() -> None:
    assert calendar.last_session_of_month(date(2026, 7, 10)) == date(2026, 7, 31)
    assert calendar.last_session_of_month(date(2026, 5, 3)) == date(2026, 5, 29)
    assert calendar.is_last_session_of_month(date(2026, 5, 29))
    assert not calendar.is_last_session_of_month(date(2026, 5, 28))
