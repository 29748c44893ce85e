"""Waiting for something to happen, by polling: the one ``wait_until`` of the suite."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

POLL_S = 0.02


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll ``predicate`` until it is truthy. Fails after ``timeout`` seconds naming ``what``,
    or at once when ``process`` (the program that should make it happen) has exited."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_S)


def wait_for_ticks(service: object, count: int, *, timeout: float = 30.0) -> None:
    """Wait until an in-process service's dispatcher has completed ``count`` more ticks:
    how a test gives the service its chance to do something it must not do (send twice),
    without guessing a duration."""
    seen: list[object] = [getattr(service, "last_tick_at", None)]

    def ticked() -> bool:
        current = getattr(service, "last_tick_at", None)
        if current != seen[-1]:
            seen.append(current)
        return len(seen) > count

    wait_until(ticked, timeout=timeout, what=f"{count} more dispatcher ticks")
