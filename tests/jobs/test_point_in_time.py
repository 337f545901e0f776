"""Point-in-time: appending later data (prices, a new holdings snapshot, new market caps, FX
rates) leaves every earlier result unchanged, and the later sessions do see it.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.jobs import Db
from trendfolio.calendar import sessions_between
from trendfolio.pipeline import StageContext
from trendfolio.universe import load_universe
from trendfolio_app.runner import Runner
from trendfolio_app.stages import SparkStage, pipeline_stages

from .test_real_data import TABLES, snapshot

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

CUTOFF = date(2026, 6, 30)
EARLY = sessions_between(date(2026, 6, 22), CUTOFF)  # includes a month end
LATER = sessions_between(date(2026, 7, 1), date(2026, 7, 10))
SPARK_STAGES = [s for s in pipeline_stages() if isinstance(s, SparkStage)]


def num(text: str) -> float | None:
    return float(Decimal(text)) if text else None


def market_rows(folder: Path, tickers: set[str]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {"etf": [], "stock": [], "caps": [], "holdings": []}
    with (folder / "prices.csv").open() as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["date"])
            bar = (row["ticker"], day, num(row["close"]), num(row["adj_close"]),
                   int(row["volume"]) if row["volume"] else None, "market-2026")
            out["etf" if row["ticker"] in tickers else "stock"].append(bar)
    with (folder / "market_caps.csv").open() as f:
        for row in csv.DictReader(f):
            out["caps"].append((row["ticker"], date.fromisoformat(row["date_or_asof"]),
                                num(row["market_cap"]), num(row["shares_outstanding"])))
    with (folder / "holdings.csv").open() as f:
        for row in csv.DictReader(f):
            if row["holding"] != "-":
                out["holdings"].append((row["etf"], row["holding"], float(row["weight"]),
                                        date.fromisoformat(row["asof"]), None))
    return out


async def load(db: Db, rows: dict[str, list[tuple[Any, ...]]], keep: Any) -> None:
    bar_cols = ["ticker", "trade_date", "close_price", "adj_close", "volume", "source"]
    await db.insert("collected_01_daily_etf_ohlc", bar_cols, [r for r in rows["etf"] if keep(r[1])])
    await db.insert("collected_06_daily_stock_history", bar_cols,
                    [r for r in rows["stock"] if keep(r[1])])
    await db.insert("collected_07_stock_fundamentals",
                    ["ticker", "as_of_date", "market_cap", "shares_outstanding"],
                    [r for r in rows["caps"] if keep(r[1])])
    await db.insert("collected_04_etf_holdings",
                    ["etf_ticker", "holding_ticker", "holding_percent", "as_of_date",
                     "holding_name"],
                    [r for r in rows["holdings"] if keep(r[3])])


async def test_later_data_changes_no_earlier_result(
    db: Db, stage_context: Any, market_2026: Path
) -> None:
    universe = load_universe("spdr")
    ctx: StageContext = stage_context(universe)
    rows = market_rows(market_2026, set(universe.tickers))
    await load(db, rows, lambda day: day <= CUTOFF)
    runner = Runner(ctx.settings, universe, ctx.database_url)
    await runner.backfill(EARLY, SPARK_STAGES)
    before = await snapshot(db.url, *EARLY)
    assert before["analytics_05_portfolio_allocation"]
    assert before["analytics_08_monthly_portfolio"]

    # later prices and market caps, a new snapshot of every ETF dated after the cutoff (other
    # weights, other names), plus a KRW rate
    await load(db, rows, lambda day: day > CUTOFF)
    later_snapshot = date(2026, 7, 1)
    reversed_weights = [
        (e, h, w * (1.5 if i % 2 else 0.5), later_snapshot, f"{h} (renamed later)")
        for i, (e, h, w, _, _) in enumerate(rows["holdings"])
    ]
    await load(db, {"etf": [], "stock": [], "caps": [], "holdings": reversed_weights},
               lambda day: True)
    await db.insert("collected_11_fx_rates", ["currency", "trade_date", "usd_per_unit"],
                    [("KRW", day, 0.0007) for day in (*EARLY, *LATER)])
    await runner.backfill([*EARLY, *LATER], SPARK_STAGES)
    after = await snapshot(db.url, *EARLY)
    for table in TABLES:
        assert after[table] == before[table], table

    # the test can fail: later sessions do read the new snapshot (its names mark it)
    names = await db.fetch(
        "SELECT as_of_date, holding_name FROM analytics_09_etf_top_holdings "
        "WHERE as_of_date = ANY($1::date[])",
        [LATER[-1], EARLY[-1]],
    )
    later = [n for d, n in names if d == LATER[-1]]
    assert later and all(n.endswith("(renamed later)") for n in later)
    assert all(n is None for d, n in names if d == EARLY[-1])
