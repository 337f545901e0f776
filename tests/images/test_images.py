"""Every image, run as the chart runs it (UID 10001 or the image's own, read-only root, no
capabilities, no network but the loopback shared with the test's PostgreSQL container):

- the migrate entrypoint migrates and creates the read-only role;
- collector and Spark stage containers run stages 1–5 for 2026-08-20 on ``csv:`` data mounted
  read-only, and every row equals the embedded run's (the `trendfolio` of the dev virtualenv);
- the API and the dashboard answer ``/health`` and a real request;
- the consumer ingests what a collector publishes to the real broker and commits it;
- Airflow's image loads the DAGs.

The images come from `make images`; without them (or without podman/docker) these tests skip.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.support.containers import (
    AIRFLOW_UID,
    KAFKA_UID,
    POSTGRES_UID,
    TRENDFOLIO_UID,
    Containers,
    containers,
    engine,
    http_get,
    image,
)
from tests.support.databases import create_database
from tests.support.paths import TRENDFOLIO

pytestmark = pytest.mark.images

DAY = "2026-08-20"
STAGES = ("benchmark", "sector", "trending", "holdings", "allocation")
SPARK_STAGES = {"trending", "allocation"}
TABLES = {  # table → its natural key, the order rows are compared in
    "collected_01_daily_etf_ohlc": "ticker, trade_date",
    "collected_04_etf_holdings": "etf_ticker, as_of_date, holding_ticker",
    "collected_06_daily_stock_history": "ticker, trade_date",
    "collected_07_stock_fundamentals": "ticker, as_of_date",
    "analytics_03_trending_etfs": "etf_ticker, as_of_date, period",
    "analytics_05_portfolio_allocation": "as_of_date, ticker, period_days",
}
KRAFT = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=/var/lib/kafka/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
"""


@dataclass
class Stack:
    c: Containers
    pg: str  # the PostgreSQL container, whose loopback every other container shares
    password: str
    reader_password: str
    market: Path

    def url(self, db: str = "trendfolio", reader: bool = False) -> str:
        if reader:
            return f"postgresql://trendfolio_reader:{self.reader_password}@127.0.0.1:5432/{db}"
        return f"postgresql://trendfolio:{self.password}@127.0.0.1:5432/{db}"

    def psql(self, sql: str, db: str = "trendfolio") -> str:
        got = self.c.exec(self.pg, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", "trendfolio",
                          "-d", db, "-At", "-c", sql)
        assert got.returncode == 0, got.stderr
        return got.stdout

    def trendfolio(self, name: str, *args: str, db: str = "trendfolio",
                   env: dict[str, str] | None = None,
                   entrypoint: str | None = None) -> subprocess.CompletedProcess[str]:
        """Image ``name`` run to its end as a stage pod runs: home and /tmp as emptyDirs."""
        mounts: dict[str, Path | str] = {"/tmp": self.c.scratch("tmp", TRENDFOLIO_UID)}
        if name != "spark-jobs":  # the Spark image's home is baked in, read-only
            mounts["/var/lib/trendfolio"] = self.c.scratch("home", TRENDFOLIO_UID)
        run = self.c.run(
            image(name), *args, network=self.pg, mounts=mounts,
            read_only_mounts={self.market: "/data"},
            env={"TRENDFOLIO_DATABASE_URL": self.url(db), "TRENDFOLIO_SOURCE": "csv:/data",
                 "TRENDFOLIO_UNIVERSE": "spdr", "TRENDFOLIO_LOG_LEVEL": "WARNING",
                 **(env or {})},
            entrypoint=entrypoint,
        )
        return subprocess.CompletedProcess(args, run.returncode, run.stdout, run.stderr)


def need(exe: str, *names: str) -> None:
    """Skip, naming them, when images a test runs were not built (CI builds what fits)."""
    missing = [n for n in names
               if subprocess.run([exe, "image", "inspect", image(n)], capture_output=True,
                                 check=False).returncode != 0]
    if missing:
        pytest.skip(f"images not built: {', '.join(missing)} (make images)")


@pytest.fixture(scope="module")
def stack(market_2026: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    exe = engine()
    if exe is None:
        pytest.skip("neither podman nor docker can run containers here (make images says how)")
    need(exe, "postgres")
    root = tmp_path_factory.mktemp("containers")
    root.chmod(0o755)
    with containers(exe, root) as c:
        password, reader = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        pg = c.start(
            "postgres", image("postgres"), uid=POSTGRES_UID,
            mounts={"/var/lib/postgresql/data": c.scratch("pgdata", POSTGRES_UID),
                    "/var/run/postgresql": c.scratch("pgrun", POSTGRES_UID),
                    "/tmp": c.scratch("pgtmp", POSTGRES_UID)},
            env={"POSTGRES_USER": "trendfolio", "POSTGRES_PASSWORD": password,
                 "POSTGRES_DB": "trendfolio", "PGDATA": "/var/lib/postgresql/data/pgdata"},
        )
        c.wait_for(pg, "pg_isready", "-h", "127.0.0.1", "-U", "trendfolio", "-d", "trendfolio")
        yield Stack(c, pg, password, reader, market_2026)


@pytest.fixture(scope="module")
def embedded(pg_server: object, market_2026: Path,
             tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same stages run by the dev virtualenv's `trendfolio`, in a database of its own."""
    from trendfolio.db.server import PgServer

    assert isinstance(pg_server, PgServer)
    url = asyncio.run(create_database(pg_server, "images", migrated=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_DATABASE_URL=url, TRENDFOLIO_LOG_LEVEL="WARNING",
               TRENDFOLIO_HOME=str(tmp_path_factory.mktemp("embedded-home")))
    proc = subprocess.run(
        [str(TRENDFOLIO), "--source", f"csv:{market_2026}", "--universe", "spdr", "run",
         "--date", DAY, "--stages", ",".join(STAGES)],
        capture_output=True, text=True, timeout=900, check=False, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return url


async def _columns(url: str, table: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
            "ORDER BY ordinal_position", table)
    finally:
        await conn.close()
    return [r[0] for r in rows if r[0] != "id" and not r[0].endswith("_at")]


def _select(table: str, columns: list[str], where: str = "") -> str:
    return f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY {TABLES[table]}"


def _dump_in_container(stack: Stack, select: str, db: str = "trendfolio") -> str:
    """The rows as the server writes them in CSV (the same rules on both servers)."""
    got = stack.c.exec(stack.pg, "psql", "-X", "-U", "trendfolio", "-d", db, "-c",
                       f"COPY ({select}) TO STDOUT WITH (FORMAT csv)")
    assert got.returncode == 0, got.stderr
    return got.stdout


async def _dump_embedded(url: str, select: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        out = io.BytesIO()
        await conn.copy_from_query(select, output=out, format="csv")
    finally:
        await conn.close()
    return out.getvalue().decode()


def test_the_migrate_entrypoint_migrates_and_creates_the_reader(stack: Stack) -> None:
    need(stack.c.exe, "collector")
    # the chart's migrate Job: the collector image with the command `trendfolio db migrate`
    got = stack.trendfolio("collector", "db", "migrate", entrypoint="trendfolio",
                           env={"TRENDFOLIO_READONLY_DATABASE_URL": stack.url(reader=True)})
    assert got.returncode == 0, got.stderr
    assert stack.psql("SELECT rolname FROM pg_roles WHERE rolname = 'trendfolio_reader'") == (
        "trendfolio_reader\n")
    assert stack.psql("SELECT count(*) FROM analytics_05_portfolio_allocation") == "0\n"


def test_stage_containers_write_what_the_embedded_run_writes(stack: Stack, embedded: str) -> None:
    need(stack.c.exe, "collector", "spark-jobs")
    for name in STAGES:
        img = "spark-jobs" if name in SPARK_STAGES else "collector"
        got = stack.trendfolio(img, name, "--date", DAY)
        assert got.returncode == 0, f"{img} {name}: {got.stderr[-3000:]}"
    assert int(stack.psql("SELECT count(*) FROM analytics_05_portfolio_allocation")) > 0
    for table in TABLES:
        select = _select(table, asyncio.run(_columns(embedded, table)))
        rows = _dump_in_container(stack, select)
        assert rows and rows == asyncio.run(_dump_embedded(embedded, select)), table


def test_the_api_answers_health_and_a_portfolio(stack: Stack) -> None:
    need(stack.c.exe, "api")
    api = stack.c.start("api", image("api"), network=stack.pg,
                        mounts={"/tmp": stack.c.scratch("tmp", TRENDFOLIO_UID),
                                "/var/lib/trendfolio": stack.c.scratch("home", TRENDFOLIO_UID)},
                        env={"TRENDFOLIO_READONLY_DATABASE_URL": stack.url(reader=True)})
    stack.c.wait_for(api, "python3", "-c", "import urllib.request; "
                     "urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=5)")
    status, body = http_get(stack.c, api, "http://127.0.0.1:8000/health")
    assert status == 200 and '"database"' in body, body
    status, body = http_get(
        stack.c, api, f"http://127.0.0.1:8000/stocks/portfolio?period_days=20&as_of_date={DAY}")
    assert status == 200, body
    tickers = stack.psql("SELECT ticker FROM analytics_05_portfolio_allocation WHERE "
                         f"period_days = 20 AND as_of_date = '{DAY}' ORDER BY ticker").split()
    assert tickers and all(f'"{t}"' in body for t in tickers), body


def test_the_dashboard_answers_through_the_api(stack: Stack) -> None:
    need(stack.c.exe, "dashboard")
    dash = stack.c.start("dashboard", image("dashboard"), network=stack.pg,
                         mounts={"/tmp": stack.c.scratch("tmp", TRENDFOLIO_UID),
                                 "/var/lib/trendfolio": stack.c.scratch("home", TRENDFOLIO_UID)},
                         env={"TRENDFOLIO_API_URL": "http://127.0.0.1:8000"})
    stack.c.wait_for(dash, "python3", "-c", "import urllib.request; "
                     "urllib.request.urlopen('http://127.0.0.1:8050/', timeout=5)")
    status, page = http_get(stack.c, dash, "http://127.0.0.1:8050/")
    assert status == 200 and "<html" in page.lower()
    status, layout = http_get(stack.c, dash, "http://127.0.0.1:8050/_dash-layout")
    assert status == 200 and "tabs" in layout.lower()


def test_the_consumer_ingests_from_the_broker_and_commits(stack: Stack, embedded: str) -> None:
    need(stack.c.exe, "kafka", "consumer", "collector")
    config = stack.c.scratch("kafka-config", KAFKA_UID)
    (config / "server.properties").write_text(KRAFT)
    (config / "server.properties").chmod(0o644)
    config.chmod(0o755)
    start = ("set -e; /opt/kafka/bin/kafka-storage.sh format --ignore-formatted "
             "--config /etc/kafka/server.properties "
             "--cluster-id=$(/opt/kafka/bin/kafka-storage.sh random-uuid); "
             "exec /opt/kafka/bin/kafka-server-start.sh /etc/kafka/server.properties")
    kafka = stack.c.start("kafka", image("kafka"), "-c", start, uid=KAFKA_UID, network=stack.pg,
                          entrypoint="/bin/bash",
                          mounts={"/var/lib/kafka/data": stack.c.scratch("kdata", KAFKA_UID),
                                  "/tmp": stack.c.scratch("ktmp", KAFKA_UID)},
                          read_only_mounts={config: "/etc/kafka"},
                          env={"KAFKA_HEAP_OPTS": "-Xms256m -Xmx512m"})
    stack.c.wait_for(kafka, "bash", "-c", "</dev/tcp/127.0.0.1/9092", timeout=180)
    stack.psql("CREATE DATABASE ingest")
    bootstrap = {"TRENDFOLIO_KAFKA_BOOTSTRAP": "127.0.0.1:9092"}
    consumer = stack.c.start(
        "consumer", image("consumer"), network=stack.pg,
        mounts={"/tmp": stack.c.scratch("tmp", TRENDFOLIO_UID),
                "/var/lib/trendfolio": stack.c.scratch("home", TRENDFOLIO_UID)},
        env={"TRENDFOLIO_DATABASE_URL": stack.url("ingest"), **bootstrap},
    )
    # the stage returns only once the consumer group has committed what it published
    got = stack.trendfolio("collector", "benchmark", "--date", DAY, db="ingest", env=bootstrap)
    assert got.returncode == 0, got.stderr[-3000:] + stack.c.logs(consumer)[-3000:]
    assert stack.c.running(consumer), stack.c.logs(consumer)[-3000:]
    table = "collected_01_daily_etf_ohlc"
    select = _select(table, asyncio.run(_columns(embedded, table)),
                     "WHERE ticker IN ('SPY', 'QQQ', 'IWM', 'DIA', 'EWY', 'SCHD')")
    ingested = _dump_in_container(stack, select, db="ingest")
    assert ingested and ingested == asyncio.run(_dump_embedded(embedded, select))
    assert stack.psql("SELECT count(*) FROM logs_consumer_error", db="ingest") == "0\n"


def test_the_airflow_image_loads_the_dags(stack: Stack) -> None:
    need(stack.c.exe, "airflow")
    probe = ("from airflow.dag_processing.dagbag import DagBag\n"
             "bag = DagBag(dag_folder='/opt/airflow/dags')\n"
             "assert not bag.import_errors, bag.import_errors\n"
             "print(' '.join(sorted(bag.dag_ids)))\n")
    got = stack.c.run(image("airflow"), "-c", probe, uid=AIRFLOW_UID, entrypoint="python3",
                      mounts={"/var/lib/trendfolio": stack.c.scratch("airflow", AIRFLOW_UID),
                              "/tmp": stack.c.scratch("atmp", AIRFLOW_UID)})
    assert got.returncode == 0, got.stderr[-3000:]
    # Airflow logs to stdout too: the DAG ids are the last line
    assert got.stdout.strip().splitlines()[-1].split() == [
        "trendfolio_daily", "trendfolio_weekly_holdings"]
