"""The backtest's point-in-time report and caveats on hand-made rows with known dates and
recording times."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

from trendfolio.backtest_store import caveats, point_in_time_report, point_in_time_summary
from trendfolio.calendar import sessions_between

D1, D2, D3 = date(2026, 8, 18), date(2026, 8, 19), date(2026, 8, 20)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_point_in_time_report_by_date(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.copy_records_to_table(
            "collected_04_etf_holdings",
            columns=["etf_ticker", "holding_ticker", "holding_percent", "as_of_date",
                     "is_point_in_time", "created_at"],
            records=[
                # recorded by the live run on its date (18:00 in New York)
                ("XLK", "AAA", 20.0, date(2026, 8, 10), True, utc("2026-08-10T22:00:00")),
                # dated the 19th but stored in November: a backfill, not a live record
                ("XLF", "BBB", 10.0, D2, True, utc("2026-11-26T10:00:00")),
                ("XLE", "CCC", 10.0, D1, True, utc("2026-08-18T22:00:00")),
            ],
        )
        await conn.copy_records_to_table(
            "collected_07_stock_fundamentals",
            columns=["ticker", "as_of_date", "market_cap", "created_at"],
            records=[
                ("AAA", date(2026, 8, 17), 1e9, utc("2026-08-17T22:30:00")),
                # 03:00 UTC on the 20th is still the 19th in New York
                ("AAA", D2, 1.1e9, utc("2026-08-20T03:00:00")),
                ("BBB", D2, 2e9, utc("2026-08-19T22:30:00")),
                ("CCC", date(2026, 8, 21), 3e9, utc("2026-08-21T22:30:00")),  # after D3
            ],
        )
        await conn.copy_records_to_table(
            "analytics_05_portfolio_allocation",
            columns=["as_of_date", "ticker", "period_days", "portfolio_weight", "rank",
                     "etf_ticker", "is_point_in_time"],
            records=[
                (D1, "AAA", 20, 1.0, 1, "XLK", True),
                (D2, "AAA", 20, 0.5, 1, "XLK", True),
                (D2, "BBB", 20, 0.5, 2, "XLF", True),
                (D2, "AAA", 5, 1.0, 1, "XLK", True),
                (D3, "CCC", 20, 1.0, 1, "XLE", False),  # its snapshot was flagged later
            ],
        )
        rows = {r["as_of_date"]: r for r in await point_in_time_report(conn, D1, D3)}
    finally:
        await conn.close()
    assert set(rows) == {D1, D2, D3}
    one, two, three = rows[D1], rows[D2], rows[D3]
    assert (one["picks"], one["holdings_dated_ok"], one["caps_dated_ok"],
            one["recorded_in_time"]) == (1, True, True, True)
    assert one["oldest_snapshot"] == date(2026, 8, 10) and one["newest_cap"] == date(2026, 8, 17)
    # AAA's cap of the 19th was recorded on the 19th (New York), BBB's snapshot months later
    assert (two["picks"], two["holdings_dated_ok"], two["caps_dated_ok"],
            two["recorded_in_time"]) == (2, True, True, False)
    assert two["newest_cap"] == D2
    # CCC: no cap dated on or before the 20th, and the allocation flagged its snapshot
    assert (three["holdings_dated_ok"], three["caps_dated_ok"], three["recorded_in_time"]) == (
        False, False, False)

    report = list(rows.values())
    assert point_in_time_summary(report) == {
        "dates": 3, "clean": 1, "holdings_dated_ok": 2, "caps_dated_ok": 2, "recorded_in_time": 1,
    }
    notes = caveats(report, sessions_between(D1, D3), 10.0, 1, is_sample=False)
    assert notes[0].startswith("NOT POINT-IN-TIME: of 3 signal dates, 1 used holdings or market "
                               "caps dated after the date and 2 used data stored after the date")
    assert any("Only 3 sessions" in n for n in notes)
    assert notes[-1].startswith("Costs are 10 bps")
    clean = caveats(report[:1], sessions_between(D1, D3), 10.0, 1, is_sample=True)
    assert not any(n.startswith("NOT POINT-IN-TIME") for n in clean)
    assert any(n.startswith("SAMPLE DATA") for n in clean)
