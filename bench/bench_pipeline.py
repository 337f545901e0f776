"""`trendfolio run` for one session on the embedded default from csv:, next to a bare Spark start.

Usage: .venv/bin/python bench/bench_pipeline.py [--data ../shared/data/market-2026]
Targets (issue: foundation): <= 60 s wall time and <= 3 GiB peak memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support
from measure import measure
from tests.support.paths import MARKET_2026, REPO, TRENDFOLIO, VENV_BIN

PY = str(VENV_BIN / "python")
CLI = str(TRENDFOLIO)
BARE_SPARK = (
    "from trendfolio.config import load_settings\n"
    "from trendfolio_jobs.session import get_spark, stop_spark\n"
    "spark = get_spark(load_settings())\n"
    "spark.range(10).count()\n"
    "stop_spark()\n"
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(MARKET_2026))
    ap.add_argument("--date", default="2026-08-20")
    ap.add_argument("--universe", default="spdr")
    args = ap.parse_args()
    if not (Path(args.data) / "prices.csv").exists():
        print(f"bench_pipeline: no data at {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="trendfolio-bench-"))
    try:
        env = {"TRENDFOLIO_HOME": str(home), "TRENDFOLIO_LOG_LEVEL": "WARNING"}
        # The JDBC driver is resolved once per home; warm it so both runs compare like with like.
        measure([PY, "-c", BARE_SPARK], env)
        bare = measure([PY, "-c", BARE_SPARK], env)
        run_cmd = [CLI, "--source", f"csv:{args.data}", "--universe", args.universe, "run",
                   "--date", args.date]
        first = measure(run_cmd, env)
        second = measure(run_cmd, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result = {
        "date": args.date, "universe": args.universe,
        "bare_spark_s": round(bare.seconds, 2),
        "bare_spark_peak_gib": round(bare.peak_rss_gib, 2),
        "run_first_s": round(first.seconds, 2),
        "run_first_peak_gib": round(first.peak_rss_gib, 2),
        "run_again_s": round(second.seconds, 2),
        "run_again_peak_gib": round(second.peak_rss_gib, 2),
        "run_over_bare_spark": round(first.seconds / bare.seconds, 2),
    }
    out = REPO / "bench" / "results" / "pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print("| measurement | wall time | peak memory |\n|---|---|---|")
    print(f"| bare Spark session start + stop | {bare.seconds:.1f} s "
          f"| {bare.peak_rss_gib:.2f} GiB |")
    print(f"| `trendfolio run` fresh home ({args.universe}, {args.date}) | {first.seconds:.1f} s "
          f"| {first.peak_rss_gib:.2f} GiB |")
    print(f"| `trendfolio run` again (idempotent rerun) | {second.seconds:.1f} s "
          f"| {second.peak_rss_gib:.2f} GiB |")
    print(f"\nrun / bare Spark start: {result['run_over_bare_spark']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
