"""Running the same work as several replicas at once, for race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_together(work: Callable[[T], R], items: Sequence[T]) -> tuple[list[R], list[BaseException]]:
    """Run ``work(item)`` for every item in its own thread, all released by one barrier so
    they really overlap. Returns the results (in completion order) and the exceptions raised,
    so the test asserts on both instead of an error vanishing inside a thread."""
    barrier = threading.Barrier(len(items))
    results: list[R] = []
    errors: list[BaseException] = []

    def run(item: T) -> None:
        barrier.wait()
        try:
            results.append(work(item))
        except BaseException as exc:  # collected and returned
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
