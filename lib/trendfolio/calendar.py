"""NYSE sessions from a real exchange calendar (holidays and early closes included)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import pandas as pd

from trendfolio.errors import UsageError

_FIRST = "2000-01-03"


@lru_cache(maxsize=1)
def _xnys() -> Any:
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start=_FIRST)


@lru_cache(maxsize=1)
def _all_sessions() -> tuple[date, ...]:
    return tuple(ts.date() for ts in _xnys().sessions)


def _index(d: date) -> int:
    import bisect

    return bisect.bisect_left(_all_sessions(), d)


def is_session(d: date) -> bool:
    sessions = _all_sessions()
    i = _index(d)
    return i < len(sessions) and sessions[i] == d


def require_session(d: date) -> date:
    """Return ``d`` when it is a NYSE session, else raise a usage error naming the neighbours."""
    if not is_session(d):
        before = previous_session(d) if d > _all_sessions()[0] else None
        raise UsageError(
            f"{d.isoformat()} is not a NYSE session"
            + (f" (the session before it is {before.isoformat()})" if before else "")
        )
    return d


def sessions_between(start: date, end: date) -> list[date]:
    """Every session in ``[start, end]``."""
    sessions = _all_sessions()
    return list(sessions[_index(start) : _index(end) + (1 if is_session(end) else 0)])


def previous_session(d: date) -> date:
    """The latest session strictly before ``d``."""
    i = _index(d)
    if i == 0:
        raise UsageError(f"{d.isoformat()} is before the calendar starts ({_FIRST})")
    return _all_sessions()[i - 1]


def session_offset(d: date, n: int) -> date:
    """The session ``n`` sessions after (``n`` > 0) or before (``n`` < 0) session ``d``."""
    require_session(d)
    sessions = _all_sessions()
    i = _index(d) + n
    if i < 0 or i >= len(sessions):
        raise UsageError(f"{d.isoformat()} {n:+d} sessions is outside the NYSE calendar")
    return sessions[i]


def latest_completed_session(now: datetime | None = None) -> date:
    """The last session whose close has passed at ``now`` (default: the wall clock)."""
    cal = _xnys()
    moment = pd.Timestamp(now or datetime.now(UTC))
    if moment.tzinfo is None:
        moment = moment.tz_localize("UTC")
    today = moment.tz_convert("America/New_York").date()
    candidate = today if is_session(today) else previous_session(today)
    close = cal.session_close(pd.Timestamp(candidate))
    if moment < close:
        candidate = previous_session(candidate)
    return candidate


def last_session_of_month(d: date) -> date:
    """The last session of the month that contains ``d``."""
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return previous_session(nxt)


def is_last_session_of_month(d: date) -> bool:
    return is_session(d) and last_session_of_month(d) == d
