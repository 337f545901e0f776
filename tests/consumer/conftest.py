"""The consumer against a real Apache Kafka broker and a real PostgreSQL.

``kafka``: one KRaft broker for the session, started with ``scripts/devservices.py`` in a temp
home and stopped by PID at the end (also when a test or the start itself failed).
``Producer``: an aiokafka producer (acks=all, idempotent) keyed by ticker, as collectors are.
``consumers``: starts ``trendfolio consume`` as a real subprocess that a test can ``kill -9``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import asyncpg
import pytest

from tests.support.devservices import load_devservices
from trendfolio.bus import KafkaBus, consumer_lag, ensure_topics, skip_to_end
from trendfolio.messages import (
    TOPICS,
    EtfDaily,
    Message,
    StockDaily,
    encode,
    key_of,
    topic_of,
)

REPO = Path(__file__).resolve().parents[2]
TRENDFOLIO = REPO / ".venv" / "bin" / "trendfolio"
ETF_TABLE = "collected_01_daily_etf_ohlc"
STOCK_TABLE = "collected_06_daily_stock_history"
BAR_TABLES = (ETF_TABLE, STOCK_TABLE)

T = TypeVar("T")


# --------------------------------------------------------------------------- the broker


@dataclass
class Broker:
    """The session's broker: a devservices home, its bootstrap address and its PID."""

    ds: ModuleType
    home: Path
    bootstrap: str

    def pid(self) -> int | None:
        pid: int | None = self.ds.kafka_pid(self.home)
        return pid

    def restart(self) -> None:
        """Stop the broker by PID and start it again on the same ports (blocking)."""
        before = self.pid()
        assert before is not None, "the Kafka broker is not running before its restart"
        bootstrap = self.ds.restart_kafka(self.home)
        assert bootstrap == self.bootstrap, (
            f"the broker came back on {bootstrap}, not on {self.bootstrap}"
        )
        after = self.pid()
        assert after is not None and after != before, (
            f"the broker was not restarted (pid before {before}, after {after})"
        )


@pytest.fixture(scope="session")
def kafka() -> Iterator[Broker]:
    ds = load_devservices()
    if shutil.which("java") is None:
        pytest.skip("java is not installed (Kafka needs Java 17+)")
    if shutil.which("mvn") is None and not ds.kafka_libs().is_dir():
        pytest.skip("mvn is not installed and the Kafka jars are not cached in .tools/kafka")
    # Not under pytest's tmp_path: keep the broker's files out of the per-run folders.
    made = Path(tempfile.mkdtemp(prefix="trendfolio-kafka-test-"))
    home = made / "home"
    try:
        bootstrap = ds.start_kafka(home, reassign_busy_ports=True)
        assert bootstrap.startswith("127.0.0.1:"), bootstrap
        asyncio.run(ensure_topics(bootstrap))
        yield Broker(ds, home, bootstrap)
    finally:
        pid = ds.kafka_pid(home)
        ds.stop_kafka(home)  # SIGTERM by PID, SIGKILL after a timeout
        assert ds.kafka_pid(home) is None, f"Kafka (pid {pid}) is still running after the tests"
        shutil.rmtree(made, ignore_errors=True)


# --------------------------------------------------------------------------- producing


class Producer:
    """The product's ``KafkaBus`` producer, with raw sends for hostile records."""

    def __init__(self, bootstrap: str) -> None:
        self._bus = KafkaBus(bootstrap)

    async def __aenter__(self) -> Producer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._bus.close()

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, partition: int | None = None
    ) -> asyncio.Future[Any]:
        """Queue one record; the future resolves to its RecordMetadata once acknowledged."""
        return await self._bus.send_raw(topic, value, key, partition)

    async def send(self, message: Message) -> asyncio.Future[Any]:
        return await self.send_raw(topic_of(message), encode(message), key_of(message).encode())

    async def send_all(self, messages: Sequence[Message]) -> list[Any]:
        """Send ``messages`` and wait until the broker has acknowledged every one."""
        futures = [await self.send(m) for m in messages]
        return list(await asyncio.gather(*futures))

    async def partitions(self, topic: str) -> list[int]:
        return await self._bus.partitions(topic)


# --------------------------------------------------------------------------- test data


@dataclass(frozen=True)
class Expected:
    """What a set of bar messages must leave in the tables: close and volume per natural key."""

    etf: dict[tuple[str, date], tuple[Decimal, int]] = field(default_factory=dict)
    stock: dict[tuple[str, date], tuple[Decimal, int]] = field(default_factory=dict)

    def table(self, name: str) -> dict[tuple[str, date], tuple[Decimal, int]]:
        return self.etf if name == ETF_TABLE else self.stock

    def close_sum(self, name: str) -> Decimal:
        return sum((c for c, _ in self.table(name).values()), Decimal(0))

    def __len__(self) -> int:
        return len(self.etf) + len(self.stock)


def make_bars(
    rng: random.Random, tickers: int, days: int, start: date = date(2024, 1, 2), prefix: str = ""
) -> tuple[list[Message], Expected]:
    """``tickers`` × ``days`` bars with distinct natural keys: half ETFs, half stocks.

    Closes have two decimals, so the stored doubles read back as numeric (15 significant digits)
    are those decimals exactly, and sums can be compared exactly. Returned in a seeded random order that keeps each ticker's bars in date
    order (the order a collector publishes them).
    """
    expected = Expected()
    per_ticker: list[list[Message]] = []
    for t in range(tickers):
        is_etf = t % 2 == 0
        ticker = f"{prefix}{'E' if is_etf else 'S'}{t:04d}"
        bars: list[Message] = []
        for d in range(days):
            day = start + timedelta(days=d)
            close = round(rng.uniform(5, 900), 2)
            volume = rng.randrange(0, 10**9)
            common: dict[str, Any] = {
                "ticker": ticker,
                "trade_date": day,
                "open": close,
                "high": round(close * 1.01, 2),
                "low": round(close * 0.99, 2),
                "close": close,
                "adj_close": close,
                "volume": volume,
                "source": "test",
            }
            if is_etf:
                bars.append(EtfDaily(**common))
                expected.etf[(ticker, day)] = (Decimal(f"{close:.2f}"), volume)
            else:
                bars.append(StockDaily(**common, company_name=f"Company {ticker}",
                                       sector="Technology", currency="USD"))
                expected.stock[(ticker, day)] = (Decimal(f"{close:.2f}"), volume)
        per_ticker.append(bars)
    # interleave the tickers at random, each ticker's own bars staying in date order
    order = [i for i, bars in enumerate(per_ticker) for _ in bars]
    rng.shuffle(order)
    cursors = [0] * len(per_ticker)
    out: list[Message] = []
    for i in order:
        out.append(per_ticker[i][cursors[i]])
        cursors[i] += 1
    return out, expected


# --------------------------------------------------------------------------- waiting


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float,
    what: str | Callable[[T], str],
    interval: float = 0.25,
) -> T:
    """Poll ``probe`` until ``done`` holds; fail after ``timeout`` seconds saying ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            text = what(value) if callable(what) else what
            pytest.fail(f"after {timeout:.0f}s: {text} (last value: {value!r})")
        await asyncio.sleep(interval)


async def count_rows(url: str, table: str, where: str = "") -> int:
    assert table in (*BAR_TABLES, "logs_consumer_error", "collected_04_etf_holdings",
                     "collected_07_stock_fundamentals")
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table} {where}"))
    finally:
        await conn.close()


async def bar_count(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(
            await conn.fetchval(
                f"SELECT (SELECT count(*) FROM {ETF_TABLE}) + (SELECT count(*) FROM {STOCK_TABLE})"
            )
        )
    finally:
        await conn.close()


async def assert_bars_equal(url: str, expected: Expected) -> None:
    """The bar tables hold exactly ``expected``: same keys, closes, volumes; no duplicates."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for table in BAR_TABLES:
            want = expected.table(table)
            total, distinct = await conn.fetchrow(
                f"SELECT count(*), count(DISTINCT (ticker, trade_date)) FROM {table}"
            )
            assert total == distinct, f"{table}: {total - distinct} duplicated natural keys"
            assert total == len(want), f"{table}: {total} rows, {len(want)} produced"
            close_sum = await conn.fetchval(f"SELECT coalesce(sum(close_price::numeric), 0) FROM {table}")
            assert close_sum == expected.close_sum(table), (
                f"{table}: sum(close_price) {close_sum} != produced {expected.close_sum(table)}"
            )
            rows = await conn.fetch(f"SELECT ticker, trade_date, close_price::numeric AS close_price, volume FROM {table}")
            got = {(r["ticker"], r["trade_date"]): (r["close_price"], r["volume"]) for r in rows}
            missing = want.keys() - got.keys()
            extra = got.keys() - want.keys()
            assert not missing and not extra, (
                f"{table}: {len(missing)} produced rows missing (e.g. {sorted(missing)[:3]}), "
                f"{len(extra)} unexpected (e.g. {sorted(extra)[:3]})"
            )
            wrong = [k for k, v in want.items() if got[k] != v]
            assert not wrong, f"{table}: {len(wrong)} rows differ, e.g. {wrong[:3]}"
            # price_change_percent is derived from the stored bars: replays must keep it right
            bad_change = await conn.fetchval(
                f"""SELECT count(*) FROM (
                      SELECT price_change_percent AS got,
                             round((100 * (close_price / lag(close_price)
                                   OVER (PARTITION BY ticker ORDER BY trade_date) - 1))::numeric,
                                   6) AS want
                      FROM {table}) x WHERE got IS DISTINCT FROM want"""
            )
            assert bad_change == 0, f"{table}: {bad_change} rows with a wrong price_change_percent"
    finally:
        await conn.close()


# --------------------------------------------------------------------------- the consumer


@dataclass
class ConsumerProcess:
    """One ``trendfolio consume`` subprocess; stopped or killed by its PID."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=15)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (a clean stop), SIGKILL after ``timeout``; returns the exit status."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
        return self.popen.wait(timeout=15)

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"


@dataclass
class Consumers:
    """Starts ``trendfolio consume`` for one test: one consumer group, one home, one log dir."""

    bootstrap: str
    workdir: Path
    group: str
    started: list[ConsumerProcess] = field(default_factory=list)

    async def start(
        self,
        database_url: str,
        batch_size: int = 5000,
        batch_ms: int = 500,
        instance_id: str | None = None,
        writers: int | None = None,
    ) -> ConsumerProcess:
        """Start one more ``trendfolio consume``; the first start begins at the topics' end.

        The session's topics keep earlier tests' messages: the group commits the current end
        offsets before its first member starts, so a test sees only what it produces.
        """
        if not self.started:
            await commit_end_offsets(self.bootstrap, self.group)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
        env.update(
            TRENDFOLIO_KAFKA_BOOTSTRAP=self.bootstrap,
            TRENDFOLIO_DATABASE_URL=database_url,
            TRENDFOLIO_KAFKA_GROUP=self.group,
            TRENDFOLIO_HOME=str(self.workdir / "home"),
            TRENDFOLIO_CONSUMER_BATCH_SIZE=str(batch_size),
            TRENDFOLIO_CONSUMER_BATCH_MS=str(batch_ms),
            TRENDFOLIO_LOG_LEVEL="INFO",
            COLUMNS="240",  # the rich log handler wraps at the console width
        )
        if instance_id is not None:
            env["TRENDFOLIO_KAFKA_INSTANCE_ID"] = instance_id
        if writers is not None:
            env["TRENDFOLIO_CONSUMER_WRITERS"] = str(writers)
        log = self.workdir / f"consumer-{len(self.started)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [str(TRENDFOLIO), "consume"],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = ConsumerProcess(popen, log)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                proc.kill9()


@pytest.fixture
def consumers(kafka: Broker, request: pytest.FixtureRequest) -> Iterator[Consumers]:
    if not TRENDFOLIO.exists():
        pytest.skip(f"{TRENDFOLIO} is missing (run `make install`)")
    workdir = Path(tempfile.mkdtemp(prefix="trendfolio-consume-"))
    group = f"test-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
    made = Consumers(kafka.bootstrap, workdir, group)
    try:
        yield made
    finally:
        made.stop_all()
        if request.node.stash.get(_FAILED, False):
            # keep the consumer logs of a failed test for a look
            sys.stderr.write(f"\nconsumer logs kept in {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


async def wait_for_assignment(proc: ConsumerProcess, timeout: float = 90) -> None:
    """Wait until the subprocess has joined its group (or fail with the tail of its log)."""

    async def probe() -> str:
        return proc.log.read_text(errors="replace") if proc.log.exists() else ""

    def done(text: str) -> bool:
        assert proc.alive(), f"the consumer exited early:\n{proc.log_tail()}"
        return "consuming" in text

    await eventually(probe, done, timeout, lambda t: f"the consumer never started: {t[-2000:]}")


async def _partitions(bootstrap: str) -> list[Any]:
    """Every partition of the three topics, as the broker describes them."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(TOPICS))
    finally:
        await admin.close()
    tps = sorted(
        TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
    )
    assert len(tps) >= 3 * len(TOPICS), f"the topics are not all there: {described}"
    return tps


async def commit_end_offsets(bootstrap: str, group: str) -> None:
    """Commit the current end of every partition of the three topics for ``group``."""
    await _partitions(bootstrap)  # every topic and partition is there
    await skip_to_end(bootstrap, group)


async def committed_lag(bootstrap: str, group: str) -> int:
    """Messages on the three topics that ``group`` has not committed yet (all topics present)."""
    await _partitions(bootstrap)
    return await consumer_lag(bootstrap, group)


@contextlib.asynccontextmanager
async def running(task: Awaitable[T]) -> AsyncIterator[asyncio.Task[T]]:
    """Run ``task`` concurrently; cancel it if the body fails."""
    t = asyncio.ensure_future(task)
    try:
        yield t
    finally:
        if not t.done():
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
