"""`make bench`: every benchmark in one go; results in bench/results/ and a Markdown summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SUITE = ["bench_pipeline.py", "bench_ingest.py", "bench_analytics.py", "bench_api.py",
         "bench_dashboard.py", "bench_backtest.py", "bench_images.py"]


def main() -> int:
    sections = []
    failed = 0
    for script in SUITE:
        print(f"== {script}", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, str(BENCH / script)], capture_output=True, text=True,
                              check=False)
        sys.stderr.write(proc.stderr[-4000:])
        if proc.returncode != 0:
            failed += 1
            sections.append(f"## {script}\n\nfailed with exit code {proc.returncode}\n")
        else:
            sections.append(f"## {script}\n\n{proc.stdout}")
    report = "# Trendfolio benchmarks\n\n" + "\n".join(sections)
    (BENCH / "results" / "latest.md").write_text(report)
    print(report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
