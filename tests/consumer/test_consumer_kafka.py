"""``trendfolio consume`` as a real subprocess, reading a real Kafka broker into PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from tests.support.bars import (
    ETF_TABLE,
    STOCK_TABLE,
    assert_bars_equal,
    bar_count,
    count_rows,
    make_bars,
)
from tests.support.consumers import Consumers, wait_for_assignment
from tests.support.kafka import Broker, Producer, committed_lag
from tests.support.malformed import MALFORMED
from tests.support.waiting import eventually
from trendfolio.messages import (
    EtfHoldings,
    HoldingItem,
    InvalidMessage,
    Message,
    StockFundamental,
    decode,
)

pytestmark = pytest.mark.kafka


def _holdings(rng: random.Random) -> tuple[list[Message], dict[tuple[str, str, date], Decimal]]:
    out: list[Message] = []
    want: dict[tuple[str, str, date], Decimal] = {}
    for etf in ("XLK", "XLF", "QQQ"):
        for d in range(3):
            day = date(2026, 8, 18) + timedelta(days=d)
            items = [
                HoldingItem(holding_ticker=f"H{i:03d}", holding_name=f"Holding {i}",
                            weight=round(rng.uniform(0.001, 0.09), 6), currency="USD")
                for i in rng.sample(range(200), 10)
            ]
            out.append(EtfHoldings(etf_ticker=etf, as_of_date=day, point_in_time=True,
                                   holdings=items, source="test"))
            for h in items:
                want[(etf, h.holding_ticker, day)] = Decimal(f"{h.weight * 100:.8f}")
    return out, want


def _fundamentals(rng: random.Random) -> tuple[list[Message], dict[tuple[str, date], Any]]:
    out: list[Message] = []
    want: dict[tuple[str, date], Any] = {}
    for t in range(5):
        for d in range(4):
            day = date(2026, 8, 17) + timedelta(days=d)
            cap = float(rng.randrange(10**9, 10**12))
            shares = float(rng.randrange(10**6, 10**10))
            out.append(StockFundamental(ticker=f"F{t:03d}", as_of_date=day, market_cap=cap,
                                        shares_outstanding=shares, source="test"))
            want[(f"F{t:03d}", day)] = (Decimal(f"{cap:.2f}"), Decimal(f"{shares:.2f}"))
    return out, want


async def test_good_messages_of_all_three_topics_land_exactly_once(
    kafka: Broker, consumers: Consumers, db_url: str
) -> None:
    rng = random.Random(20260820)
    bars, expected = make_bars(rng, tickers=20, days=60)
    snapshots, want_holdings = _holdings(rng)
    fundamentals, want_fundamentals = _fundamentals(rng)
    messages = bars + snapshots + fundamentals
    rng.shuffle(messages)

    proc = await consumers.start(db_url)
    await wait_for_assignment(proc)
    async with Producer(kafka.bootstrap) as producer:
        sent = await producer.send_all(messages)
        assert {m.topic for m in sent} == {"etf-daily-data", "etf-holdings-data",
                                           "stock-daily-data"}

        async def landed() -> tuple[int, int, int, int]:
            return (await bar_count(db_url),
                    await count_rows(db_url, "collected_04_etf_holdings"),
                    await count_rows(db_url, "collected_07_stock_fundamentals"),
                    await committed_lag(kafka.bootstrap, consumers.group))

        goal = (len(expected), len(want_holdings), len(want_fundamentals), 0)
        await eventually(landed, lambda v: v == goal, 60,
                         f"expected (bars, holdings, fundamentals, lag) = {goal}")
        await _check_all(db_url, expected, want_holdings, want_fundamentals)

        # The same messages again (a producer retry, a replay): still exactly once.
        await producer.send_all(messages)
        await eventually(lambda: committed_lag(kafka.bootstrap, consumers.group),
                         lambda lag: lag == 0, 60, "the replayed messages were not consumed")
        await _check_all(db_url, expected, want_holdings, want_fundamentals)

    assert await count_rows(db_url, "logs_consumer_error") == 0
    assert proc.alive(), f"the consumer died:\n{proc.log_tail()}"
    assert proc.stop() == 0, f"`trendfolio consume` did not stop cleanly:\n{proc.log_tail()}"


async def _check_all(
    url: str,
    expected: Any,
    want_holdings: dict[tuple[str, str, date], Decimal],
    want_fundamentals: dict[tuple[str, date], Any],
) -> None:
    await assert_bars_equal(url, expected)
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT etf_ticker, holding_ticker, as_of_date, holding_percent "
                                "FROM collected_04_etf_holdings")
        got = {(r[0], r[1], r[2]): r[3] for r in rows}
        assert len(rows) == len(got) == len(want_holdings)
        assert got == want_holdings
        rows = await conn.fetch("SELECT ticker, as_of_date, market_cap, shares_outstanding "
                                "FROM collected_07_stock_fundamentals")
        assert {(r[0], r[1]): (r[2], r[3]) for r in rows} == want_fundamentals
        assert len(rows) == len(want_fundamentals)
    finally:
        await conn.close()


def _reason(topic: str, raw: bytes | None) -> str:
    """What the validator says about ``raw``: the reason the dead letter must carry."""
    try:
        decode(topic, raw)
    except InvalidMessage as bad:
        return bad.reason[:2000]
    raise AssertionError(f"a MALFORMED message decodes on {topic}: {raw!r}")


POISON_KEYS: tuple[bytes | None, ...] = (b"SPY", None, b"bad\x00key\xff", b"K" * 300)


async def test_poison_messages_are_dead_lettered_once_and_the_consumer_keeps_going(
    kafka: Broker, consumers: Consumers, db_url: str
) -> None:
    rng = random.Random(31)
    before, want_before = make_bars(rng, tickers=10, days=20, prefix="B")
    between, want_between = make_bars(rng, tickers=10, days=20, prefix="M")
    after, want_after = make_bars(rng, tickers=4, days=5, prefix="A")

    proc = await consumers.start(db_url)
    await wait_for_assignment(proc)
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(before)
        await eventually(lambda: bar_count(db_url), lambda n: n == len(want_before), 60,
                         "the good rows sent before the poison did not land")

        # Every hostile message, to every partition of its topic, three times over, with
        # good messages mixed in (so poison and good rows share batches).
        poison: dict[tuple[str, int, int], tuple[bytes | None, bytes | None, str]] = {}
        futures = []
        good = iter(between)
        for rep in range(3):
            for i, (topic, raw, _what) in enumerate(MALFORMED):
                for partition in await producer.partitions(topic):
                    key = POISON_KEYS[(i + rep + partition) % len(POISON_KEYS)]
                    if raw is None and key is None:
                        key = b"SPY"  # a record needs a key or a value
                    fut = await producer.send_raw(topic, raw, key, partition)
                    futures.append((fut, raw, key))
                    if (nxt := next(good, None)) is not None:
                        await producer.send(nxt)
        for nxt in good:
            await producer.send(nxt)
        for fut, raw, key in futures:
            md = await fut
            poison[(md.topic, md.partition, md.offset)] = (raw, key, _reason(md.topic, raw))
        assert len(poison) == len(futures) >= 250

        await eventually(
            lambda: count_rows(db_url, "logs_consumer_error"), lambda n: n >= len(poison), 90,
            f"fewer than {len(poison)} dead letters")
        await eventually(lambda: committed_lag(kafka.bootstrap, consumers.group),
                         lambda lag: lag == 0, 60, "the poison was not committed")
        assert proc.alive(), f"the consumer died on the poison:\n{proc.log_tail()}"

        # ... and it still consumes: good messages sent after the poison land.
        await producer.send_all(after)
        await eventually(lambda: count_rows(db_url, ETF_TABLE, "WHERE ticker LIKE 'A%'"),
                         lambda n: n == len(want_after.etf), 60,
                         "good messages sent after the poison did not land")
        await eventually(lambda: committed_lag(kafka.bootstrap, consumers.group),
                         lambda lag: lag == 0, 60, "the last good messages were not committed")

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch('SELECT topic, "partition", "offset", message_key, raw_bytes, '
                                "raw_value, error_msg FROM logs_consumer_error")
    finally:
        await conn.close()
    got = {(r["topic"], r["partition"], r["offset"]): r for r in rows}
    assert len(rows) == len(got) == len(poison), "not exactly one dead letter per poison record"
    assert got.keys() == poison.keys(), (
        f"dead letters for records never sent poison: {sorted(got.keys() - poison.keys())[:5]}; "
        f"poison without a dead letter: {sorted(poison.keys() - got.keys())[:5]}"
    )
    for where, (raw, key, reason) in poison.items():
        row = got[where]
        assert row["error_msg"] == reason, (where, row["error_msg"], reason)
        assert row["raw_bytes"] == raw, where
        assert (row["raw_value"] is None) == (not raw), where
        # the key as text: undecodable bytes and NULs replaced, at most 255 characters
        shown = None if key is None else key.decode(errors="replace").replace("\x00", "\ufffd")
        assert row["message_key"] == (shown[:255] if shown else None), where

    # Nothing of the poison reached the collected tables; every good row is intact.
    everything = type(want_before)(
        etf={**want_before.etf, **want_between.etf, **want_after.etf},
        stock={**want_before.stock, **want_between.stock, **want_after.stock},
    )
    await assert_bars_equal(db_url, everything)
    assert await count_rows(db_url, ETF_TABLE, "WHERE ticker = 'SPY'") == 0
    assert await count_rows(db_url, STOCK_TABLE, "WHERE ticker = 'AAPL'") == 0
    assert await count_rows(db_url, "collected_04_etf_holdings") == 0
    assert await count_rows(db_url, "collected_07_stock_fundamentals") == 0
    assert proc.alive(), f"the consumer died:\n{proc.log_tail()}"
    assert proc.stop() == 0, f"`trendfolio consume` did not stop cleanly:\n{proc.log_tail()}"


async def _bars_at_least(url: str, rows: int) -> None:
    await eventually(lambda: bar_count(url), lambda n: n >= rows, 90,
                     f"the consumers did not write {rows} bars")


async def test_consumers_joining_mid_ingest_take_a_share_and_nothing_stalls(
    kafka: Broker, consumers: Consumers, db_url: str
) -> None:
    """Scale-out (or a rolling update): members join while the first is writing batches.

    Each join rebalances the group under in-flight batches: an offset commit for a partition
    that moved must not block its consumer, and every member must go on consuming and stop
    cleanly. Large batches and two joins make a rebalance under a batch all but certain.
    """
    rng = random.Random(2)
    messages, expected = make_bars(rng, tickers=250, days=600)  # 150,000 bars
    members = [await consumers.start(db_url, batch_size=20_000, batch_ms=300)]
    await wait_for_assignment(members[0])
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(messages)
    for threshold in (5_000, 60_000):
        await _bars_at_least(db_url, threshold)
        members.append(await consumers.start(db_url, batch_size=20_000, batch_ms=300))

    def commits(proc: Any) -> str:
        text = proc.log.read_text(errors="replace")
        failed = [line.strip() for line in text.splitlines() if "commit failed" in line]
        return f"pid {proc.pid}: {len(failed)} failed offset commits, the last: {failed[-1:]}"

    await eventually(
        lambda: committed_lag(kafka.bootstrap, consumers.group), lambda lag: lag == 0, 90,
        lambda lag: f"{lag} messages never committed after members joined; "
                    + "; ".join(commits(p) for p in members),
    )
    await assert_bars_equal(db_url, expected)
    for proc in members:
        assert proc.alive(), f"a consumer died:\n{proc.log_tail()}"
    for proc in members:
        assert proc.stop(timeout=30) == 0, (
            f"a consumer did not stop within 30 s of SIGTERM ({commits(proc)}):\n"
            f"{proc.log_tail()}"
        )


@pytest.mark.parametrize("writers", [1, 3])
async def test_writers_share_the_partitions_and_keep_every_price_change_right(
    kafka: Broker, consumers: Consumers, db_url: str, writers: int
) -> None:
    """Small batches, so each ticker's bars span many batches of its writer: the change of a
    batch's first bar is taken against the previous batch's last, which only holds if one
    writer, one batch at a time, owns each ticker; each writer takes the partitions of its
    numbers, and a writer that falls behind takes bigger batches."""
    rng = random.Random(writers)
    bars, expected = make_bars(rng, tickers=60, days=120, prefix=f"W{writers}")
    proc = await consumers.start(db_url, batch_size=150, batch_ms=50, writers=writers)
    await wait_for_assignment(proc)
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(bars)
        numbers = set(await producer.partitions("etf-daily-data"))
        await eventually(lambda: committed_lag(kafka.bootstrap, consumers.group),
                         lambda lag: lag == 0, 90, "the bars were not all consumed")
    await assert_bars_equal(db_url, expected)  # includes price_change_percent, recomputed
    log = proc.log.read_text(errors="replace")
    assert f"with {writers} writers" in log, proc.log_tail()
    busy = {w for w in range(writers) if f"writer {w}: batch of" in log}
    assert busy == {n % writers for n in numbers}, (busy, numbers, proc.log_tail())
    assert await count_rows(db_url, "logs_consumer_error") == 0
    assert proc.stop() == 0, f"`trendfolio consume` did not stop cleanly:\n{proc.log_tail()}"
