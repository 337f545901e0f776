#!/usr/bin/env python3
"""API latency and throughput: ``/stocks/portfolio`` under load on loopback.

    .venv/bin/python bench/bench_api.py [--rate 500] [--seconds 20] [--wrk-seconds 10]

Measured in one run, on one PostgreSQL started here on 127.0.0.1 (stopped by PID at the end),
filled by the real pipeline (`trendfolio backfill`, one session; the real 2026 market when it is
beside the repository, else the `sample` source), read through the read-only role:

1. the API as shipped: `trendfolio serve api` (one uvicorn worker, asyncpg pool);
2. the seed's way: an `async def` handler blocking the loop on psycopg with a new connection
   per request (bench/api_blocking_baseline.py), one uvicorn worker, the same queries and JSON.

For each: closed-loop throughput with wrk (Debian's `wrk`; a Python closed-loop client when it
is missing), then an open-loop run at a fixed rate (default 500 requests/s) from a Python
asyncio generator that times each request from its *scheduled* send time, so a stalled server
cannot hide its queueing (no coordinated omission). The generator, wrk, both servers and
PostgreSQL share the same 2 cores; on a busy shared machine, `nice -n -10` (as root) keeps
other jobs from dominating the timings (children inherit it), and the niceness and load average
are recorded with the results. Prints Markdown on stdout, writes bench/results/api.json.
Targets from the issue: p99 <= 15 ms at 500 requests/s and >= 5x the blocking handler's
throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support
from tests.support.net import free_port
from tests.support.paths import MARKET_2026, REPO, TRENDFOLIO, VENV_BIN

RESULTS = REPO / "bench" / "results" / "api.json"
DAY = "2026-08-20"
PATH = "/stocks/portfolio?period_days=20"
TARGET_P99_MS, TARGET_RATIO = 15.0, 5.0
sys.path.insert(0, str(REPO / "lib"))

from trendfolio.db.server import PgServer  # noqa: E402


def say(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_LOG_LEVEL="WARNING", **extra)
    return env


def _cli(home: Path, env: dict[str, str], *args: str) -> None:
    proc = subprocess.run([str(TRENDFOLIO), *args],
                          env=_env(TRENDFOLIO_HOME=str(home), **env),
                          capture_output=True, text=True, timeout=1200, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"trendfolio {' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def _start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{PATH}", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{' '.join(cmd)} did not start:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Conn:
    """One keep-alive HTTP/1.1 connection; just enough client to time GETs cheaply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def get(self, path: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length:\s*(\d+)", head)
        if length is None:
            raise RuntimeError(f"no content-length in {head[:200]!r}")
        await self.reader.readexactly(int(length.group(1)))
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def open_loop(port: int, rate: float, seconds: float, conns: int = 64) -> dict[str, Any]:
    """Requests at a fixed schedule over ``conns`` keep-alive connections (wrk2's model).

    Request i is due at start + i/rate; a free connection sends it at once if it is late, or at
    its time; its latency runs from when it was *due*, so a server that falls behind shows its
    queueing instead of slowing the generator down (no coordinated omission).
    """
    clock = time.perf_counter  # uvloop's loop.time() only has millisecond resolution
    n = int(rate * seconds)
    start = clock() + 0.2
    due = iter(start + i / rate for i in range(n))
    stop_at = start + seconds + 10
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def worker() -> None:
        conn = await Conn.open(port)
        for scheduled in due:  # one shared iterator: each due time is taken by one worker
            if clock() > stop_at:
                break  # hopelessly behind (the blocking handler): stop, count what is left
            wait = scheduled - clock()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                status = await conn.get(PATH)
            except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
                errors[type(exc).__name__] += 1
                conn.close()
                conn = await Conn.open(port)
                continue
            latencies.append(clock() - scheduled)
            if status != 200:
                errors[f"HTTP {status}"] += 1
        conn.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = clock() - start
    ms = [x * 1000 for x in latencies]
    return {"rate_target": rate, "seconds": seconds, "connections": conns, "sent": n,
            "completed": len(ms), "not_sent_in_time": n - len(ms) - sum(errors.values()),
            "errors": sum(errors.values()), "error_kinds": dict(errors),
            "achieved_per_s": len(ms) / elapsed if elapsed > 0 else 0.0,
            "p50_ms": _pct(ms, 0.50), "p90_ms": _pct(ms, 0.90), "p99_ms": _pct(ms, 0.99),
            "max_ms": max(ms) if ms else float("nan"),
            "mean_ms": statistics.fmean(ms) if ms else float("nan")}


async def closed_loop(port: int, seconds: float, conns: int) -> dict[str, Any]:
    """Fallback when wrk is missing: ``conns`` clients, each sending back to back."""
    clock = time.perf_counter
    end = clock() + seconds
    latencies: list[float] = []

    async def client() -> None:
        conn = await Conn.open(port)
        while clock() < end:
            t0 = clock()
            await conn.get(PATH)
            latencies.append(clock() - t0)
        conn.close()

    t0 = clock()
    await asyncio.gather(*(client() for _ in range(conns)))
    ms = [x * 1000 for x in latencies]
    return {"tool": "python", "connections": conns, "seconds": seconds,
            "requests_per_s": len(ms) / (clock() - t0), "requests": len(ms),
            "p50_ms": _pct(ms, 0.5), "p99_ms": _pct(ms, 0.99)}


def wrk(port: int, seconds: int, conns: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return asyncio.run(closed_loop(port, seconds, conns))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{PATH}"],
        capture_output=True, text=True, timeout=seconds + 60, check=True).stdout

    def latency(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if m is None:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"tool": "wrk", "connections": conns, "seconds": seconds,
            "requests_per_s": float(rps.group(1)) if rps else 0.0,
            "requests": int(total.group(1)) if total else 0,
            "p50_ms": latency("50"), "p99_ms": latency("99"),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else None}


def _server_buckets(port: int) -> dict[float, float]:
    """The API's own latency histogram for the route (cumulative counts by upper bound, s)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r'^trendfolio_api_request_seconds_bucket\{le="([^"]+)",method="GET",'
                         r'route="/stocks/portfolio"\} ([\d.e+]+)$', text, re.MULTILINE):
        out[float(m.group(1))] = float(m.group(2))
    return out


def _bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The upper bound (ms) of the histogram bucket holding quantile ``q`` of a run."""
    delta = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = delta[-1][1] if delta else 0.0
    for le, count in delta:
        if total and count >= q * total:
            return le * 1000
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}


def _fetch(port: int) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{PATH}", timeout=10) as r:
        return json.loads(r.read())


async def _settle(url: str) -> None:
    """After the load: statistics and a checkpoint now, not autovacuum in the middle of a run."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _create_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')  # a fixed name, not input
    finally:
        await conn.close()


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    pg = PgServer(tmp / "pg")
    pg.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(_create_database(pg.url("postgres"), "bench"))
        url = pg.url("bench")
        reader = url.replace(url.split("@")[0],
                             f"postgresql://bench_reader:{quote(os.urandom(12).hex())}")
        source = f"csv:{MARKET_2026}" if (MARKET_2026 / "prices.csv").exists() else "sample"
        say(f"loading one session ({source}) with trendfolio backfill")
        _cli(tmp / "home", {"TRENDFOLIO_DATABASE_URL": url}, "--source", source,
             "--universe", "spdr", "backfill", "--start", DAY, "--end", DAY)
        _cli(tmp / "home", {"TRENDFOLIO_DATABASE_URL": url,
                            "TRENDFOLIO_READONLY_DATABASE_URL": reader}, "db", "migrate")
        asyncio.run(_settle(url))

        api_port, base_port = free_port(), free_port()
        procs.append(_start(
            [str(TRENDFOLIO), "serve", "api", "--host", "127.0.0.1", "--port",
             str(api_port)],
            _env(TRENDFOLIO_HOME=str(tmp / "home"), TRENDFOLIO_DATABASE_URL=url,
                 TRENDFOLIO_READONLY_DATABASE_URL=reader), api_port, tmp / "api.log"))
        procs.append(_start(
            [str(VENV_BIN / "python"), "-m", "uvicorn", "api_blocking_baseline:app", "--app-dir",
             str(REPO / "bench"), "--host", "127.0.0.1", "--port", str(base_port),
             "--workers", "1", "--log-level", "warning", "--no-access-log"],
            _env(BENCH_BASELINE_DATABASE_URL=reader), base_port, tmp / "baseline.log"))
        api_rows, base_rows = _fetch(api_port), _fetch(base_port)
        same = [(r["ticker"], r["weight"]) for r in api_rows] == [
            (r["ticker"], r["weight"]) for r in base_rows]
        if not api_rows or not same:
            raise RuntimeError("the API and the baseline disagree (or there is no portfolio)")
        say(f"both servers answer with the same {len(api_rows)}-stock portfolio")

        out: dict[str, Any] = {"source": source, "rows_per_response": len(api_rows)}
        servers = (("api", api_port, procs[0].pid), ("blocking", base_port, procs[1].pid))
        for name, port, pid in servers:
            say(f"{name}: warm-up (load average {os.getloadavg()[0]:.1f})")
            asyncio.run(open_loop(port, 100, 2))
            say(f"{name}: closed-loop throughput ({args.wrk_seconds}s, {args.conns} connections)")
            cpu0 = _cpu_seconds(pid)
            thr = wrk(port, args.wrk_seconds, args.conns)
            # Server CPU per request: what the load costs the server whatever else runs here.
            thr["server_cpu_ms_per_request"] = (
                1000 * (_cpu_seconds(pid) - cpu0) / max(thr["requests"], 1))
            time.sleep(1)
            seconds = args.seconds
            say(f"{name}: open loop at {args.rate}/s for {seconds}s")
            buckets = _server_buckets(port) if name == "api" else {}
            fixed = asyncio.run(open_loop(port, args.rate, seconds))
            if name == "api":
                # Inside the server (request in to response out), from its own /metrics.
                after = _server_buckets(port)
                fixed["server_side_p50_ms_at_most"] = _bucket_quantile(buckets, after, 0.5)
                fixed["server_side_p99_ms_at_most"] = _bucket_quantile(buckets, after, 0.99)
            out[name] = {"throughput": thr, "fixed_rate": fixed,
                         "load_average_1m_after": os.getloadavg()[0]}
            say(f"{name}: {thr['requests_per_s']:.0f} req/s closed loop; at {args.rate}/s "
                f"p50 {fixed['p50_ms']:.2f} ms p99 {fixed['p99_ms']:.2f} ms")
        return out
    finally:
        for p in procs:
            _stop(p)
        pg.stop(mode="immediate")


def report(result: dict[str, Any]) -> str:
    a, b = result["api"], result["blocking"]
    r = result["ratios"]
    t = result["targets"]
    lines = [
        f"`GET {PATH}` ({result['measurement']['rows_per_response']} rows per response, "
        f"{result['measurement']['source']}), one uvicorn worker each, loopback, "
        f"{result['machine']['cores']} cores shared by load generator, server and PostgreSQL; "
        f"1-minute load average after the runs: {a['load_average_1m_after']:.1f} (shipped), "
        f"{b['load_average_1m_after']:.1f} (blocking); niceness {result['niceness']}.",
        "",
        "| handler | closed-loop req/s | closed-loop p50 / p99 ms | server CPU ms/request | "
        "fixed rate | achieved/s | p50 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in (("asyncpg pool (shipped)", a), ("blocking, connection per request", b)):
        th, fx = m["throughput"], m["fixed_rate"]
        lines.append(
            f"| {name} | {th['requests_per_s']:.0f} | {th['p50_ms']:.2f} / {th['p99_ms']:.2f} | "
            f"{th['server_cpu_ms_per_request']:.2f} | "
            f"{fx['rate_target']:.0f}/s | {fx['achieved_per_s']:.0f} | {fx['p50_ms']:.2f} | "
            f"{fx['p99_ms']:.2f} | {fx['max_ms']:.1f} | {fx['errors']} |")
    lines += [
        "",
        f"Throughput ratio (closed loop, same run): **{r['throughput_vs_blocking']:.1f}×** "
        f"(target ≥ {TARGET_RATIO:.0f}×: {'met' if t['ratio_met'] else 'NOT met'}). "
        f"p99 at {a['fixed_rate']['rate_target']:.0f}/s: **{a['fixed_rate']['p99_ms']:.2f} ms** "
        f"(target ≤ {TARGET_P99_MS:.0f} ms: {'met' if t['p99_met'] else 'NOT met'}); inside "
        f"the server (its own histogram) p50 ≤ {a['fixed_rate']['server_side_p50_ms_at_most']:g} "
        f"ms, p99 ≤ {a['fixed_rate']['server_side_p99_ms_at_most']:g} ms.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=500.0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--wrk-seconds", type=int, default=10)
    p.add_argument("--conns", type=int, default=32)
    args = p.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        m = measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = m["api"]["throughput"]["requests_per_s"] / max(
        m["blocking"]["throughput"]["requests_per_s"], 1e-9)
    p99 = m["api"]["fixed_rate"]["p99_ms"]
    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": _machine(),
        "parameters": vars(args),
        "niceness": os.nice(0),
        "measurement": {"source": m["source"], "rows_per_response": m["rows_per_response"]},
        "api": m["api"],
        "blocking": m["blocking"],
        "ratios": {"throughput_vs_blocking": ratio},
        "targets": {"p99_ms": TARGET_P99_MS, "vs_blocking": TARGET_RATIO,
                    "p99_met": p99 <= TARGET_P99_MS, "ratio_met": ratio >= TARGET_RATIO},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    say(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
