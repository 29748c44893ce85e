"""Deadline answers of the API, remembered for a second.

:func:`tracker.store.deadlines.query_deadlines` answers from the indexed ``deadlines`` table
when every agreement the query concerns was materialised over a covering window. With
100,000 agreements, two things dominate a request: that coverage check (it joins every
agreement with its horizon: about 45 ms on SQLite) and, far behind, counting the matches and
building the page (about 5 ms of SQL and ORM work). Both answers change only when agreements
are written or deadlines re-materialised, so the API passes a :class:`Memo` to the query as
its cache, which keeps each for :data:`MEMO_TTL_S` and forgets everything at once after a
write through this process (the write hook that :func:`tracker.api.app.create_app` gives the
application context). A feed, a dashboard or a load balancer's poller asking the same
question many times a second then costs one query a second.

What staleness this allows: after a write by *another* process (a replica, the folder sync,
the service's re-materialisation), for about :data:`MEMO_TTL_S` a query may return the
answer from before it. ``ttl_s = 0`` turns the memo off.

The hot route uses :func:`remembered`, which also keeps a burst of identical requests from
all recomputing at once: one request computes while the others wait for it (single flight),
and once an answer is older than the TTL but younger than :data:`STALE_S`, it is still served
while one background refresh replaces it (stale-while-revalidate), so no request waits for
the database once a second.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

#: How long an answer is reused.
MEMO_TTL_S = 1.0
#: An answer older than this is never served, not even while a refresh runs.
STALE_S = 5.0
#: Most answers kept; beyond that the memo starts afresh.
MAX_ENTRIES = 512

T = TypeVar("T")


class Memo:
    """Answers by key, each for ``ttl_s`` seconds; thread-safe. A
    :class:`tracker.store.deadlines.Cache`."""

    def __init__(
        self, *, ttl_s: float = MEMO_TTL_S, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        # Used from the event loop only (by remembered()).
        self._flights: dict[Hashable, asyncio.Lock] = {}
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}

    def peek(self, key: Hashable) -> tuple[float, Any] | None:
        """The answer and its age in seconds, however old; None when there is none."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else (self.monotonic() - entry[0], entry[1])

    def get(self, key: Hashable) -> Any | None:
        if self.ttl_s <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or self.monotonic() - entry[0] > self.ttl_s:
            return None
        return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (self.monotonic(), value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


async def remembered(memo: Memo, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` (run in the thread pool) or a remembered answer, as described above."""
    if memo.ttl_s <= 0:
        return await run_in_threadpool(compute)
    entry = memo.peek(key)
    if entry is not None:
        age, value = entry
        if age <= memo.ttl_s:
            return value  # type: ignore[no-any-return]
        if age <= STALE_S:
            _refresh_soon(memo, key, compute)
            return value  # type: ignore[no-any-return]
    flight = memo._flights.setdefault(key, asyncio.Lock())
    async with flight:
        entry = memo.peek(key)
        if entry is not None and entry[0] <= memo.ttl_s:
            return entry[1]  # type: ignore[no-any-return]  # computed while we waited
        answer: T = await run_in_threadpool(compute)
        memo.put(key, answer)
        return answer


def _refresh_soon(memo: Memo, key: Hashable, compute: Callable[[], Any]) -> None:
    if key in memo._refreshing:
        return

    async def refresh() -> None:
        try:
            memo.put(key, await run_in_threadpool(compute))
        finally:
            memo._refreshing.pop(key, None)

    memo._refreshing[key] = asyncio.get_running_loop().create_task(refresh())
