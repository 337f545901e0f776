"""Resumable progress on disk and the resumable per-ticker loop, in isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from trendfolio.errors import SourceError, SourceUnavailable
from trendfolio.sources.base import Unrecorded
from trendfolio.sources.csv_source import CsvSource
from trendfolio.sources.resume import Progress, run_resumable
from trendfolio.sources.sample import SampleSource

pytestmark = pytest.mark.timeout(30)


def test_progress_survives_a_restart(tmp_path: Path) -> None:
    first = Progress(tmp_path, "bars:2026-05-01")
    first.mark_done("SPY")
    first.mark_done("XLK")

    again = Progress(tmp_path, "bars:2026-05-01")
    assert again.done == {"SPY", "XLK"}
    assert again.pending(["SPY", "AAPL", "XLK", "MSFT"]) == ["AAPL", "MSFT"]
    assert Progress(tmp_path, "bars:2026-05-04").done == set()  # another run, another file
    again.reset()
    assert Progress(tmp_path, "bars:2026-05-01").done == set()


def test_progress_file_names_are_safe_and_distinct(tmp_path: Path) -> None:
    a, b = Progress(tmp_path, "a/b"), Progress(tmp_path, "a:b")
    assert a.path.parent == tmp_path and b.path.parent == tmp_path and a.path != b.path


def test_unreadable_progress_starts_afresh(tmp_path: Path) -> None:
    progress = Progress(tmp_path, "run")
    progress.mark_done("SPY")
    progress.path.write_text("garbage")
    assert Progress(tmp_path, "run").done == set()


async def test_run_resumable_records_failures_and_skips_done(tmp_path: Path) -> None:
    progress = Progress(tmp_path, "run")
    progress.mark_done("SPY")
    worked: list[str] = []

    async def work(ticker: str) -> None:
        worked.append(ticker)
        if ticker == "XLK":
            raise SourceError("no bars", ticker=ticker)

    report = await run_resumable(["SPY", "XLK", "AAPL"], progress, work)
    assert worked == ["XLK", "AAPL"]
    assert report.skipped == ["SPY"] and report.done == ["AAPL"]
    assert list(report.failed) == ["XLK"]
    assert Progress(tmp_path, "run").done == {"SPY", "AAPL"}  # a failure is never "done"


async def test_run_resumable_stops_when_the_source_is_unavailable(tmp_path: Path) -> None:
    progress = Progress(tmp_path, "run")

    async def work(ticker: str) -> None:
        if ticker == "AAPL":
            raise SourceUnavailable("gave up after 5 tries", ticker=ticker)

    with pytest.raises(SourceUnavailable):
        await run_resumable(["SPY", "AAPL", "MSFT"], progress, work)
    assert Progress(tmp_path, "run").pending(["SPY", "AAPL", "MSFT"]) == ["AAPL", "MSFT"]


def test_local_sources_keep_no_progress(tmp_path: Path) -> None:
    # Reading a file or generating data again asks nobody: nothing is kept, nothing skipped.
    (tmp_path / "prices.csv").write_text("ticker,date,open,high,low,close,adj_close,volume\n"
                                         "SPY,2026-08-20,,,,100,,\n")
    for source in (CsvSource(tmp_path), SampleSource()):
        progress = source.progress("stage 1:2026-08-20")
        progress.mark_done("SPY")
        assert isinstance(progress, Unrecorded) and not progress.is_done("SPY")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prices.csv"]
