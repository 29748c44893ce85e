"""Agreements: list, read, save (create or replace), delete, import, export, explain.

A write stores the agreement and materialises its deadlines over the context's horizon in
one transaction (one that cannot be computed is refused, storing nothing), then sets in
motion what the context's ``after_write`` says: the API forgets its remembered answers and
lets the service re-plan the reminders right away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from tracker.app.deadlines import check_day
from tracker.domain.agreement import ID_PATTERN, Agreement
from tracker.domain.deadline import Action, Deadline
from tracker.domain.durations import parse_duration, shift_within
from tracker.domain.explain import Explanation, explain_or_fail
from tracker.errors import NotFoundError
from tracker.settings import Settings
from tracker.store import repository
from tracker.store.engine import (
    database_errors,
    has_agreements_table,
    is_missing_sqlite_file,
    session_scope,
)
from tracker.store.repository import ORIGIN_IMPORT, ImportReport
from tracker.store.tables import AgreementRow

if TYPE_CHECKING:
    from tracker.app.context import Context
    from tracker.app.reminders import Reminder
    from tracker.loader import LoadedAgreement

_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class AgreementSummary:
    """An agreement as lists show it; ``origin`` says who may change it (``file`` agreements
    are read-only: edit the file)."""

    id: str
    title: str
    parties: list[str]
    tags: list[str]
    origin: str
    path: str | None
    revision: int
    updated_at: datetime | None


@dataclass(frozen=True)
class AgreementDetail(AgreementSummary):
    """An agreement with its validated document."""

    document: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgreementPage:
    data: list[AgreementSummary]
    count: int
    last_id: str | None = None


@dataclass(frozen=True)
class Overview:
    """Everything the agreement's page shows."""

    agreement: Agreement
    origin: str
    path: str | None
    explanation: Explanation
    reminders: list[Reminder]
    #: The next ``act_by`` date (a notice deadline) when the explanation's window, two years,
    #: holds none: a five-year renewal's notice deadline may lie years ahead.
    next_act_by: Deadline | None = None


def _summary_values(row: AgreementRow, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "parties": document.get("parties", []),
        "tags": document.get("tags", []),
        "origin": row.origin,
        "path": row.path,
        "revision": row.revision,
        "updated_at": row.updated_at,
    }


def _detail(row: AgreementRow) -> AgreementDetail:
    document = json.loads(row.document)
    return AgreementDetail(**_summary_values(row, document), document=document)


def list_agreements(
    context: Context,
    *,
    tag: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: str | None = None,
) -> AgreementPage:
    """Agreements ordered by id, optionally only those with ``tag`` and only those after the
    id ``after``; ``count`` is the number of all matches (``after`` aside), ``last_id`` the
    id to continue after when the page is full (None on a page that is not)."""
    with session_scope(context.engine) as session:
        rows = repository.list_agreement_summaries(
            session, tag=tag, limit=limit, offset=offset, after=after
        )
        total = repository.count_agreement_rows(session, tag=tag)
        full = limit is not None and len(rows) == limit
        return AgreementPage(
            [AgreementSummary(*row) for row in rows], total, rows[-1].id if full else None
        )


@dataclass(frozen=True)
class Suggestion:
    """An agreement offered by the page's filter: its id and title."""

    id: str
    title: str


def suggestions(context: Context, *, limit: int) -> list[Suggestion]:
    """The first ``limit`` agreements by id, as the page's filter offers them."""
    return [
        Suggestion(agreement_id, title)
        for agreement_id, title in repository.agreement_titles(context.engine, limit=limit)
    ]


def count(context: Context, *, tag: str | None = None) -> int:
    with session_scope(context.engine) as session:
        return repository.count_agreement_rows(session, tag=tag)


def require_known(context: Context, ids: Sequence[str]) -> None:
    """NotFoundError naming the first of ``ids`` that is no stored agreement: a filter by an
    unknown id says so instead of answering "nothing due". An id that no agreement could have
    (a NUL, a space, capitals: see ``ID_PATTERN``) is missing without asking the database,
    which would refuse some of them (PostgreSQL and NUL)."""
    possible = [i for i in ids if _ID.fullmatch(i)]
    missing = set(repository.missing_ids(context.engine, possible)) if possible else set()
    missing |= set(ids) - set(possible)
    for agreement_id in ids:
        if agreement_id in missing:
            raise NotFoundError(f"no agreement {agreement_id!r} exists")


def tags(context: Context) -> list[str]:
    """Every tag in use, sorted."""
    return repository.all_tags(context.engine)


def get(context: Context, agreement_id: str) -> AgreementDetail:
    """One agreement; NotFoundError when there is none with that id."""
    with session_scope(context.engine) as session:
        return _detail(repository.get_agreement_row(session, agreement_id))


def save(
    context: Context, loaded: LoadedAgreement, *, now: datetime, replace: bool
) -> AgreementDetail:
    """Create (``replace=False``) or replace an agreement written through the API.

    ConflictError when creating an id that exists or writing a file-owned agreement,
    NotFoundError when replacing one that does not exist, ValidationFailed (storing nothing)
    when its deadlines cannot be computed.
    """
    row = repository.save_api_agreement(
        context.engine, loaded, now=now, replace=replace, horizon=context.horizon(now)
    )
    context.written(now=now)
    return _detail(row)


def delete(context: Context, agreement_id: str, *, now: datetime) -> None:
    """Delete an agreement that is not file-owned; its pending reminders are cancelled."""
    repository.delete_api_agreement(context.engine, agreement_id, now=now)
    context.written(now=now)


def import_loaded(
    context: Context, loaded: Sequence[LoadedAgreement], *, now: datetime
) -> ImportReport:
    """Store validated files as ``import`` agreements, all of them or none."""
    report = repository.import_agreements(
        context.engine, loaded, origin=ORIGIN_IMPORT, now=now, horizon=context.horizon(now)
    )
    context.written(now=now)
    return report


def export(context: Context, ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(id, YAML text)`` for ``ids`` in the order given (all, by id, when None);
    NotFoundError naming every unknown id."""
    return repository.export_agreements(context.engine, ids)


def explanation(agreement: Agreement, *, as_of: date) -> Explanation:
    """How ``agreement``'s dates come about as of ``as_of`` (a day the tracker answers for)."""
    check_day(as_of, "as_of")
    return explain_or_fail(agreement, as_of=as_of)


def explain(context: Context, agreement_id: str, *, as_of: date) -> tuple[Agreement, Explanation]:
    """The stored agreement and its explanation as of ``as_of``."""
    check_day(as_of, "as_of")
    agreement = repository.get_agreement(context.engine, agreement_id)
    return agreement, explain_or_fail(agreement, as_of=as_of)


def overview(context: Context, agreement_id: str, *, as_of: date) -> Overview:
    """The stored agreement, where it comes from, its explanation and its reminders."""
    from tracker.app.reminders import of_agreement

    with session_scope(context.engine) as session:
        row = repository.get_agreement_row(session, agreement_id)
        origin, path = row.origin, row.path
        agreement = repository.agreement_from_row(row)
    explained = explain_or_fail(agreement, as_of=as_of)
    shown = any(d.action is Action.ACT_BY and d.date >= as_of for d in explained.deadlines)
    return Overview(
        agreement=agreement,
        origin=origin,
        path=path,
        explanation=explained,
        reminders=of_agreement(context, agreement_id),
        next_act_by=None if shown else next_act_by(agreement, as_of=as_of),
    )


#: How far :func:`next_act_by` looks, in growing steps (a century at most).
NEXT_ACT_BY_YEARS = (10, 100)


def next_act_by(agreement: Agreement, *, as_of: date) -> Deadline | None:
    """The first ``act_by`` deadline on or after ``as_of`` within a century, or None. Looks
    ten years ahead first (cheap for a daily recurring rule), then a hundred; the window ends
    at 9999-12-31 at the latest."""
    from tracker.domain.rules import compute_deadlines

    for years in NEXT_ACT_BY_YEARS:
        end = shift_within(as_of, parse_duration(f"{years} years")) or date.max
        found = compute_deadlines(agreement, as_of=as_of, start=as_of, end=end)
        for deadline in found:
            if deadline.action is Action.ACT_BY:
                return deadline
    return None


def stored(settings: Settings) -> tuple[list[Agreement], dict[str, str]] | None:
    """The stored agreements whose documents still validate, and the others (id -> why), for
    a reading command; None when the database holds none. Reading never creates the database
    (a missing SQLite file is an empty database) nor migrates it. Any database failure is a
    :class:`tracker.errors.DatabaseError`."""
    from tracker.app.context import Context

    if is_missing_sqlite_file(settings.database_url):
        return None
    context = Context.connect(settings)
    try:
        if not has_agreements_table(context.engine):
            return None
        with database_errors():
            agreements, failed = repository.readable_agreements(context.engine)
    finally:
        context.close()
    return (agreements, failed) if agreements or failed else None
