"""What keeps whole-data-set questions cheap at 100,000 agreements: per-day deadline counts
and the data version, both kept by database triggers (migration 0006).

* ``deadline_counts`` holds, per (tag, day, kind), how many rows ``deadlines`` has (tag
  ``""`` for all of them); triggers on ``deadlines`` keep it exact in the writing
  transaction, whoever writes. :func:`count_from_table` answers a query's exact ``count``
  from it: a sum over the window's days.
* ``data_version`` holds one number that triggers raise with every write to
  ``agreements``, ``events`` or ``deadline_horizons``. :func:`remembered` keeps, per process
  and engine, facts that cost a scan (whether every agreement's deadlines are stored; how
  many agreements carry a tag; which tags exist) for one version only: the first reader
  after a write reads them again, so they are never stale.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tracker.store.engine import session_scope
from tracker.store.tables import DataVersionRow, DeadlineCountRow

T = TypeVar("T")

#: Most facts kept for one version (the keys are few: a tag, the horizon bounds).
MAX_FACTS = 1024


def count_from_table(
    session: Session, *, start: date, end: date, kind: Sequence[str], tag: str
) -> int:
    """The number of stored deadlines dated ``start``..``end`` of the ``kind``s (all when
    empty) of agreements carrying ``tag`` (all when ``""``): one range of the primary key,
    at most a window's days times the kinds."""
    c = DeadlineCountRow
    query = select(func.coalesce(func.sum(col(c.n)), 0)).where(
        col(c.tag) == tag, col(c.date) >= start, col(c.date) <= end
    )
    if kind:
        query = query.where(col(c.kind).in_(list(kind)))
    return int(session.scalar(query) or 0)


def data_version(session: Session) -> int | None:
    """The data version this session sees, read once per session; None when the database
    has no version row (then nothing is remembered)."""
    info = session.info
    if "data_version" not in info:
        info["data_version"] = session.scalar(
            select(col(DataVersionRow.version)).where(col(DataVersionRow.id) == 1)
        )
    return cast(int | None, info["data_version"])


def current_version(engine: Engine) -> int | None:
    """The data version now (None without a version row)."""
    with session_scope(engine) as session:
        return data_version(session)


class _Facts:
    """The facts one engine's readers remember, for one data version."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: int | None = None
        self.values: dict[Hashable, Any] = {}


_facts: weakref.WeakKeyDictionary[Engine, _Facts] = weakref.WeakKeyDictionary()
_facts_lock = threading.Lock()


def remembered(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or the value it gave for ``key`` earlier in this process while the data
    version was the one this session sees.

    The version is read first, in the same session (on SQLite, the same snapshot), so a
    remembered value reflects at least that version; a write committed meanwhile raises the
    version, and the next reader computes the value again. Sessions that wrote (their reads
    see their own uncommitted rows) must not use it: readers only."""
    version = data_version(session)
    engine = session.get_bind()
    if version is None or not isinstance(engine, Engine):
        return compute()
    with _facts_lock:
        facts = _facts.setdefault(engine, _Facts())
    with facts.lock:
        if facts.version == version and key in facts.values:
            return cast(T, facts.values[key])
    value = compute()
    with facts.lock:
        if facts.version is not None and version < facts.version:
            return value  # read from an older snapshot: keep the newer facts
        if facts.version != version:
            facts.version, facts.values = version, {}
        if len(facts.values) < MAX_FACTS:
            facts.values[key] = value
    return value
