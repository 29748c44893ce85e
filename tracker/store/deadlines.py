"""Materialised deadlines: computed once per planning run, answered from indexed columns.

``deadlines`` holds each agreement's deadlines for one window as of one day, and
``deadline_horizons`` says which (``as_of``, ``start``..``end``) that was. A query is answered
from the table only when every agreement it concerns was materialised for that very ``as_of``
over a window that covers the query; anything else (another as-of day, a window reaching
further, an agreement changed since) is recomputed from the documents, so the answer never
depends on which path served it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, DeadlineKind
from tracker.domain.rules import compute_all
from tracker.errors import RuleError
from tracker.store.engine import session_scope
from tracker.store.repository import (
    agreement_from_row,
    lock_agreement_writes,
    tag_condition,
    tags_column,
)
from tracker.store.tables import AgreementRow, DeadlineHorizonRow, DeadlineRow

log = logging.getLogger(__name__)


def deadlines_of(agreement: Agreement, *, as_of: date, start: date, end: date) -> list[Deadline]:
    """The agreement's deadlines, or none (logged) when its rules cannot be evaluated: one
    broken agreement must not hide every other agreement's deadlines."""
    try:
        return compute_all([agreement], as_of=as_of, start=start, end=end)
    except RuleError as exc:
        log.error("agreement %r: deadlines not computed: %s", agreement.id, exc)
        return []


def deadline_row(deadline: Deadline, *, tags: str) -> DeadlineRow:
    return DeadlineRow(
        agreement_id=deadline.agreement,
        kind=deadline.kind.value,
        date=deadline.date,
        party=deadline.party or "",
        title=deadline.title,
        label=deadline.label,
        explanation=deadline.explanation,
        source=deadline.source,
        weekday_note=deadline.weekday_note,
        tags=tags,
    )


def deadline_from_row(row: DeadlineRow, *, as_of: date) -> Deadline:
    return Deadline(
        agreement=row.agreement_id,
        title=row.title,
        kind=DeadlineKind(row.kind),
        date=row.date,
        days_left=(row.date - as_of).days,
        explanation=row.explanation,
        party=row.party or None,
        label=row.label,
        source=row.source,
        weekday_note=row.weekday_note,
    )


def materialize_deadlines(
    engine: Engine, *, as_of: date, end: date, agreement_ids: Sequence[str] | None = None
) -> int:
    """Recompute the stored deadlines of ``agreement_ids`` (all when None) for
    ``as_of``..``end``, replacing each agreement's rows, in one transaction. Returns the
    number of rows written.

    Runs under the agreement-writer lock, so it reads the documents a concurrent sync has
    just committed, and two replicas materialising at once do not collide on the unique key.
    """
    written = 0
    with session_scope(engine) as session:
        lock_agreement_writes(session)
        query = select(AgreementRow)
        if agreement_ids is not None:
            query = query.where(col(AgreementRow.id).in_(list(agreement_ids)))
        for row in session.scalars(query).all():
            ids = [row.id]
            session.execute(delete(DeadlineRow).where(col(DeadlineRow.agreement_id).in_(ids)))
            session.execute(
                delete(DeadlineHorizonRow).where(col(DeadlineHorizonRow.agreement_id).in_(ids))
            )
            agreement = agreement_from_row(row)
            seen: set[tuple[str, str, date, str]] = set()
            for deadline in deadlines_of(agreement, as_of=as_of, start=as_of, end=end):
                # The table keeps one deadline per (agreement, kind, date, party), the same
                # identity reminders use; a second one (e.g. two recurring rules on one day)
                # would break the unique key.
                if deadline.key in seen:
                    log.warning("agreement %r: duplicate deadline %s dropped", row.id, deadline.key)
                    continue
                seen.add(deadline.key)
                session.add(deadline_row(deadline, tags=tags_column(agreement.tags)))
                written += 1
            session.add(DeadlineHorizonRow(agreement_id=row.id, as_of=as_of, start=as_of, end=end))
            session.flush()
    return written


def stale_agreement_ids(engine: Engine, *, as_of: date, end: date) -> list[str]:
    """Agreements whose stored deadlines do not cover ``as_of``..``end`` as of ``as_of``:
    changed since they were materialised (no horizon row), or materialised on another day."""
    horizon = DeadlineHorizonRow
    query = (
        select(col(AgreementRow.id))
        .outerjoin(horizon, col(horizon.agreement_id) == col(AgreementRow.id))
        .where(
            (col(horizon.agreement_id).is_(None))
            | (col(horizon.as_of) != as_of)
            | (col(horizon.start) > as_of)
            | (col(horizon.end) < end)
        )
    )
    with session_scope(engine) as session:
        return list(session.scalars(query))


def _matching_agreements(agreement: Sequence[str], tag: Sequence[str]) -> Select[str]:
    query = select(col(AgreementRow.id))
    if agreement:
        query = query.where(col(AgreementRow.id).in_(list(agreement)))
    if tag:
        query = query.where(tag_condition(AgreementRow.tags, tag))
    return query


def materialised_for(
    session: Session,
    *,
    as_of: date,
    start: date,
    end: date,
    agreement: Sequence[str],
    tag: Sequence[str],
) -> bool:
    """Whether every agreement the query concerns has stored deadlines covering it."""
    if not agreement and not tag:
        return _all_materialised_for(session, as_of=as_of, start=start, end=end)
    wanted = _matching_agreements(agreement, tag).subquery()
    uncovered = (
        select(func.count())
        .select_from(wanted)
        .outerjoin(
            DeadlineHorizonRow,
            and_(
                col(DeadlineHorizonRow.agreement_id) == wanted.c.id,
                col(DeadlineHorizonRow.as_of) == as_of,
                col(DeadlineHorizonRow.start) <= start,
                col(DeadlineHorizonRow.end) >= end,
            ),
        )
        .where(col(DeadlineHorizonRow.agreement_id).is_(None))
    )
    return session.scalar(uncovered) == 0


def _all_materialised_for(session: Session, *, as_of: date, start: date, end: date) -> bool:
    """The unfiltered coverage check in index lookups instead of a join over every agreement.

    Every agreement has at most one horizon row (its primary key, a foreign key to
    ``agreements``), so equal counts mean every agreement has one; then the horizons cover the
    query exactly when all share ``as_of``, the latest start is no later than ``start`` and
    the earliest end no earlier than ``end``. Each min/max is one index lookup.
    """
    # Separate scalar subqueries: SQLite (and PostgreSQL) answer a lone min() or max() from
    # an index, but not when it shares a SELECT with other aggregates.
    h = DeadlineHorizonRow
    row = session.execute(
        select(
            select(func.count()).select_from(h).scalar_subquery(),
            select(func.count()).select_from(AgreementRow).scalar_subquery(),
            select(func.min(h.as_of)).scalar_subquery(),
            select(func.max(h.as_of)).scalar_subquery(),
            select(func.max(h.start)).scalar_subquery(),
            select(func.min(h.end)).scalar_subquery(),
        )
    ).one()
    count, agreements, first_as_of, last_as_of, latest_start, earliest_end = row
    if count != agreements:
        return False
    if count == 0:
        return True
    return bool(
        first_as_of == last_as_of == as_of and latest_start <= start and earliest_end >= end
    )


def stored_deadlines(
    session: Session,
    *,
    as_of: date,
    start: date,
    end: date,
    agreement: Sequence[str],
    kind: Sequence[str],
    tag: Sequence[str],
    limit: int | None,
    offset: int,
) -> tuple[list[Deadline], int]:
    """One page of materialised deadlines and the total, through the (date, kind) index."""
    conditions: list[ColumnElement[bool]] = [
        col(DeadlineRow.date) >= start,
        col(DeadlineRow.date) <= end,
    ]
    if agreement:
        conditions.append(col(DeadlineRow.agreement_id).in_(list(agreement)))
    if kind:
        conditions.append(col(DeadlineRow.kind).in_(list(kind)))
    if tag:
        conditions.append(tag_condition(DeadlineRow.tags, tag))
    total = session.scalar(select(func.count()).select_from(DeadlineRow).where(*conditions)) or 0
    page = (
        select(DeadlineRow)
        .where(*conditions)
        .order_by(
            col(DeadlineRow.date),
            col(DeadlineRow.agreement_id),
            col(DeadlineRow.kind),
            col(DeadlineRow.party),
        )
        .offset(offset)
    )
    if limit is not None:
        page = page.limit(limit)
    return [deadline_from_row(row, as_of=as_of) for row in session.scalars(page)], int(total)


def computed_deadlines(
    session: Session,
    *,
    as_of: date,
    start: date,
    end: date,
    agreement: Sequence[str],
    kind: Sequence[str],
    tag: Sequence[str],
    limit: int | None,
    offset: int,
) -> tuple[list[Deadline], int]:
    """The same answer as :func:`stored_deadlines`, computed from the documents."""
    query = select(AgreementRow).where(
        col(AgreementRow.id).in_(_matching_agreements(agreement, tag))
    )
    found: list[Deadline] = []
    for row in session.scalars(query):
        found.extend(deadlines_of(agreement_from_row(row), as_of=as_of, start=start, end=end))
    if kind:
        found = [d for d in found if d.kind.value in kind]
    found.sort(key=lambda d: (d.date, d.agreement, d.kind.value, d.party or ""))
    stop = None if limit is None else offset + limit
    return found[offset:stop], len(found)


def query_deadlines(
    engine: Engine,
    *,
    as_of: date,
    start: date,
    end: date,
    agreement: Sequence[str] = (),
    kind: Sequence[str] = (),
    tag: Sequence[str] = (),
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Deadline], int]:
    """Deadlines dated ``start``..``end`` (inclusive) as of ``as_of``, sorted by (date,
    agreement, kind, party): one page and the total count.

    Each filter matches any of its values; filters combine with AND. ``days_left`` counts
    from ``as_of``.
    """
    with session_scope(engine) as session:
        answer = (
            stored_deadlines
            if materialised_for(
                session, as_of=as_of, start=start, end=end, agreement=agreement, tag=tag
            )
            else computed_deadlines
        )
        return answer(
            session,
            as_of=as_of,
            start=start,
            end=end,
            agreement=agreement,
            kind=kind,
            tag=tag,
            limit=limit,
            offset=offset,
        )
