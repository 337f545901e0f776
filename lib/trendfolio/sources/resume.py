"""Resumable progress (SPEC §3): an interrupted collection, run again, skips what it finished.

:class:`Progress` keeps one run's finished tickers on disk; :func:`run_resumable` does the
per-ticker work of a run, skipping those and marking each one done once its work succeeded.
What "done" must mean -- published and durable, not merely fetched -- is the caller's to
decide: it is the work passed in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trendfolio.errors import SourceError, SourceUnavailable
from trendfolio.sources.base import RunProgress
from trendfolio.sources.politeness import atomic_write_bytes

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Progress:
    """The tickers already finished for one run, kept in ``root/<run key>.json``.

    Re-read on construction, so a new process (a restarted job) skips what an interrupted
    one finished. A ticker is marked only after its work succeeded, hence a failure is
    retried on resume and never recorded as done.
    """

    def __init__(self, root: Path, run_key: str) -> None:
        if not run_key:
            raise ValueError("run_key must not be empty")
        self.run_key = run_key
        # Readable file name plus a short hash, so two keys that sanitise alike never share one.
        digest = hashlib.sha256(run_key.encode()).hexdigest()[:10]
        self.path = root / f"{_UNSAFE.sub('_', run_key)[:80]}-{digest}.json"
        self._done = self._load()

    def _load(self) -> set[str]:
        try:
            data = json.loads(self.path.read_bytes())
            return {str(t) for t in data["done"]}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Losing progress only costs refetching (which the response cache absorbs).
            log.warning(
                "starting %s afresh: unreadable progress file %s: %s", self.run_key, self.path, exc
            )
            return set()

    @property
    def done(self) -> frozenset[str]:
        return frozenset(self._done)

    def is_done(self, ticker: str) -> bool:
        return ticker in self._done

    def pending(self, tickers: Iterable[str]) -> list[str]:
        """``tickers`` not finished yet, in the given order."""
        return [t for t in tickers if t not in self._done]

    def mark_done(self, ticker: str) -> None:
        self._done.add(ticker)
        self._save()

    def reset(self) -> None:
        self._done.clear()
        self.path.unlink(missing_ok=True)

    def _save(self) -> None:
        body = {
            "run_key": self.run_key,
            "done": sorted(self._done),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        atomic_write_bytes(self.path, json.dumps(body, indent=1).encode())


@dataclass
class RunReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, SourceError] = field(default_factory=dict)

    def extend(self, other: RunReport) -> None:
        """Add another part of the same run."""
        self.done += other.done
        self.skipped += other.skipped
        self.failed |= other.failed


async def run_resumable(
    tickers: Iterable[str], progress: RunProgress, work: Callable[[str], Awaitable[None]]
) -> RunReport:
    """Run ``work`` for every ticker not already done, marking each done after it succeeds.

    A ``SourceError`` for one ticker is recorded and the run moves on; ``SourceUnavailable``
    (the upstream refuses everything: going on would only prolong a ban) and any other
    exception stop the run, and the next run resumes after the last finished ticker.
    """
    report = RunReport()
    for ticker in tickers:
        if progress.is_done(ticker):
            report.skipped.append(ticker)
            continue
        try:
            await work(ticker)
        except SourceUnavailable:
            raise
        except SourceError as err:
            log.warning("not collected: %s", err)  # the error names the ticker
            report.failed[ticker] = err
            continue
        progress.mark_done(ticker)
        report.done.append(ticker)
    if report.skipped:
        log.info("%s: resumed, skipped %d finished tickers", progress.run_key, len(report.skipped))
    return report
