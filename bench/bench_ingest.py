#!/usr/bin/env python3
"""Ingest throughput: real Apache Kafka → the real ``Consumer`` → a real PostgreSQL.

    .venv/bin/python bench/bench_ingest.py [--messages 200000] [--single 5000]

Measured in one run, on one PostgreSQL and one KRaft broker started here on 127.0.0.1 (both
stopped by PID at the end) and the same generated bars throughout:

1. the Kafka path: N bar messages published with ``KafkaBus`` first, then the real
   ``trendfolio_consumer.Consumer`` timed from its start until every message is committed;
   also the end-to-end figure (publish + consume);
2. a one-row-per-commit writer: asyncpg, one ``INSERT … ON CONFLICT`` per row, each its own
   transaction, on a sample of the same rows (the seed's row-by-row writes);
3. a raw ``COPY`` of the same N rows into an unindexed table, with the prices as
   ``double precision`` (as in the real tables since migration 0003) and as ``numeric(18, 6)``
   (their type before it, which asyncpg encodes in Python, price by price);
4. the consumer's decode + write code alone on the same records, without Kafka.

While the Kafka path consumes, the CPU seconds of each process are read from /proc: the
consumer (this process), PostgreSQL (every process of the server, exited backends included)
and the broker, and what other programs took meanwhile; they tell a change that saves work
from a run that merely had the machine to itself (the ratio to the one-row-per-commit writer
is the figure that suffers most from a busy machine: its waits are all latency).

A warm-up of ``--warmup`` messages goes through the broker first, unmeasured: a broker in
service has long since JIT-compiled its fetch path, and a fresh JVM spends over a CPU-second
doing so on the two cores the consumer and PostgreSQL share.

Prints a Markdown report on stdout (progress on stderr) and writes
``bench/results/ingest.json``. Targets from the issue: ≥ 50,000 rows/s on 2 cores and ≥ 20×
the one-row-per-commit writer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support
from tests.support.paths import REPO

for _src in ("lib", "services/consumer"):
    if str(REPO / _src) not in sys.path:
        sys.path.insert(0, str(REPO / _src))

import asyncpg  # noqa: E402
from tests.support.databases import create_database  # noqa: E402
from tests.support.devservices import load_devservices  # noqa: E402

from trendfolio.bus import KafkaBus, ensure_topics, skip_to_end  # noqa: E402
from trendfolio.config import Settings  # noqa: E402
from trendfolio.db.server import PgServer  # noqa: E402
from trendfolio.ingest import BatchResult, RawRecord, write_batch  # noqa: E402
from trendfolio.messages import (  # noqa: E402
    EtfDaily,
    Message,
    StockDaily,
    encode,
    key_of,
    topic_of,
)
from trendfolio_consumer.consumer import Consumer  # noqa: E402

RESULTS = REPO / "bench" / "results" / "ingest.json"
TARGET_ROWS_PER_S = 50_000
TARGET_RATIO = 20.0
BAR_COLUMNS = ("ticker", "trade_date", "open_price", "high_price", "low_price", "close_price",
               "adj_close", "volume", "source")


def say(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- services


@contextmanager
def services(workdir: Path) -> Iterator[tuple[PgServer, str, ModuleType, Pids]]:
    """A PostgreSQL and a Kafka broker on 127.0.0.1, stopped by PID whatever happens."""
    ds = load_devservices()
    pg = PgServer(workdir / "postgres")
    kafka_home = workdir / "kafka"
    try:
        pg.start()
        bootstrap: str = ds.start_kafka(kafka_home, reassign_busy_ports=True)
        yield pg, bootstrap, ds, Pids(pg.pid() or 0, ds.kafka_pid(kafka_home) or 0)
    finally:
        try:
            ds.stop_kafka(kafka_home)  # SIGTERM by PID, SIGKILL after a timeout
        finally:
            pid = pg.pid()
            if pid is not None:
                try:
                    pg.stop("fast")
                finally:
                    if pg.pid() is not None:
                        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- CPU accounting

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds (user + system) of ``pid``; with ``children``, also its reaped children's."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


@dataclass
class Pids:
    postgres: int  # the postmaster: its backends are its children
    broker: int


def cpu_snapshot(pids: Pids) -> dict[str, float]:
    """CPU seconds so far of this process (the consumer), PostgreSQL (all of its processes,
    exited backends included) and the broker."""
    t = os.times()
    pg = _proc_cpu(pids.postgres, children=True) + sum(
        _proc_cpu(c) for c in _children_of(pids.postgres))
    # the whole machine's busy time (every core), to tell what other programs took meanwhile
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    machine = (sum(int(x) for x in busy[:8]) - int(busy[3]) - int(busy[4])) / _TICK
    return {"consumer": t.user + t.system, "postgres": pg, "broker": _proc_cpu(pids.broker),
            "machine": machine}


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    d = {k: round(after[k] - before[k], 2) for k in before}
    d["others"] = round(d.pop("machine") - d["consumer"] - d["postgres"] - d["broker"], 2)
    return d


# --------------------------------------------------------------------------- the data


def make_messages(n: int, tickers: int, seed: int) -> list[Message]:
    """``n`` bars with distinct (ticker, trade_date): half ETF bars, half stock bars.

    Ordered as collectors publish them: ticker by ticker would be unrealistically friendly to
    the refresh of ``price_change_percent``, so tickers are interleaved, each in date order.
    """
    rng = random.Random(seed)
    days = -(-n // tickers)
    out: list[Message] = []
    start = date(2020, 1, 1)
    for d in range(days):
        day = start + timedelta(days=d)
        for t in range(tickers):
            if len(out) == n:
                return out
            close = round(rng.uniform(5, 900), 2)
            common: dict[str, Any] = {
                "trade_date": day, "open": close, "high": round(close * 1.01, 2),
                "low": round(close * 0.99, 2), "close": close, "adj_close": close,
                "volume": rng.randrange(10**9), "source": "bench",
            }
            if t % 2 == 0:
                out.append(EtfDaily(ticker=f"E{t:04d}", **common))
            else:
                out.append(StockDaily(ticker=f"S{t:04d}", company_name=f"Company {t}",
                                      sector="Technology", currency="USD", **common))
    return out


def bar_row(m: Message) -> tuple[Any, ...]:
    assert isinstance(m, EtfDaily | StockDaily)
    return (m.ticker, m.trade_date, m.open, m.high, m.low, m.close, m.adj_close, m.volume,
            m.source)


# --------------------------------------------------------------------------- 1. the Kafka path


@dataclass
class KafkaPath:
    messages: int
    produce_s: float
    consume_s: float
    first_batch_s: float
    batches: int
    rows_written: int
    dead_lettered: int
    cpu_s: dict[str, float]  # CPU seconds by process while consuming

    @property
    def rows_per_s(self) -> float:
        return self.rows_written / self.consume_s

    @property
    def steady_rows_per_s(self) -> float:
        return self.rows_written / max(1e-9, self.consume_s - self.first_batch_s)

    @property
    def end_to_end_rows_per_s(self) -> float:
        return self.rows_written / (self.produce_s + self.consume_s)


async def bench_kafka_path(
    pg: PgServer, bootstrap: str, pids: Pids, messages: list[Message], batch_size: int,
    batch_ms: int, writers: int
) -> KafkaPath:
    """Publish ``messages``, then time a new consumer group reading exactly those."""
    url = await create_database(pg, "bench", migrated=True)
    await ensure_topics(bootstrap)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    await skip_to_end(bootstrap, group)
    say(f"publishing {len(messages)} messages with KafkaBus (acks=all, idempotent)")
    bus = KafkaBus(bootstrap)
    started = time.perf_counter()
    await bus.publish_all(messages)
    await bus.close()
    produce_s = time.perf_counter() - started

    say(f"consuming them with trendfolio_consumer.Consumer (batch {batch_size}, {batch_ms} ms)")
    done = asyncio.Event()
    seen = BatchResult()
    batches: list[float] = []  # seconds from the consumer's start to each batch

    def on_batch(result: BatchResult) -> None:
        # called after the batch's DB commit and its offset commit
        batches.append(time.perf_counter() - started)
        for table, n in result.written.items():
            seen.written[table] = seen.written.get(table, 0) + n
        if seen.rows >= len(messages):
            done.set()

    consumer = Consumer(bootstrap, url, group, batch_size, batch_ms, on_batch=on_batch,
                        writers=writers)
    cpu_before = cpu_snapshot(pids)
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(done.wait(), timeout=1800)
    finally:
        consume_s = time.perf_counter() - started
        cpu = cpu_delta(cpu_before, cpu_snapshot(pids))
        consumer.stop()
        await asyncio.wait_for(task, timeout=60)
    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval(
            "SELECT (SELECT count(*) FROM collected_01_daily_etf_ohlc) + "
            "(SELECT count(*) FROM collected_06_daily_stock_history)")
    finally:
        await conn.close()
    if stored != len(messages):
        raise SystemExit(f"the consumer stored {stored} bars of {len(messages)}")
    return KafkaPath(len(messages), produce_s, consume_s, batches[0], len(batches),
                     consumer.total.rows, consumer.total.dead_lettered, cpu)


# --------------------------------------------------------------------------- 2. one row per commit


def _single_row_sql(table: str) -> str:
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in BAR_COLUMNS[2:])
    return (
        f"INSERT INTO {table} ({', '.join(BAR_COLUMNS)}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        f"ON CONFLICT (ticker, trade_date) DO UPDATE SET {updates}, updated_at = now()"
    )


_SINGLE_SQL = {t: _single_row_sql(t) for t in ("collected_01_daily_etf_ohlc",
                                               "collected_06_daily_stock_history")}


async def bench_one_row_per_commit(pg: PgServer, messages: Sequence[Message]) -> dict[str, Any]:
    url = await create_database(pg, "bench", migrated=True)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        for m in messages:
            table = ("collected_01_daily_etf_ohlc" if isinstance(m, EtfDaily)
                     else "collected_06_daily_stock_history")
            async with conn.transaction():  # its own transaction: one commit per row
                await conn.execute(_SINGLE_SQL[table], *bar_row(m))
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return {"rows": len(messages), "seconds": seconds, "rows_per_s": len(messages) / seconds}


# --------------------------------------------------------------------------- 3. raw COPY


async def bench_raw_copy(
    pg: PgServer, messages: Sequence[Message], price_type: str = "numeric(18, 6)"
) -> dict[str, Any]:
    """COPY the bars into a table with no index, no key and no constraint."""
    url = await create_database(pg, "bench")
    rows = [bar_row(m) for m in messages]
    conn = await asyncpg.connect(url)
    try:
        prices = ", ".join(f"{c} {price_type}" for c in BAR_COLUMNS[2:7])
        await conn.execute(f"CREATE TABLE raw_bars (ticker varchar(32), trade_date date, "
                           f"{prices}, volume bigint, source varchar(64))")
        started = time.perf_counter()
        await conn.copy_records_to_table("raw_bars", records=rows, columns=list(BAR_COLUMNS))
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return {"rows": len(rows), "seconds": seconds, "rows_per_s": len(rows) / seconds,
            "price_type": price_type}


async def bench_writer_alone(pg: PgServer, messages: Sequence[Message], batch_size: int
                             ) -> dict[str, Any]:
    """The consumer's decode + write code on the same records, without Kafka or the loop."""
    url = await create_database(pg, "bench", migrated=True)
    records = [RawRecord(topic_of(m), 0, i, key_of(m).encode(), encode(m))
               for i, m in enumerate(messages)]
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        rows = 0
        for i in range(0, len(records), batch_size):
            rows += (await write_batch(conn, records[i : i + batch_size])).rows
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}




def _machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}


def report(args: argparse.Namespace, kp: KafkaPath, single: dict[str, Any],
           copy: dict[str, Any], copy_f8: dict[str, Any], alone: dict[str, Any],
           versions: dict[str, str]) -> str:
    vs_single = kp.rows_per_s / single["rows_per_s"]
    vs_copy = kp.rows_per_s / copy["rows_per_s"]
    ok_rate = kp.rows_per_s >= TARGET_ROWS_PER_S
    ok_ratio = vs_single >= TARGET_RATIO
    m = _machine()
    lines = [
        f"Ingest of {kp.messages:,} bar messages (half ETF, half stock; distinct natural keys) "
        f"on {m['cores']} cores ({m['cpu']}), PostgreSQL {versions['postgres']}, "
        f"Kafka {versions['kafka']}; consumer batch {args.batch_size} / {args.batch_ms} ms, "
        f"{args.writers} writers ({kp.batches} batches written).",
        "",
        "| path | rows | seconds | rows/s |",
        "| --- | ---: | ---: | ---: |",
        f"| Kafka → Consumer → PostgreSQL (from consumer start to last commit) | "
        f"{kp.rows_written:,} | {kp.consume_s:.2f} | **{kp.rows_per_s:,.0f}** |",
        f"| … same, after the first batch (group join excluded) | {kp.rows_written:,} | "
        f"{kp.consume_s - kp.first_batch_s:.2f} | {kp.steady_rows_per_s:,.0f} |",
        f"| publish with KafkaBus (acks=all, idempotent, lz4) | {kp.messages:,} | "
        f"{kp.produce_s:.2f} | {kp.messages / kp.produce_s:,.0f} |",
        f"| end to end: publish, then consume | {kp.rows_written:,} | "
        f"{kp.produce_s + kp.consume_s:.2f} | {kp.end_to_end_rows_per_s:,.0f} |",
        f"| one INSERT … ON CONFLICT per row, one commit each (asyncpg) | {single['rows']:,} | "
        f"{single['seconds']:.2f} | {single['rows_per_s']:,.0f} |",
        f"| raw COPY into an unindexed table (prices double precision, as in the tables) | "
        f"{copy_f8['rows']:,} | {copy_f8['seconds']:.2f} | {copy_f8['rows_per_s']:,.0f} |",
        f"| raw COPY into an unindexed table (prices numeric(18, 6), encoded by asyncpg) | "
        f"{copy['rows']:,} | {copy['seconds']:.2f} | {copy['rows_per_s']:,.0f} |",
        f"| the consumer's decode + write code alone, same batches, no Kafka | "
        f"{alone['rows']:,} | {alone['seconds']:.2f} | {alone['rows_per_s']:,.0f} |",
        "",
        f"CPU seconds while consuming (per {kp.messages:,} rows): consumer (Python) "
        f"{kp.cpu_s['consumer']:.2f}, PostgreSQL {kp.cpu_s['postgres']:.2f}, broker "
        f"{kp.cpu_s['broker']:.2f}; other programs on the machine meanwhile "
        f"{kp.cpu_s['others']:.2f} (of {(os.cpu_count() or 1) * kp.consume_s:.2f} core-seconds); "
        f"load average (1 min) "
        f"before the run {args.load_before:.2f}.",
        "",
        "| ratio | value | target | met |",
        "| --- | ---: | ---: | :---: |",
        f"| Kafka path rows/s | {kp.rows_per_s:,.0f} | ≥ {TARGET_ROWS_PER_S:,} | "
        f"{'yes' if ok_rate else '**no**'} |",
        f"| Kafka path / one-row-per-commit | {vs_single:.1f}× | ≥ {TARGET_RATIO:.0f}× | "
        f"{'yes' if ok_ratio else '**no**'} |",
        f"| Kafka path / raw COPY (double precision) | "
        f"{kp.rows_per_s / copy_f8['rows_per_s']:.2f}× | — | — |",
        f"| Kafka path / raw COPY (numeric) | {vs_copy:.2f}× | — | — |",
    ]
    return "\n".join(lines) + "\n"


async def amain(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    messages = make_messages(args.messages, args.tickers, args.seed)
    args.load_before = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="trendfolio-bench-ingest-"))
    try:
        with services(workdir) as (pg, bootstrap, ds, pids):
            conn = await asyncpg.connect(pg.url())
            try:
                pg_version = str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()
            versions = {"postgres": pg_version, "kafka": str(ds.kafka_version())}
            if args.warmup:
                # A broker in service has long since compiled its fetch path; a fresh JVM spends
                # a CPU-second or more in its JIT compilers during the first fetches, on the
                # same two cores the consumer and PostgreSQL need. Warm it up, unmeasured.
                say(f"warm-up: {args.warmup} messages through the same broker (not measured)")
                warm = make_messages(args.warmup, args.tickers, args.seed + 1)
                await bench_kafka_path(pg, bootstrap, pids, warm, args.batch_size, args.batch_ms,
                                       args.writers)
            kp = await bench_kafka_path(pg, bootstrap, pids, messages, args.batch_size,
                                        args.batch_ms, args.writers)
            say(f"Kafka path: {kp.rows_per_s:,.0f} rows/s, CPU seconds {kp.cpu_s}")
            say(f"one row per commit: {args.single} rows")
            single = await bench_one_row_per_commit(pg, messages[: args.single])
            say(f"raw COPY: {len(messages)} rows")
            copy = await bench_raw_copy(pg, messages)
            copy_f8 = await bench_raw_copy(pg, messages, "double precision")
            say("decode + write without Kafka")
            alone = await bench_writer_alone(pg, messages, args.batch_size)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    text = report(args, kp, single, copy, copy_f8, alone, versions)
    print(text)
    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": _machine(),
        "load_average_1m_before": round(args.load_before, 2),
        "versions": versions,
        "parameters": {"messages": args.messages, "tickers": args.tickers,
                       "single_sample": args.single, "warmup": args.warmup,
                       "batch_size": args.batch_size,
                       "batch_ms": args.batch_ms, "writers": args.writers,
                       "seed": args.seed},
        "kafka_path": {**asdict(kp), "rows_per_s": kp.rows_per_s,
                       "steady_rows_per_s": kp.steady_rows_per_s,
                       "end_to_end_rows_per_s": kp.end_to_end_rows_per_s},
        "one_row_per_commit": single,
        "raw_copy": copy,
        "raw_copy_double_precision": copy_f8,
        "decode_and_write_without_kafka": alone,
        "ratios": {"kafka_vs_one_row_per_commit": kp.rows_per_s / single["rows_per_s"],
                   "kafka_vs_raw_copy": kp.rows_per_s / copy["rows_per_s"],
                   "kafka_vs_raw_copy_double_precision": kp.rows_per_s / copy_f8["rows_per_s"]},
        "targets": {"rows_per_s": TARGET_ROWS_PER_S, "vs_one_row_per_commit": TARGET_RATIO,
                    "rows_per_s_met": kp.rows_per_s >= TARGET_ROWS_PER_S,
                    "ratio_met": kp.rows_per_s / single["rows_per_s"] >= TARGET_RATIO},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    say(f"wrote {RESULTS}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--tickers", type=int, default=250)
    p.add_argument("--warmup", type=int, default=50_000,
                   help="messages through the broker before the measured run (0: none)")
    p.add_argument("--single", type=int, default=5_000, help="rows for one-row-per-commit")
    p.add_argument("--batch-size", type=int, default=5000)
    p.add_argument("--batch-ms", type=int, default=500)
    p.add_argument("--writers", type=int, default=Settings.model_fields["consumer_writers"].default,
                   help="the consumer's PostgreSQL writers (default: the setting's default)")
    p.add_argument("--seed", type=int, default=20260820)
    return asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
