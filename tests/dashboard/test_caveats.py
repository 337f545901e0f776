"""Every caveat `trendfolio backtest` writes reads in plain Korean, with its own numbers."""

from __future__ import annotations

import re
from datetime import date, timedelta

from trendfolio import backtest as bt
from trendfolio.backtest_store import caveats
from trendfolio_dashboard.caveats import KINDS, TEMPLATES, parse

SESSIONS = [date(2026, 8, 3) + timedelta(days=i) for i in range(10)]
PIT_ROW = {"holdings_dated_ok": True, "caps_dated_ok": False, "recorded_in_time": False,
           "oldest_snapshot": date(2026, 5, 1)}
HANGUL = re.compile("[가-힣]")


def test_every_caveat_the_backtest_writes_is_a_known_kind() -> None:
    written = caveats([PIT_ROW, {**PIT_ROW, "caps_dated_ok": True}], SESSIONS, 12.5, 2,
                      is_sample=True, missing_prices=["ZZZ", "AAA"])
    parsed = [parse(c) for c in written]
    assert [p.kind for p in parsed] == ["not_point_in_time", "stale_snapshot", "sample", "short",
                                        "missing_prices", "costs"]
    korean = [p.words("ko") for p in parsed]
    assert all(HANGUL.search(k) and "{" not in k for k in korean), korean
    assert "신호일 2일 중 1일" in korean[0] and "2일은" in korean[0]
    assert "2026-05-01" in korean[1] and "94일" in korean[1]
    assert "10일뿐" in korean[3]
    assert "AAA, ZZZ" in korean[4]
    assert "12.5bp" in korean[5] and "2거래일" in korean[5]
    assert [p.words("en") for p in parsed] == written  # English: as stored


def test_every_template_in_the_library_has_korean_words() -> None:
    templates = {v for k, v in vars(bt).items() if k.startswith("CAVEAT_")}
    assert templates <= set(TEMPLATES.values()), templates - set(TEMPLATES.values())
    assert set(TEMPLATES) == set(KINDS)


def test_an_unknown_caveat_is_shown_as_stored() -> None:
    text = "Something new the backtest says."
    caveat = parse(text)
    assert caveat.kind is None and text in caveat.words("ko") and caveat.words("en") == text
