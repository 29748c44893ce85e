"""Named queries and writes for agreements.

Where an agreement comes from decides who may change it (``AgreementRow.origin``):

* ``file``: synced from the watched ``agreements_dir``; read-only over the API (edit the file);
  only :func:`tracker.store.sync.sync_directory` adds, changes or removes these rows.
* ``import``: loaded once by ``tracker import``; editable, like ``api`` rows. A file of the
  same id in the watched folder takes such a row over, since it came from a file too.
* ``api``: written through the HTTP API; never touched by syncing.

Every write that changes agreements runs in one transaction under :func:`lock_agreement_writes`,
so replicas and threads writing at once are serialised instead of racing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml
from pydantic import ValidationError
from sqlalchemy import JSON, Select, and_, cast, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tracker.domain.agreement import Agreement
from tracker.domain.reminder import ReminderStatus
from tracker.errors import (
    ComputeFailed,
    ConfigError,
    ConflictError,
    NotFoundError,
    ValidationFailed,
    failure_detail,
)
from tracker.store.counts import remembered
from tracker.store.engine import session_scope
from tracker.store.tables import (
    AgreementRow,
    DeadlineHorizonRow,
    DeadlineRow,
    EventRow,
    ReminderRow,
)

if TYPE_CHECKING:
    from tracker.loader import LoadedAgreement
    from tracker.store.deadlines import Horizon

ORIGIN_FILE = "file"
ORIGIN_IMPORT = "import"
ORIGIN_API = "api"
ORIGINS = (ORIGIN_FILE, ORIGIN_IMPORT, ORIGIN_API)

# Fixed key of the PostgreSQL advisory lock that serialises agreement writers ("agreemnt").
AGREEMENT_LOCK_KEY = 0x61677265656D6E74
# Reminders not yet final and not in a sender's hands; these are cancelled with their agreement.
CANCELLABLE_STATUSES = (ReminderStatus.PENDING.value, ReminderStatus.RETRYING.value)


@dataclass
class ImportReport:
    """What an import did, by agreement id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)


# --- reading ---------------------------------------------------------------------------


def tags_column(tags: Iterable[str]) -> str:
    """Tags as stored: ``,a,b,`` so that ``LIKE '%,a,%'`` matches a whole tag."""
    tags = list(tags)
    return "," + ",".join(tags) + "," if tags else ""


def tag_condition(column: Any, tags: Sequence[str]) -> Any:
    """SQL condition: the ``,a,b,`` column holds any of ``tags``. ``autoescape`` keeps a
    tag's ``%`` and ``_`` literal (LIKE would read them as wildcards: ``a_b`` matching ``axb``)."""
    return or_(*(column.contains(f",{tag},", autoescape=True) for tag in tags))


def agreement_from_row(row: AgreementRow) -> Agreement:
    """The stored document, validated; ComputeFailed (naming the agreement) when it no
    longer validates, e.g. stored by a version that accepted more."""
    try:
        return Agreement.model_validate_json(row.document)
    except ValidationError as exc:
        raise ComputeFailed(row.id, failure_detail(exc)) from exc


def list_agreement_rows(
    session: Session,
    *,
    tag: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: str | None = None,
) -> list[AgreementRow]:
    """Agreement rows ordered by id, optionally only those carrying ``tag``; with ``after``,
    only those whose id sorts after it (keyset paging: one primary-key range scan however
    deep the page, where an offset reads and drops every row before it)."""
    query = _agreement_page(select(AgreementRow), tag=tag, limit=limit, offset=offset, after=after)
    return list(session.scalars(query))


def _agreement_page(
    query: Select[Any], *, tag: str | None, limit: int | None, offset: int, after: str | None
) -> Select[Any]:
    """``query`` over agreements, ordered by id and narrowed to one page."""
    query = query.order_by(col(AgreementRow.id))
    if tag is not None:
        query = query.where(tag_condition(AgreementRow.tags, [tag]))
    if after is not None:
        query = query.where(col(AgreementRow.id) > after)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return query


class SummaryRow(NamedTuple):
    """What a list of agreements shows of one, read without its document or source text."""

    id: str
    title: str
    parties: list[str]
    tags: list[str]
    origin: str
    path: str | None
    revision: int
    updated_at: datetime | None


def list_agreement_summaries(
    session: Session,
    *,
    tag: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: str | None = None,
) -> list[SummaryRow]:
    """The rows :func:`list_agreement_rows` selects, as summaries: the parties are taken
    out of the stored document by the database (its JSON functions) and the tags from the
    ``tags`` column, so a page of 500 agreements sends and parses no document."""
    a = AgreementRow
    document = col(a.document)
    if session.get_bind().dialect.name == "postgresql":
        parties = func.json_extract_path_text(cast(document, JSON), "parties")
    else:
        parties = func.json_extract(document, "$.parties")
    query = select(
        col(a.id),
        col(a.title),
        parties,
        col(a.tags),
        col(a.origin),
        col(a.path),
        col(a.revision),
        col(a.updated_at),
    )
    query = _agreement_page(query, tag=tag, limit=limit, offset=offset, after=after)
    return [
        SummaryRow(
            agreement_id,
            title,
            json.loads(parties_json) if parties_json else [],
            [t for t in tags.split(",") if t],
            origin,
            path,
            revision,
            updated_at,
        )
        for agreement_id, title, parties_json, tags, origin, path, revision, updated_at in (
            session.execute(query)
        )
    ]


def count_agreement_rows(session: Session, *, tag: str | None = None) -> int:
    """How many agreements there are (with ``tag``): a scan, so remembered for the data
    version (:mod:`tracker.store.counts`). Readers' sessions only."""
    query = select(func.count()).select_from(AgreementRow)
    if tag is not None:
        query = query.where(tag_condition(AgreementRow.tags, [tag]))
    return remembered(session, ("agreements", tag), lambda: int(session.scalar(query) or 0))


def list_agreements(engine: Engine, *, tag: str | None = None) -> list[Agreement]:
    with session_scope(engine) as session:
        return [agreement_from_row(row) for row in list_agreement_rows(session, tag=tag)]


def readable_agreements(
    engine: Engine, *, tag: str | None = None
) -> tuple[list[Agreement], dict[str, str]]:
    """Every agreement whose stored document still validates, and the others (id -> why):
    planning and the CLI go on with the readable ones instead of failing on one."""
    agreements: list[Agreement] = []
    failed: dict[str, str] = {}
    with session_scope(engine) as session:
        for row in list_agreement_rows(session, tag=tag):
            try:
                agreements.append(agreement_from_row(row))
            except ComputeFailed as exc:
                failed[row.id] = exc.detail
    return agreements, failed


def get_agreement_row(session: Session, agreement_id: str) -> AgreementRow:
    row = session.get(AgreementRow, agreement_id)
    if row is None:
        raise NotFoundError(f"no agreement '{agreement_id}'")
    return row


def get_agreement(engine: Engine, agreement_id: str) -> Agreement:
    with session_scope(engine) as session:
        return agreement_from_row(get_agreement_row(session, agreement_id))


def rows_by_id(session: Session, ids: Iterable[str] | None = None) -> dict[str, AgreementRow]:
    """Agreement rows keyed by id (all of them when ``ids`` is None)."""
    query = select(AgreementRow)
    if ids is not None:
        query = query.where(col(AgreementRow.id).in_(list(ids)))
    return {row.id: row for row in session.scalars(query)}


def agreements_version(engine: Engine) -> tuple[Any, ...]:
    """Count, newest write and sum of revisions of all agreements: any insert, update or
    delete by any process moves it, so a watcher can tell that agreements changed."""
    query = select(
        func.count(), func.max(col(AgreementRow.updated_at)), func.sum(col(AgreementRow.revision))
    )
    with session_scope(engine) as session:
        return tuple(session.execute(query).one())


def own_reminders(engine: Engine) -> dict[str, Any]:
    """``id -> reminders`` (the document's value, as stored) of every agreement whose
    document names its own reminders; remembered for the data version. Documents are stored
    as compact JSON (``model_dump_json``), so ``"reminders":null`` marks the others, which
    the database leaves out without sending them."""
    query = select(col(AgreementRow.id), col(AgreementRow.document)).where(
        ~col(AgreementRow.document).contains('"reminders":null', autoescape=True)
    )

    def read() -> dict[str, Any]:
        return {
            agreement_id: json.loads(document).get("reminders")
            for agreement_id, document in session.execute(query)
        }

    with session_scope(engine) as session:
        return dict(remembered(session, "own reminders", read))


def agreement_documents(engine: Engine, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``id -> (title, document JSON)`` of the agreements among ``ids`` that exist."""
    wanted = list(ids)
    if not wanted:
        return {}
    query = select(col(AgreementRow.id), col(AgreementRow.title), col(AgreementRow.document))
    with session_scope(engine) as session:
        rows = session.execute(query.where(col(AgreementRow.id).in_(wanted))).all()
    return {agreement_id: (title, document) for agreement_id, title, document in rows}


def missing_ids(engine: Engine, ids: Iterable[str]) -> list[str]:
    """Those of ``ids`` that name no stored agreement, in the order given."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    query = select(col(AgreementRow.id)).where(col(AgreementRow.id).in_(wanted))
    with session_scope(engine) as session:
        found = set(session.scalars(query))
    return [agreement_id for agreement_id in wanted if agreement_id not in found]


def agreement_titles(engine: Engine, *, limit: int) -> list[tuple[str, str]]:
    """(id, title) of the first ``limit`` agreements by id, remembered for the data version
    (every page shows them)."""
    query = (
        select(col(AgreementRow.id), col(AgreementRow.title))
        .order_by(col(AgreementRow.id))
        .limit(limit)
    )
    with session_scope(engine) as session:
        return list(
            remembered(
                session,
                ("titles", limit),
                lambda: [(i, t) for i, t in session.execute(query)],
            )
        )


def all_tags(engine: Engine) -> list[str]:
    """Every tag any agreement carries, sorted."""
    with session_scope(engine) as session:
        return list(remembered(session, "tags", lambda: _all_tags(session)))


def _all_tags(session: Session) -> list[str]:
    columns = session.scalars(select(col(AgreementRow.tags)).distinct()).all()
    return sorted({tag for column in columns for tag in column.split(",") if tag})


# --- writing ---------------------------------------------------------------------------


def lock_agreement_writes(session: Session) -> None:
    """Serialise agreement writers for the rest of this transaction.

    PostgreSQL: a transaction-level advisory lock, released by commit or rollback. SQLite: a
    write that matches nothing, which takes the database's write lock now (waiting up to the
    busy timeout) rather than at the first real write, where a reader that lost the race
    would fail with "database is locked" instead of waiting.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AGREEMENT_LOCK_KEY})
    else:
        session.execute(
            update(AgreementRow).where(col(AgreementRow.id).is_(None)).values(revision=0)
        )


def read_only_error(row: AgreementRow) -> ConflictError:
    return ConflictError(
        f"agreement '{row.id}' is read-only: it comes from file {row.path}; edit the file instead"
    )


def agreement_values(
    loaded: LoadedAgreement, *, origin: str, now: datetime, revision: int
) -> dict[str, Any]:
    agreement = loaded.agreement
    return {
        "id": agreement.id,
        "title": agreement.title,
        "document": agreement.model_dump_json(),
        "source_text": loaded.text,
        "origin": origin,
        "path": loaded.path if origin != ORIGIN_API else None,
        "sha256": loaded.sha256,
        "tags": tags_column(agreement.tags),
        "revision": revision,
        "updated_at": now,
    }


def upsert_agreement(
    session: Session, values: dict[str, Any], *, keep_origins: Sequence[str] = ()
) -> bool:
    """Insert or update one agreement row; rows whose origin is in ``keep_origins`` are left
    alone even if another writer inserted one a moment ago. Returns whether a row was written.

    ``INSERT ... ON CONFLICT DO UPDATE`` tolerates a concurrent insert of the same id, which a
    read-then-insert would turn into an IntegrityError.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AgreementRow).values(**values)
    changes: dict[str, Any] = {k: statement.excluded[k] for k in values if k != "id"}
    changes["revision"] = col(AgreementRow.revision) + 1
    where = col(AgreementRow.origin).not_in(list(keep_origins)) if keep_origins else None
    statement = statement.on_conflict_do_update(index_elements=["id"], set_=changes, where=where)
    result = session.execute(statement)
    return bool(getattr(result, "rowcount", 1))


def replace_events(session: Session, agreement: Agreement) -> None:
    """Mirror the document's events into ``events`` (delete and re-insert)."""
    session.execute(delete(EventRow).where(col(EventRow.agreement_id) == agreement.id))
    session.add_all(
        EventRow(
            agreement_id=agreement.id,
            date=event.date,
            type=event.type.value,
            party=event.party or "",
            note=event.note,
        )
        for event in agreement.events
    )


def forget_deadlines(session: Session, agreement_ids: Sequence[str]) -> None:
    """Drop materialised deadlines of changed agreements; queries recompute from the
    documents until the planner materialises them again."""
    if not agreement_ids:
        return
    ids = list(agreement_ids)
    session.execute(delete(DeadlineRow).where(col(DeadlineRow.agreement_id).in_(ids)))
    session.execute(delete(DeadlineHorizonRow).where(col(DeadlineHorizonRow.agreement_id).in_(ids)))


def cancel_pending_reminders(
    session: Session, agreement_ids: Sequence[str], *, now: datetime, reason: str
) -> int:
    """Mark reminders of removed agreements ``cancelled`` (kept, so the log stays complete)."""
    if not agreement_ids:
        return 0
    result = session.execute(
        update(ReminderRow)
        .where(col(ReminderRow.agreement_id).in_(list(agreement_ids)))
        .where(col(ReminderRow.status).in_(CANCELLABLE_STATUSES))
        # a digest named like the agreement is not the agreement's
        .where(col(ReminderRow.purpose) != "digest")
        .values(status=ReminderStatus.CANCELLED.value, reason=reason, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0))


def remove_agreements(
    session: Session, agreement_ids: Sequence[str], *, now: datetime, reason: str
) -> None:
    """Delete agreements with their events and deadlines; cancel their pending reminders."""
    if not agreement_ids:
        return
    ids = list(agreement_ids)
    cancel_pending_reminders(session, ids, now=now, reason=reason)
    forget_deadlines(session, ids)
    session.execute(delete(EventRow).where(col(EventRow.agreement_id).in_(ids)))
    session.execute(delete(AgreementRow).where(col(AgreementRow.id).in_(ids)))


def write_agreement(
    session: Session,
    loaded: LoadedAgreement,
    *,
    origin: str,
    now: datetime,
    existing: AgreementRow | None,
    keep_origins: Sequence[str] = (),
) -> bool:
    """Upsert one agreement with its events; returns whether it was written."""
    revision = existing.revision + 1 if existing is not None else 1
    written = upsert_agreement(
        session,
        agreement_values(loaded, origin=origin, now=now, revision=revision),
        keep_origins=keep_origins,
    )
    if written:
        replace_events(session, loaded.agreement)
        forget_deadlines(session, [loaded.agreement.id])
    return written


#: Agreements per statement when new ones are written in bulk.
BULK_AGREEMENTS = 500


def insert_new_agreements(
    session: Session,
    items: Sequence[LoadedAgreement],
    *,
    origin: str,
    now: datetime,
    keep_origins: Sequence[str] = (),
) -> None:
    """Write agreements that have no row yet (revision 1) with their events, in bulk.

    The same rows as :func:`write_agreement` for each, written as multi-row statements
    compiled once: per-row upserts were most of the time a first sync of 10,000 files took.
    Called under the agreement-writer lock, after reading that no row exists; the statement
    is still the upsert, so a row that appeared meanwhile is updated as one would be.
    """
    if not items:
        return
    dialect = session.get_bind().dialect.name
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_of(AgreementRow)
    columns = agreement_values(items[0], origin=origin, now=now, revision=1)
    changes: dict[str, Any] = {k: statement.excluded[k] for k in columns if k != "id"}
    changes["revision"] = col(AgreementRow.revision) + 1
    # Not NOT IN: an expanding parameter cannot run as executemany.
    keep = [col(AgreementRow.origin) != origin_kept for origin_kept in keep_origins]
    where = and_(*keep) if keep else None
    statement = statement.on_conflict_do_update(index_elements=["id"], set_=changes, where=where)
    connection = session.connection()
    for start in range(0, len(items), BULK_AGREEMENTS):
        chunk = items[start : start + BULK_AGREEMENTS]
        connection.execute(
            statement,
            [agreement_values(item, origin=origin, now=now, revision=1) for item in chunk],
        )
    events = [
        {
            "agreement_id": item.agreement.id,
            "date": event.date,
            "type": event.type.value,
            "party": event.party or "",
            "note": event.note,
        }
        for item in items
        for event in item.agreement.events
    ]
    for start in range(0, len(events), BULK_AGREEMENTS):
        connection.execute(insert_of(EventRow), events[start : start + BULK_AGREEMENTS])


def materialize_or_refuse(
    session: Session, loaded: Sequence[LoadedAgreement], *, now: datetime, horizon: Horizon | None
) -> None:
    """Store the deadlines of the agreements just written, in the write's transaction; when
    any cannot be computed, raise ValidationFailed naming each file (``<request>`` for an API
    body), so that the transaction rolls back and nothing of the write is stored."""
    from tracker.store.deadlines import Horizon, materialize_written

    if not loaded:
        return
    failures = materialize_written(
        session,
        [item.agreement for item in loaded],
        horizon=horizon if horizon is not None else Horizon.default(now),
    )
    if failures:
        paths = {item.agreement.id: item.path for item in loaded}
        raise ValidationFailed(
            [
                ConfigError(failure.detail, file=paths.get(failure.agreement) or "<request>")
                for failure in failures
            ]
        )


def save_api_agreement(
    engine: Engine,
    loaded: LoadedAgreement,
    *,
    now: datetime,
    replace: bool,
    horizon: Horizon | None = None,
) -> AgreementRow:
    """Create (``replace=False``) or replace an agreement from the API, with its deadlines
    materialised over ``horizon`` in the same transaction.

    Raises ConflictError when creating an id that exists or writing a file-owned agreement,
    NotFoundError when replacing one that does not exist, ValidationFailed (storing nothing)
    when its deadlines cannot be computed.
    """
    agreement_id = loaded.agreement.id
    with session_scope(engine) as session:
        lock_agreement_writes(session)
        existing = session.get(AgreementRow, agreement_id)
        if existing is not None and existing.origin == ORIGIN_FILE:
            raise read_only_error(existing)
        if existing is not None and not replace:
            raise ConflictError(f"agreement '{agreement_id}' already exists")
        if existing is None and replace:
            raise NotFoundError(f"no agreement '{agreement_id}'")
        written = write_agreement(
            session,
            loaded,
            origin=ORIGIN_API,
            now=now,
            existing=existing,
            keep_origins=(ORIGIN_FILE,),
        )
        materialize_or_refuse(session, [loaded] if written else [], now=now, horizon=horizon)
        session.expire_all()
        return get_agreement_row(session, agreement_id)


def delete_api_agreement(engine: Engine, agreement_id: str, *, now: datetime | None = None) -> None:
    """Delete an agreement that is not file-owned, with its events and deadlines; its
    pending reminders become ``cancelled``."""
    with session_scope(engine) as session:
        lock_agreement_writes(session)
        row = get_agreement_row(session, agreement_id)
        if row.origin == ORIGIN_FILE:
            raise read_only_error(row)
        # The interface callers code against has no ``now``; the API passes one when it can.
        stamp = now if now is not None else datetime.now(UTC)
        remove_agreements(session, [agreement_id], now=stamp, reason="agreement deleted")


def import_agreements(
    engine: Engine,
    loaded: Sequence[LoadedAgreement],
    *,
    origin: str,
    now: datetime,
    horizon: Horizon | None = None,
) -> ImportReport:
    """Upsert ``loaded`` by id in ONE transaction: all of them or, on any error, none. The
    deadlines of those written are materialised in it; one that cannot be computed fails the
    whole import (ValidationFailed naming its file).

    An agreement whose stored text has the same sha256 and origin is left as it is. With
    ``origin='import'`` a file-owned id is refused (ConflictError) unless identical.
    """
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}; expected one of {ORIGINS}")
    report = ImportReport()
    written: list[LoadedAgreement] = []
    with session_scope(engine) as session:
        lock_agreement_writes(session)
        existing = rows_by_id(session, [item.agreement.id for item in loaded])
        for item in loaded:
            agreement_id = item.agreement.id
            row = existing.get(agreement_id)
            if (
                row is not None
                and row.sha256 == item.sha256
                and (row.origin == origin or row.origin == ORIGIN_FILE)
            ):
                report.unchanged.append(agreement_id)
                continue
            if row is not None and row.origin == ORIGIN_FILE and origin != ORIGIN_FILE:
                raise read_only_error(row)
            write_agreement(session, item, origin=origin, now=now, existing=row)
            (report.updated if row is not None else report.added).append(agreement_id)
            written.append(item)
        materialize_or_refuse(session, written, now=now, horizon=horizon)
    return report


# --- export ----------------------------------------------------------------------------


def _is_json_document(source_text: str) -> bool:
    try:
        return isinstance(json.loads(source_text), dict)
    except ValueError:
        return False


def export_text(row: AgreementRow) -> str:
    """YAML for one agreement: the text as written, or for a JSON body a YAML dump of it."""
    if not _is_json_document(row.source_text):
        return row.source_text
    document = agreement_from_row(row).model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def export_agreements(engine: Engine, ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(id, YAML text)`` for ``ids`` in the order given (all, by id, when None).
    Raises NotFoundError naming every unknown id."""
    with session_scope(engine) as session:
        if ids is None:
            rows = list_agreement_rows(session)
        else:
            found = rows_by_id(session, ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFoundError(
                    "no agreement " + ", ".join(f"'{agreement_id}'" for agreement_id in missing)
                )
            rows = [found[i] for i in ids]
        return [(row.id, export_text(row)) for row in rows]
