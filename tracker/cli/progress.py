"""Progress bars for commands that go through many files (``import``, ``validate``,
``export``, ``deadlines --agreements``).

A bar is drawn only when standard error is a terminal and ``CI`` is not set, and only once
there are more than :data:`PROGRESS_MIN` files: logs of scripts and CI runs never get one,
and a handful of files finishes before a bar would be worth drawing. The bar is drawn on
standard error and removed when done, so standard output stays exactly the command's answer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Fewer files than this get no bar.
PROGRESS_MIN = 300

Progress = Callable[[int, int], None]


def wanted() -> bool:
    """True when a bar may be drawn: stderr is a terminal, and not in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def file_progress(description: str) -> Iterator[Progress | None]:
    """A callback ``(done, total)`` that moves a bar (from the first call with a total over
    :data:`PROGRESS_MIN`), or None when no bar is wanted."""
    if not wanted():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TimeRemainingColumn,
    )

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task: list[TaskID] = []

    def advance(done: int, total: int) -> None:
        if total <= PROGRESS_MIN:
            return
        if not task:
            bar.start()
            task.append(bar.add_task(f"{description} files", total=total))
        bar.update(task[0], completed=done, total=total)

    try:
        yield advance
    finally:
        if task:
            bar.stop()
