"""Run a command and report its wall time and the peak RSS of its whole process tree."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measurement:
    seconds: float
    peak_rss_bytes: int
    returncode: int

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_bytes / 2**30


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None, interval: float = 0.1,
            timeout: float = 900) -> Measurement:
    started = time.perf_counter()
    child = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc))
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, err = child.communicate(timeout=timeout)
    finally:
        stop.set()
        sampler.join()
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({child.returncode}):\n{err[-3000:]}")
    return Measurement(elapsed, peak, child.returncode)
