"""Materialised deadlines: computed once per planning run, answered from indexed columns.

``deadlines`` holds each agreement's deadlines for one window as of one day, and
``deadline_horizons`` says which (``as_of``, ``start``..``end``) that was. A query is answered
from the table only when every agreement it concerns was materialised for that very ``as_of``
over a window that covers the query; anything else (another as-of day, a window reaching
further, an agreement changed since) is recomputed from the documents, so the answer never
depends on which path served it.

One agreement whose deadlines cannot be computed never fails a query or a materialisation:
its horizon row carries the ``error`` (and it has no deadline rows), and every answer lists
it in ``failures`` next to the other agreements' deadlines. A *write* is stricter:
:func:`materialize_written` runs inside the write's transaction and the writer raises, so
an agreement that cannot be computed is never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, DeadlineKind, Outcome
from tracker.domain.rules import compute_all
from tracker.errors import failure_detail
from tracker.logs import fields
from tracker.store.bulk import bulk_insert
from tracker.store.counts import count_from_table, remembered
from tracker.store.engine import session_scope
from tracker.store.repository import (
    agreement_from_row,
    lock_agreement_writes,
    tag_condition,
    tags_column,
)
from tracker.store.tables import (
    AgreementRow,
    DeadlineHorizonRow,
    DeadlineRow,
    DeadlineTagRow,
    EventRow,
)

log = logging.getLogger(__name__)


#: The materialised window of a write whose caller names none: the configuration's default
#: ``planning_horizon``. The service re-materialises with its own settings anyway.
DEFAULT_HORIZON_DAYS = 400


@dataclass(frozen=True)
class Horizon:
    """Which deadlines a write materialises: as of ``as_of``, from ``as_of`` to ``end``."""

    as_of: date
    end: date

    @classmethod
    def default(cls, now: datetime) -> Horizon:
        as_of = now.astimezone(UTC).date()
        return cls(as_of=as_of, end=as_of + timedelta(days=DEFAULT_HORIZON_DAYS))


@dataclass(frozen=True)
class AgreementFailure:
    """A stored agreement whose deadlines could not be computed, and why."""

    agreement: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"agreement": self.agreement, "detail": self.detail}


class DeadlinePage(NamedTuple):
    """One page of deadlines, the number of all matches, and the agreements in scope whose
    deadlines could not be computed (left out of both)."""

    deadlines: list[Deadline]
    total: int
    failures: list[AgreementFailure]


def deadlines_or_failure(
    source: AgreementRow | Agreement, *, as_of: date, start: date, end: date
) -> tuple[list[Deadline], AgreementFailure | None]:
    """The deadlines of one stored row (or validated agreement), or none and the failure:
    a document that no longer validates, or rules the engine cannot compute. One broken
    agreement must not hide every other agreement's deadlines, so nothing is raised."""
    agreement_id = source.id
    try:
        agreement = source if isinstance(source, Agreement) else agreement_from_row(source)
        return compute_all([agreement], as_of=as_of, start=start, end=end), None
    except Exception as exc:
        return [], AgreementFailure(agreement_id, failure_detail(exc))


def log_failure(failure: AgreementFailure) -> None:
    """The operator's line for an agreement left out of an answer or a materialisation."""
    log.error(
        "deadlines.agreement_failed",
        extra=fields(agreement=failure.agreement, detail=failure.detail),
    )


#: The columns a page reads (plain tuples: building ORM objects for them cost more than the
#: query on PostgreSQL).
PAGE_COLUMNS = (
    col(DeadlineRow.agreement_id),
    col(DeadlineRow.title),
    col(DeadlineRow.kind),
    col(DeadlineRow.date),
    col(DeadlineRow.explanation),
    col(DeadlineRow.party),
    col(DeadlineRow.label),
    col(DeadlineRow.source),
    col(DeadlineRow.weekday_note),
    col(DeadlineRow.outcome),
)


def deadline_from_columns(values: Sequence[Any], *, as_of: date) -> Deadline:
    """A :data:`PAGE_COLUMNS` row as a Deadline (``days_left`` counted from ``as_of``; an
    empty party is none)."""
    agreement, title, kind, day, explanation, party, label, source, weekday_note, outcome = values
    return Deadline(
        agreement=agreement,
        title=title,
        kind=DeadlineKind(kind),
        date=day,
        days_left=(day - as_of).days,
        explanation=explanation,
        party=party or None,
        label=label,
        source=source,
        weekday_note=weekday_note,
        outcome=Outcome(outcome) if outcome else None,
    )


def deadline_values(deadline: Deadline, *, tags: str) -> dict[str, Any]:
    """The ``deadlines`` row of ``deadline`` as column values (for bulk inserts)."""
    return {
        "agreement_id": deadline.agreement,
        "kind": deadline.kind.value,
        "date": deadline.date,
        "party": deadline.party or "",
        "title": deadline.title,
        "label": deadline.label,
        "explanation": deadline.explanation,
        "source": deadline.source,
        "weekday_note": deadline.weekday_note,
        "tags": tags,
        "outcome": deadline.outcome.value if deadline.outcome is not None else None,
    }


@dataclass
class Computed:
    """One agreement's deadlines (or why there are none) to store."""

    agreement_id: str
    tags: str
    deadlines: Iterable[Deadline]
    failure: AgreementFailure | None = None


#: Rows per statement when deadlines are written in bulk.
BULK_ROWS = 1000


def _store(session: Session, items: Sequence[Computed], *, as_of: date, end: date) -> int:
    """Replace the stored deadlines and horizons of ``items``' agreements; returns the rows
    written.

    In bulk: one ``DELETE ... IN`` per table and chunk of ids, and the rows inserted as
    multi-row ``INSERT``s from plain values (no ORM objects, a statement compiled once). At
    10,000 agreements this took the start of the service from minutes to seconds.
    """
    ids = [item.agreement_id for item in items]
    for start in range(0, len(ids), BULK_ROWS):
        chunk = ids[start : start + BULK_ROWS]
        session.execute(delete(DeadlineRow).where(col(DeadlineRow.agreement_id).in_(chunk)))
        session.execute(
            delete(DeadlineHorizonRow).where(col(DeadlineHorizonRow.agreement_id).in_(chunk))
        )
    rows: list[dict[str, Any]] = []
    for item in items:
        seen: set[tuple[str, str, date, str]] = set()
        for deadline in item.deadlines:
            # The table keeps one deadline per (agreement, kind, date, party), the same
            # identity reminders use; a second one (e.g. two recurring rules on one day) would
            # break the unique key.
            if deadline.key in seen:
                log.warning(
                    "deadlines.duplicate_dropped",
                    extra=fields(agreement=item.agreement_id, key=str(deadline.key)),
                )
                continue
            seen.add(deadline.key)
            rows.append(deadline_values(deadline, tags=item.tags))
    horizons = [
        {
            "agreement_id": item.agreement_id,
            "as_of": as_of,
            "start": as_of,
            "end": end,
            "error": item.failure.detail if item.failure is not None else None,
        }
        for item in items
    ]
    connection = session.connection()
    for table, values in ((DeadlineRow, rows), (DeadlineHorizonRow, horizons)):
        bulk_insert(connection, table.__table__, values)  # type: ignore[union-attr]
    return len(rows)


def materialize_deadlines(
    engine: Engine, *, as_of: date, end: date, agreement_ids: Sequence[str] | None = None
) -> int:
    """Recompute the stored deadlines of ``agreement_ids`` (all when None) for
    ``as_of``..``end``, replacing each agreement's rows, in one transaction. Returns the
    number of rows written. An agreement that cannot be computed is stored with its error
    (logged), never stopping the others.

    Runs under the agreement-writer lock, so it reads the documents a concurrent sync has
    just committed, and two replicas materialising at once do not collide on the unique key.
    """
    written = 0
    with session_scope(engine) as session:
        lock_agreement_writes(session)
        query = select(AgreementRow)
        if agreement_ids is not None:
            query = query.where(col(AgreementRow.id).in_(list(agreement_ids)))
        items: list[Computed] = []
        for row in session.scalars(query).all():
            found, failure = deadlines_or_failure(row, as_of=as_of, start=as_of, end=end)
            if failure is not None:
                log_failure(failure)
            items.append(Computed(row.id, row.tags, found, failure))
        written += _store(session, items, as_of=as_of, end=end)
    return written


def materialize_written(
    session: Session, agreements: Sequence[Agreement], *, horizon: Horizon
) -> list[AgreementFailure]:
    """Inside a write's transaction: store the deadlines of the agreements just written and
    return those that cannot be computed. The writer raises on any, so that the transaction
    rolls back and a failing agreement is never stored (nor half of a batch)."""
    as_of, end = horizon.as_of, horizon.end
    failures: list[AgreementFailure] = []
    items: list[Computed] = []
    for agreement in agreements:
        found, failure = deadlines_or_failure(agreement, as_of=as_of, start=as_of, end=end)
        if failure is not None:
            failures.append(failure)
            continue
        items.append(Computed(agreement.id, tags_column(agreement.tags), found))
    _store(session, items, as_of=as_of, end=end)
    return failures


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


#: At most this many agreements are recomputed beside the stored rows of the others (an
#: ``as_of`` other than the materialised day, with events between the two); more, and the
#: whole answer is computed from the documents.
MAX_RECOMPUTED = 200


def materialised_for(
    session: Session,
    *,
    as_of: date,
    start: date,
    end: date,
    agreement: Sequence[str],
    tag: Sequence[str],
) -> bool:
    """Whether every agreement the query concerns has stored deadlines covering it, as of
    exactly ``as_of``."""
    return coverage(session, as_of=as_of, start=start, end=end, agreement=agreement, tag=tag) == ()


def coverage(
    session: Session,
    *,
    as_of: date,
    start: date,
    end: date,
    agreement: Sequence[str],
    tag: Sequence[str],
) -> tuple[str, ...] | None:
    """How much of the query the stored rows answer: None when some agreement in scope has
    no stored deadlines covering ``start``..``end``; else the ids (usually none) of those
    whose stored deadlines do not hold as of ``as_of``.

    Stored deadlines were computed as of the materialised day M; as of another day Q they are
    the same deadlines (``days_left`` aside, which is counted from Q when a row is read)
    unless the agreement has an event dated between the two (after the earlier, up to the
    later), because the engine reads ``as_of`` for nothing but which events count and
    ``days_left`` (tracker.domain.rules). Those agreements are recomputed.
    """
    h = DeadlineHorizonRow
    # When every agreement was materialised on one day over the window, so was every one in
    # scope: a few index lookups instead of a join over the agreements a filter matches.
    materialised = _all_materialised_day(session, start=start, end=end)
    if materialised is not None:
        if materialised == as_of:
            return ()
        early, late = min(as_of, materialised), max(as_of, materialised)
        moved = (
            select(col(EventRow.agreement_id))
            .where(col(EventRow.date) > early, col(EventRow.date) <= late)
            .distinct()
            .limit(MAX_RECOMPUTED + 1)
        )
        found = remembered(session, ("moved", early, late), lambda: list(session.scalars(moved)))
        # Agreements out of a tag's scope are left out by the recomputation's own filter.
        return tuple(sorted(i for i in found if not agreement or i in agreement))
    wanted = _matching_agreements(agreement, tag).subquery()
    uncovered = (
        select(func.count())
        .select_from(wanted)
        .outerjoin(
            h,
            and_(
                col(h.agreement_id) == wanted.c.id,
                col(h.start) <= start,
                col(h.end) >= end,
            ),
        )
        .where(col(h.agreement_id).is_(None))
    )
    if session.scalar(uncovered):
        return None
    moved = (
        select(col(EventRow.agreement_id))
        .join(h, col(h.agreement_id) == col(EventRow.agreement_id))
        .where(
            col(EventRow.agreement_id).in_(select(wanted.c.id)),
            or_(
                and_(col(EventRow.date) > col(h.as_of), col(EventRow.date) <= as_of),
                and_(col(EventRow.date) > as_of, col(EventRow.date) <= col(h.as_of)),
            ),
        )
        .distinct()
        .limit(MAX_RECOMPUTED + 1)
    )
    return tuple(sorted(session.scalars(moved)))


def _all_materialised_day(session: Session, *, start: date, end: date) -> date | None:
    """The one day every agreement's stored deadlines were computed as of, when they all
    were on the same day and cover ``start``..``end``; else None.

    Index lookups instead of a join over every agreement: every agreement has at most one
    horizon row (its primary key, a foreign key to ``agreements``), so equal counts mean
    every agreement has one; then the horizons cover the query exactly when all share
    ``as_of``, the latest start is no later than ``start`` and the earliest end no earlier
    than ``end``. Each min/max is one index lookup.
    """
    # Separate scalar subqueries: SQLite (and PostgreSQL) answer a lone min() or max() from
    # an index, but not when it shares a SELECT with other aggregates.
    # The counts are scans (10 ms each at 100,000 agreements on PostgreSQL): remembered for
    # one data version, as every writer of agreements or horizons raises it.
    count, agreements, first_as_of, last_as_of, latest_start, earliest_end = remembered(
        session, "horizon bounds", lambda: _horizon_bounds(session)
    )
    if count != agreements or count == 0:
        return None
    if first_as_of == last_as_of and latest_start <= start and earliest_end >= end:
        return cast(date, first_as_of)
    return None


def _horizon_bounds(session: Session) -> tuple[Any, ...]:
    h = DeadlineHorizonRow
    return tuple(
        session.execute(
            select(
                select(func.count()).select_from(h).scalar_subquery(),
                select(func.count()).select_from(AgreementRow).scalar_subquery(),
                select(func.min(h.as_of)).scalar_subquery(),
                select(func.max(h.as_of)).scalar_subquery(),
                select(func.max(h.start)).scalar_subquery(),
                select(func.min(h.end)).scalar_subquery(),
            )
        ).one()
    )


def _conditions(
    *, start: date, end: date, agreement: Sequence[str], kind: Sequence[str], tag: Sequence[str]
) -> list[ColumnElement[bool]]:
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
    return conditions


def _count_rows(session: Session, conditions: Sequence[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(DeadlineRow).where(*conditions)
    return int(session.scalar(query) or 0)


def _stored_total(
    session: Session,
    conditions: list[ColumnElement[bool]],
    *,
    start: date,
    end: date,
    agreement: Sequence[str],
    kind: Sequence[str],
    tag: Sequence[str],
    without: Sequence[str],
) -> int:
    """The number of stored rows matching ``conditions``, the agreements ``without`` left out.

    From ``deadline_counts`` (a sum over the window's days) when no agreement is named and at
    most one tag, minus the rows of ``without`` (counted: a few agreements); else by counting
    the rows: an agreement filter is an index lookup of a few rows, and counts per tag cannot
    be added up for several tags, as one agreement may carry more than one of them.
    """
    if agreement or len(tag) > 1:
        if without:
            conditions = [*conditions, col(DeadlineRow.agreement_id).not_in(list(without))]
        return _count_rows(session, conditions)
    total = count_from_table(session, start=start, end=end, kind=kind, tag=tag[0] if tag else "")
    if without:
        total -= _count_rows(
            session, [*conditions, col(DeadlineRow.agreement_id).in_(list(without))]
        )
    return total


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
    without: Sequence[str] = (),
) -> DeadlinePage:
    """One page of materialised deadlines and the total, through the (date, kind) index;
    agreements in ``without`` left out."""
    conditions = _conditions(start=start, end=end, agreement=agreement, kind=kind, tag=tag)
    total = _stored_total(
        session,
        conditions,
        start=start,
        end=end,
        agreement=agreement,
        kind=kind,
        tag=tag,
        without=without,
    )
    if len(tag) == 1:
        page = _tag_page(
            tag[0],
            start=start,
            end=end,
            agreement=agreement,
            kind=kind,
            without=without,
            limit=limit,
            offset=offset,
        )
    else:
        if without:
            conditions.append(col(DeadlineRow.agreement_id).not_in(list(without)))
        rows = select(*PAGE_COLUMNS).where(*conditions).order_by(*_listing(DeadlineRow))
        page = _paged(rows, limit=limit, offset=offset)
    return DeadlinePage(
        [deadline_from_columns(row, as_of=as_of) for row in session.execute(page)],
        int(total),
        stored_failures(session, agreement=agreement, tag=tag),
    )


Page = Select[*tuple[Any, ...]]


def _listing(table: type[DeadlineRow] | type[DeadlineTagRow]) -> tuple[Any, ...]:
    """The columns deadlines are listed by: date, agreement, kind, party."""
    return (col(table.date), col(table.agreement_id), col(table.kind), col(table.party))


def _paged(query: Page, *, limit: int | None, offset: int) -> Page:
    query = query.offset(offset)
    return query if limit is None else query.limit(limit)


def _tag_page(
    tag: str,
    *,
    start: date,
    end: date,
    agreement: Sequence[str],
    kind: Sequence[str],
    without: Sequence[str],
    limit: int | None,
    offset: int,
) -> Page:
    """One page of the stored deadlines of agreements carrying ``tag``: the page's keys from
    ``deadline_tags`` (a range of its primary key, in query order, the rows skipped by
    ``offset`` included), then those rows of ``deadlines``."""
    t = DeadlineTagRow
    order = _listing(t)
    keys = select(*order).where(col(t.tag) == tag, col(t.date) >= start, col(t.date) <= end)
    if agreement:
        keys = keys.where(col(t.agreement_id).in_(list(agreement)))
    if kind:
        keys = keys.where(col(t.kind).in_(list(kind)))
    if without:
        keys = keys.where(col(t.agreement_id).not_in(list(without)))
    k = _paged(keys.order_by(*order), limit=limit, offset=offset).subquery("page_keys")
    d = DeadlineRow
    same = and_(
        col(d.date) == k.c.date,
        col(d.agreement_id) == k.c.agreement_id,
        col(d.kind) == k.c.kind,
        col(d.party) == k.c.party,
    )
    return (
        select(*PAGE_COLUMNS)
        .join_from(k, DeadlineRow, same)
        .order_by(k.c.date, k.c.agreement_id, k.c.kind, k.c.party)
    )


def stored_failures(
    session: Session, *, agreement: Sequence[str], tag: Sequence[str]
) -> list[AgreementFailure]:
    """The materialised agreements in scope whose deadlines could not be computed, by id
    (through a partial index: usually there are none)."""
    h = DeadlineHorizonRow
    query = select(col(h.agreement_id), col(h.error)).where(col(h.error).is_not(None))
    rows: list[tuple[str, str]] = remembered(
        session,
        "failures",
        lambda: [(i, e) for i, e in session.execute(query.order_by(col(h.agreement_id)))],
    )
    if rows and (agreement or tag):
        # Scoped only when there are any (usually none): the scope is a scan of agreements.
        scoped = query.where(col(h.agreement_id).in_(_matching_agreements(agreement, tag)))
        rows = [(i, e) for i, e in session.execute(scoped.order_by(col(h.agreement_id)))]
    return [AgreementFailure(agreement_id, error) for agreement_id, error in rows]


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
) -> DeadlinePage:
    """The same answer as :func:`stored_deadlines`, computed from the documents."""
    query = (
        select(AgreementRow)
        .where(col(AgreementRow.id).in_(_matching_agreements(agreement, tag)))
        .order_by(col(AgreementRow.id))
    )
    found: list[Deadline] = []
    failures: list[AgreementFailure] = []
    for row in session.scalars(query):
        deadlines, failure = deadlines_or_failure(row, as_of=as_of, start=start, end=end)
        found.extend(deadlines)
        if failure is not None:
            log_failure(failure)
            failures.append(failure)
    if kind:
        found = [d for d in found if d.kind.value in kind]
    found.sort(key=lambda d: (d.date, d.agreement, d.kind.value, d.party or ""))
    stop = None if limit is None else offset + limit
    return DeadlinePage(found[offset:stop], len(found), failures)


class Cache(Protocol):
    """Where :func:`query_deadlines` may keep answers (the API's one-second memo)."""

    def get(self, key: Hashable) -> Any | None: ...

    def put(self, key: Hashable, value: Any) -> None: ...


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
    cache: Cache | None = None,
) -> DeadlinePage:
    """Deadlines dated ``start``..``end`` (inclusive) as of ``as_of``, sorted by (date,
    agreement, kind, party): one page, the total count, and the agreements in scope whose
    deadlines could not be computed.

    Each filter matches any of its values; filters combine with AND. ``days_left`` counts
    from ``as_of``. With a ``cache``, the page and the coverage verdict (the costly part of a
    query over many agreements) are kept there and taken from it when present.
    """
    scope = (as_of, start, end, tuple(sorted(agreement)), tuple(sorted(tag)))
    key = ("page", *scope, tuple(sorted(kind)), limit, offset)
    if cache is not None:
        remembered: DeadlinePage | None = cache.get(key)
        if remembered is not None:
            return remembered
    with session_scope(engine) as session:
        # Kept in the cache in a 1-tuple: None is an answer here ("not covered").
        verdict: tuple[tuple[str, ...] | None] | None = (
            cache.get(("covered", *scope)) if cache is not None else None
        )
        if verdict is None:
            verdict = (
                coverage(session, as_of=as_of, start=start, end=end, agreement=agreement, tag=tag),
            )
            if cache is not None:
                cache.put(("covered", *scope), verdict)
        covered = verdict[0]
        query: dict[str, Any] = {
            "as_of": as_of,
            "start": start,
            "end": end,
            "agreement": agreement,
            "kind": kind,
            "tag": tag,
            "limit": limit,
            "offset": offset,
        }
        if covered is None or len(covered) > MAX_RECOMPUTED:
            result = computed_deadlines(session, **query)
        elif not covered:
            result = stored_deadlines(session, **query)
        else:
            result = _merged(session, covered, **query)
    if cache is not None:
        cache.put(key, result)
    return result


def _merged(
    session: Session,
    recompute: Sequence[str],
    *,
    as_of: date,
    start: date,
    end: date,
    agreement: Sequence[str],
    kind: Sequence[str],
    tag: Sequence[str],
    limit: int | None,
    offset: int,
) -> DeadlinePage:
    """Stored rows of most agreements and the deadlines of ``recompute`` computed as of
    ``as_of``, merged in query order: the answer :func:`computed_deadlines` would give."""
    upto = None if limit is None else offset + limit
    stored = stored_deadlines(
        session,
        as_of=as_of,
        start=start,
        end=end,
        agreement=agreement,
        kind=kind,
        tag=tag,
        limit=upto,
        offset=0,
        without=recompute,
    )
    computed = computed_deadlines(
        session,
        as_of=as_of,
        start=start,
        end=end,
        agreement=list(recompute),
        kind=kind,
        tag=tag,
        limit=None,
        offset=0,
    )
    both = sorted(
        [*stored.deadlines, *computed.deadlines],
        key=lambda d: (d.date, d.agreement, d.kind.value, d.party or ""),
    )
    failures = {f.agreement: f for f in [*stored.failures, *computed.failures]}
    return DeadlinePage(
        both[offset:upto],
        stored.total + computed.total,
        [failures[k] for k in sorted(failures)],
    )
