"""Waiting in async tests: poll until a condition holds, run a task beside the test's body."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


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
