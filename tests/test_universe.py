from pathlib import Path

import pytest

from trendfolio.errors import UsageError
from trendfolio.universe import load_universe, parse_universe


def test_seed_universe_has_15_unique_etfs_with_spy_as_reference() -> None:
    u = load_universe("seed")
    assert len(u.tickers) == 15 and len(set(u.tickers)) == 15
    assert u.reference == "SPY"
    assert u.benchmarks == ["SPY", "IWM", "DIA", "EWY", "SCHD"]
    assert u.get("QQQ") is not None and u.get("QQQ").sector_name == "Technology"  # type: ignore[union-attr]
    assert "XLK" not in u.tickers and "XLE" not in u.tickers


def test_spdr_universe_has_17_etfs_and_qqq_is_a_benchmark() -> None:
    u = load_universe("spdr")
    assert len(u.tickers) == 17
    assert "QQQ" in u.benchmarks and {"XLK", "XLE"} <= set(u.sectors)


def test_an_etf_can_be_both_benchmark_and_sector() -> None:
    u = parse_universe("x", "ticker,is_benchmark,is_reference,sector_name\nSPY,true,true,\n"
                            "QQQ,true,false,Technology\n")
    assert u.get("QQQ").etf_type == "both"  # type: ignore[union-attr]


def test_user_file(tmp_path: Path) -> None:
    f = tmp_path / "mine.csv"
    f.write_text("ticker,is_benchmark,is_reference,sector_name\nSPY,true,true,\nXLK,false,false,Tech\n")
    assert load_universe(str(f)).tickers == ["SPY", "XLK"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ticker,is_benchmark,is_reference,sector_name\nSPY,true,false,\n", "exactly one reference"),
        ("ticker,is_benchmark,is_reference,sector_name\nSPY,true,true,\nSPY,true,false,\n", "repeated"),
        ("ticker,is_benchmark,is_reference,sector_name\nSPY,maybe,true,\n", "line 2"),
        ("ticker,is_benchmark,is_reference,sector_name\nSPY,true,true,\nXLK,false,false,\n",
         "neither a benchmark nor a sector"),
        ("ticker,kind\nSPY,x\n", "needs the columns"),
    ],
)
def test_bad_universe_files_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_universe("bad", text)


def test_unknown_universe_name() -> None:
    with pytest.raises(UsageError, match="unknown universe 'nope'"):
        load_universe("nope")
