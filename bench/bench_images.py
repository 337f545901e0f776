"""The images: size of each, build times (a warm rebuild, a rebuild after a code change and one
image with no layer cache, in the same run), and container start to ready for the API and the
dashboard, run as the chart runs them.

Usage: .venv/bin/python bench/bench_images.py [--cold api]   (after `make images`)
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support
from tests.support.containers import (
    POSTGRES_UID,
    TRENDFOLIO_UID,
    containers,
    engine,
    image,
)
from tests.support.paths import REPO

RESULTS = REPO / "bench" / "results" / "images.json"
NAMES = ("collector", "consumer", "api", "dashboard", "spark-jobs", "airflow",
         "postgres", "kafka", "prometheus", "pushgateway")


def timed(cmd: list[str], cwd: Path = REPO) -> float:
    started = time.monotonic()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def size_mb(exe: str, name: str) -> float:
    out = subprocess.run([exe, "image", "inspect", "--format", "{{.Size}}", image(name)],
                         capture_output=True, text=True, check=True).stdout
    return round(int(out.strip()) / 1e6)


def code_change_rebuild(name: str) -> float:
    """Rebuild ``name`` from a copy of the checkout whose library changed by one comment."""
    with tempfile.TemporaryDirectory(prefix="trendfolio-bench-") as tmp:
        copy = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(copy)], check=True)
        init = copy / "lib" / "trendfolio" / "__init__.py"
        init.write_text(init.read_text() + f"# {secrets.token_hex(4)}\n")
        return timed(["bash", "scripts/images.sh", "build", name], cwd=copy)


def start_to_ready(exe: str) -> dict[str, float]:
    """Seconds from `run` to the first good answer, API (``/health``) and dashboard (``/``)."""
    root = Path(tempfile.mkdtemp(prefix="trendfolio-bench-images-"))
    root.chmod(0o755)
    out: dict[str, float] = {}
    try:
        with containers(exe, root) as c:
            password = secrets.token_urlsafe(18)
            pg = c.start("postgres", image("postgres"), uid=POSTGRES_UID,
                         mounts={"/var/lib/postgresql/data": c.scratch("pgdata", POSTGRES_UID),
                                 "/var/run/postgresql": c.scratch("pgrun", POSTGRES_UID),
                                 "/tmp": c.scratch("pgtmp", POSTGRES_UID)},
                         env={"POSTGRES_USER": "trendfolio", "POSTGRES_PASSWORD": password,
                              "POSTGRES_DB": "trendfolio"})
            c.wait_for(pg, "pg_isready", "-h", "127.0.0.1", "-U", "trendfolio")
            url = f"postgresql://trendfolio:{password}@127.0.0.1:5432/trendfolio"
            scratch = {"/tmp": c.scratch("tmp", TRENDFOLIO_UID),
                       "/var/lib/trendfolio": c.scratch("home", TRENDFOLIO_UID)}
            migrated = c.run(image("collector"), "db", "migrate", entrypoint="trendfolio",
                             network=pg, mounts=scratch, env={"TRENDFOLIO_DATABASE_URL": url})
            assert migrated.returncode == 0, migrated.stderr
            for name, port, path, env in (
                ("api", 8000, "/health", {"TRENDFOLIO_READONLY_DATABASE_URL": url}),
                ("dashboard", 8050, "/", {"TRENDFOLIO_API_URL": "http://127.0.0.1:8000"}),
            ):
                started = time.monotonic()
                box = c.start(name, image(name), network=pg, env=env,
                              mounts={"/tmp": c.scratch("tmp", TRENDFOLIO_UID),
                                      "/var/lib/trendfolio": c.scratch("home", TRENDFOLIO_UID)})
                c.wait_for(box, "python3", "-c", "import urllib.request; urllib.request."
                           f"urlopen('http://127.0.0.1:{port}{path}', timeout=2)", timeout=120)
                out[name] = round(time.monotonic() - started, 1)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", default="api", help="the image built again with no layer cache")
    args = ap.parse_args()
    exe = engine()
    if exe is None:
        print("bench_images: neither podman nor docker can run here", file=sys.stderr)
        return 2
    warm = timed(["bash", "scripts/images.sh", "build"])
    changed = code_change_rebuild(args.cold)
    cold_started = time.monotonic()
    subprocess.run([exe, "build", "--no-cache", "--network", "host", "-f", "docker/Dockerfile",
                    "--target", args.cold, "--build-arg", f"REQUIREMENTS={args.cold}",
                    "--build-arg", "BASE=localhost/trendfolio-base:bookworm",
                    "-t", image(args.cold), "."], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cold = time.monotonic() - cold_started
    ready = start_to_ready(exe)
    result = {
        "engine": Path(exe).name,
        "sizes_mb": {n: size_mb(exe, n) for n in NAMES},
        "warm_rebuild_all_s": round(warm, 1),
        "code_change_rebuild_s": {args.cold: round(changed, 1)},
        "no_layer_cache_build_s": {args.cold: round(cold, 1)},
        "start_to_ready_s": ready,
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print("| measurement | value |\n|---|---|")
    for name, mb in result["sizes_mb"].items():
        print(f"| size of {name} | {mb:.0f} MB |")
    print(f"| rebuild of all {len(NAMES)} images, nothing changed | {warm:.1f} s |")
    print(f"| rebuild of {args.cold} after a code change (dependencies' layer reused) | "
          f"{changed:.1f} s ({changed / cold:.2f}x the no-cache build) |")
    print(f"| build of {args.cold} with no layer cache (pip's download cache kept) | "
          f"{cold:.1f} s |")
    for name, s in ready.items():
        print(f"| {name}: container start to first good answer | {s:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
