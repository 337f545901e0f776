from datetime import date
from pathlib import Path

import pytest

from trendfolio.config import load_settings
from trendfolio.errors import SourceError, UsageError
from trendfolio.sources.csv_source import CsvSource
from trendfolio.wiring import open_source


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text.strip() + "\n")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    _write(tmp_path, "prices.csv", """
ticker,date,open,high,low,close,adj_close,volume
SPY,2026-08-18,1,2,0.5,100,99,1000
SPY,2026-08-19,,,,101,,
SPY,2026-08-20,1,2,0.5,102,101,3000
""")
    _write(tmp_path, "market_caps.csv", """
ticker,date_or_asof,market_cap,shares_outstanding,price,kind,source
AAPL,2025-12-31,,15000000000,,balance_sheet_quarter_end,x
AAPL,2026-08-19,3700000000000,,250,daily_quote_snapshot,x
AAPL,2026-08-20,3750000000000,,251,daily_quote_snapshot,x
""")
    _write(tmp_path, "holdings.csv", """
etf,holding,weight,asof
XLK,AAPL,0.12,2026-01-05
XLK,MSFT,0.11,2026-01-05
XLK,NVDA,0.15,2026-06-01
""")
    _write(tmp_path, "meta.csv", "ticker,name,sector,currency\nAAPL,Apple Inc.,Technology,USD")
    return tmp_path


def test_bars_within_range_with_blanks(data: Path) -> None:
    src = open_source(load_settings(source=f"csv:{data}", home=data))
    bars = src.daily_bars("SPY", date(2026, 8, 19), date(2026, 8, 20))
    assert [(b.trade_date.day, b.close, b.adj_close, b.volume) for b in bars] == [
        (19, 101.0, None, None), (20, 102.0, 101.0, 3000)]


def test_unknown_ticker_names_the_ticker(data: Path) -> None:
    with pytest.raises(SourceError, match=r"^ZZZ: "):
        CsvSource(data).daily_bars("ZZZ", date(2026, 1, 1), date(2026, 8, 20))


def test_holdings_latest_snapshot_on_or_before_the_date(data: Path) -> None:
    src = CsvSource(data)
    snap = src.holdings("XLK", date(2026, 3, 1))
    assert snap is not None and snap.as_of == date(2026, 1, 5) and snap.point_in_time
    assert sorted(h.holding for h in snap.holdings) == ["AAPL", "MSFT"]
    later = src.holdings("XLK", date(2026, 8, 20))
    assert later is not None and [h.holding for h in later.holdings] == ["NVDA"]


def test_before_the_first_snapshot_the_earliest_is_used_and_flagged(data: Path) -> None:
    snap = CsvSource(data).holdings("XLK", date(2025, 6, 1))
    assert snap is not None and snap.as_of == date(2026, 1, 5) and not snap.point_in_time
    assert CsvSource(data).holdings("XLF", date(2026, 8, 20)) is None


def test_fundamentals_include_share_counts_dated_on_or_before_end(data: Path) -> None:
    f = CsvSource(data).fundamentals("AAPL", date(2026, 8, 20), date(2026, 8, 20))
    assert [(x.as_of, x.market_cap, x.shares_outstanding) for x in f] == [
        (date(2026, 8, 20), 3.75e12, None), (date(2025, 12, 31), None, 1.5e10)]


def test_meta(data: Path) -> None:
    assert CsvSource(data).meta("AAPL").sector == "Technology"
    assert CsvSource(data).meta("MSFT").name is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ticker,date,close\nSPY,2026-08-20,\n", "line 2: SPY has no positive close"),
        ("ticker,date,close\nSPY,2026-08-20,abc\n", "line 2: close 'abc' is not a number"),
        ("ticker,date,close\nSPY,2026-02-30,1\n", "line 2: '2026-02-30' is not a YYYY-MM-DD"),
        ("ticker,close\nSPY,1\n", "missing columns"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "prices.csv").write_text(text)
    with pytest.raises(UsageError, match=message):
        CsvSource(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"prices\.csv not found"):
        open_source(load_settings(source=f"csv:{tmp_path / 'nope'}", home=tmp_path))


def test_real_market_data_loads(market_2026: Path) -> None:
    src = CsvSource(market_2026)
    spy = src.daily_bars("SPY", date(2026, 3, 20), date(2026, 8, 20))
    assert len(spy) == 106 and spy[-1].trade_date == date(2026, 8, 20)
    assert len(src.holdings("XLK", date(2026, 8, 20)).holdings) == 72  # type: ignore[union-attr]
