from datetime import date

from trendfolio import calendar
from trendfolio.sources.sample import SampleSource


def test_sample_is_deterministic_and_labelled() -> None:
    a, b = SampleSource(), SampleSource()
    assert a.is_sample
    start, end = date(2026, 7, 1), date(2026, 8, 20)
    assert a.daily_bars("XLK", start, end) == b.daily_bars("XLK", start, end)
    # A ticker's path does not depend on which other tickers were asked for first.
    c = SampleSource()
    c.daily_bars("SPY", start, end)
    assert c.daily_bars("SXLK01", start, end) == a.daily_bars("SXLK01", start, end)


def test_sample_bars_are_sessions_with_sane_prices() -> None:
    bars = SampleSource().daily_bars("SPY", date(2026, 1, 1), date(2026, 8, 20))
    assert [b.trade_date for b in bars] == calendar.sessions_between(date(2026, 1, 1),
                                                                     date(2026, 8, 20))
    assert all(b.close > 0 and b.low <= b.close <= b.high for b in bars)  # type: ignore[operator]


def test_every_sector_etf_holds_sample_stocks_with_caps() -> None:
    src = SampleSource()
    snap = src.holdings("XLF", date(2026, 8, 20))
    assert snap is not None and len(snap.holdings) == 12
    assert abs(sum(h.weight for h in snap.holdings) - 1) < 1e-3
    caps = src.fundamentals(snap.holdings[0].holding, date(2026, 8, 20), date(2026, 8, 20))
    assert caps[0].market_cap and caps[0].market_cap > 0
    assert src.holdings("EWY", date(2026, 8, 20)) is None
