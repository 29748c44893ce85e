"""Named queries on the reminder outbox (``reminders``, ``delivery_attempts``, ``channel_state``).

Every write here is safe with several processes on one database:

* planning inserts with ``INSERT ... ON CONFLICT DO NOTHING`` on the reminder key, so two
  replicas planning at once create each reminder once;
* cancel/skip/acknowledge are conditional UPDATEs (``WHERE status IN (...)``), so a row that
  another process claimed or finished meanwhile is left alone;
* :func:`claim_due` takes rows atomically: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``
  inside the ``UPDATE``, on SQLite inside a ``BEGIN IMMEDIATE`` transaction (SQLite has one
  writer; taking the write lock up front avoids the deferred-transaction upgrade that fails
  with ``SQLITE_BUSY`` under WAL instead of waiting);
* an attempt is recorded (:func:`write_journal`) before it is sent, and only while the worker
  still holds the claim; its outcome always lands on the attempt row, and on the reminder row
  only while the worker still holds it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from tracker.domain.planner import Change, PlannedReminder, ReminderKey, StoredReminder
from tracker.domain.reminder import FINAL_STATUSES, ReminderStatus
from tracker.errors import NotFoundError
from tracker.store.bulk import bulk_insert
from tracker.store.engine import connect, outages_translated
from tracker.store.tables import (
    AcknowledgementRow,
    ChannelStateRow,
    DeliveryAttemptRow,
    ReminderRow,
)

R = ReminderRow.__table__  # type: ignore[attr-defined]
A = DeliveryAttemptRow.__table__  # type: ignore[attr-defined]
C = ChannelStateRow.__table__  # type: ignore[attr-defined]
K = AcknowledgementRow.__table__  # type: ignore[attr-defined]

#: Rows per bulk insert of planned reminders (a COPY on PostgreSQL).
BULK_CHUNK_ROWS = 20_000
REASON_MAX_CHARS = 200

UNSENT = (ReminderStatus.PENDING, ReminderStatus.RETRYING, ReminderStatus.SENDING)
#: ``reminders.purpose`` of a digest row (the digest job's, never the planner's).
DIGEST = "digest"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that may write; on SQLite it takes the write lock at BEGIN."""
    with outages_translated(), engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # pysqlite starts transactions lazily; an explicit BEGIN IMMEDIATE replaces its
            # implicit deferred BEGIN, and the busy timeout makes other writers wait for it.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


# --- planning -------------------------------------------------------------------------------


def stored_for_planning(engine: Engine, *, since: date | None = None) -> list[StoredReminder]:
    """Stored reminders as the planner sees them (key, status, due time).

    With ``since``, final rows of deadlines before that day are left out: the planner no
    longer wants their keys, and the delivery history only grows.
    """
    query = select(
        R.c.id,
        R.c.agreement_id,
        R.c.deadline_kind,
        R.c.deadline_date,
        R.c.party,
        R.c.offset,
        R.c.channel,
        R.c.purpose,
        R.c.status,
        R.c.due_at,
    ).where(R.c.purpose != DIGEST)  # digests are the digest job's, not the planner's
    if since is not None:
        final = [status.value for status in FINAL_STATUSES]
        query = query.where(or_(R.c.deadline_date >= since, R.c.status.not_in(final)))
    with connect(engine) as connection:
        return [
            StoredReminder(
                id=row.id,
                key=ReminderKey(
                    row.agreement_id,
                    row.deadline_kind,
                    row.deadline_date,
                    row.party,
                    row.offset,
                    row.channel,
                    row.purpose,
                ),
                status=ReminderStatus(row.status),
                due_at=row.due_at,
            )
            for row in connection.execute(query)
        ]


def _insert_statement(dialect: str) -> Any:
    """One row's INSERT that leaves an existing reminder key as it is (bulk planning uses
    :func:`tracker.store.bulk.bulk_insert`)."""
    if dialect == "postgresql":
        return postgresql.insert(R).on_conflict_do_nothing(constraint="uq_reminder_key")
    if dialect == "sqlite":
        return sqlite.insert(R).on_conflict_do_nothing()
    return insert(R)


def insert_planned(engine: Engine, planned: Sequence[PlannedReminder], *, now: datetime) -> int:
    """Insert new reminders; keys that exist already are left as they are. Returns the number
    of rows actually inserted."""
    if not planned:
        return 0
    inserted = 0
    with write_transaction(engine) as connection:
        for start in range(0, len(planned), BULK_CHUNK_ROWS):
            chunk = planned[start : start + BULK_CHUNK_ROWS]
            values = [
                {
                    "agreement_id": p.key.agreement,
                    "deadline_kind": p.key.deadline_kind,
                    "deadline_date": p.key.deadline_date,
                    "party": p.key.party,
                    "offset": p.key.offset,
                    "channel": p.key.channel,
                    "purpose": p.key.purpose,
                    "webhook_id": p.webhook_id,
                    "due_at": p.due_at,
                    "status": p.status.value,
                    "reason": p.reason.value,
                    "attempts": 0,
                    "next_attempt_at": p.due_at,
                    "deadline_json": p.deadline_json(),
                    "created_at": now,
                    "updated_at": now,
                }
                for p in chunk
            ]
            # In bulk (COPY on PostgreSQL); a key that exists already is left as it is, and
            # only the rows actually inserted are counted.
            inserted += bulk_insert(connection, R, values, skip_existing=True)
    return inserted


def apply_changes(engine: Engine, changes: Iterable[Change], *, now: datetime) -> int:
    """Move stored reminders to cancelled/skipped; only rows still pending or retrying change
    (one being sent right now finishes its attempt). Returns the number changed."""
    params = [
        {
            "rid": c.id,
            "new_status": c.status.value,
            "new_reason": c.reason_text[:REASON_MAX_CHARS],
            "now": now,
        }
        for c in sorted(changes, key=lambda c: c.id)
    ]
    if not params:
        return 0
    statement = (
        update(R)
        .where(
            R.c.id == bindparam("rid"),
            # or_ rather than IN: an expanding IN cannot run as executemany.
            or_(
                R.c.status == ReminderStatus.PENDING.value,
                R.c.status == ReminderStatus.RETRYING.value,
            ),
        )
        .values(
            status=bindparam("new_status"),
            reason=bindparam("new_reason"),
            updated_at=bindparam("now"),
        )
    )
    with write_transaction(engine) as connection:
        result = connection.execute(statement, params)
        return max(result.rowcount or 0, 0)


# --- dispatch -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedReminder:
    """A row claimed for sending by one worker."""

    id: int
    agreement_id: str
    channel: str
    offset: str
    webhook_id: str
    due_at: datetime
    attempts: int  # attempts recorded before this one
    deadline: dict[str, Any]  # a digest's list, for a digest
    purpose: str = "reminder"
    deadline_date: date | None = None


def _claimable(now: datetime) -> Any:
    waiting = and_(
        R.c.status.in_([ReminderStatus.PENDING.value, ReminderStatus.RETRYING.value]),
        R.c.next_attempt_at <= now,
    )
    abandoned = and_(R.c.status == ReminderStatus.SENDING.value, R.c.lease_until < now)
    return or_(waiting, abandoned)


def claim_due(
    engine: Engine, *, now: datetime, worker: str, limit: int, lease_until: datetime
) -> list[ClaimedReminder]:
    """Claim up to ``limit`` due rows for ``worker`` until ``lease_until``, oldest first.

    Due means pending/retrying with ``next_attempt_at <= now``, or ``sending`` with an expired
    lease (its claimer died). Rows locked by another transaction are skipped, not waited for.
    """
    with write_transaction(engine) as connection:
        pick = select(R.c.id).where(_claimable(now)).order_by(R.c.next_attempt_at, R.c.id)
        pick = pick.limit(limit)
        if connection.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(R)
            .where(R.c.id.in_(pick.scalar_subquery()))
            .values(
                status=ReminderStatus.SENDING.value,
                claimed_by=worker,
                lease_until=lease_until,
                updated_at=now,
            )
            .returning(
                R.c.id,
                R.c.agreement_id,
                R.c.channel,
                R.c.offset,
                R.c.webhook_id,
                R.c.due_at,
                R.c.attempts,
                R.c.deadline_json,
                R.c.purpose,
                R.c.deadline_date,
            )
        )
        rows = connection.execute(statement).all()
    claimed = [
        ClaimedReminder(
            id=r.id,
            agreement_id=r.agreement_id,
            channel=r.channel,
            offset=r.offset,
            webhook_id=r.webhook_id,
            due_at=r.due_at,
            attempts=r.attempts,
            deadline=json.loads(r.deadline_json),
            purpose=r.purpose,
            deadline_date=r.deadline_date,
        )
        for r in rows
    ]
    claimed.sort(key=lambda c: (c.due_at, c.id))
    return claimed


#: ``delivery_attempts.outcome`` of an attempt that has started and not yet ended. It stays so
#: only when its worker died or lost the database before recording the outcome; the next
#: attempt of the reminder turns it into :data:`INTERRUPTED`.
IN_FLIGHT = "in_flight"
INTERRUPTED = "interrupted"
INTERRUPTED_ERROR = (
    "the worker stopped or lost the database before recording this attempt's outcome; "
    "the receiver may have got it; it was sent again with the same id"
)


@dataclass(frozen=True, slots=True)
class AttemptStart:
    """A claimed reminder about to be sent: its attempt is recorded before anything goes out.

    ``reopened`` is set when an earlier attempt may still be marked in flight (the reminder was
    tried before, or this start is being retried after an error of unknown outcome)."""

    reminder_id: int
    channel: str
    reopened: bool = False


@dataclass(frozen=True, slots=True)
class StartedAttempt:
    attempt_id: int
    attempt: int  # its number, 1-based: the reminder's attempts including this one


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt did, and what becomes of its reminder."""

    reminder_id: int
    attempt: int
    channel: str
    duration_ms: float
    outcome: str  # a tracker.dispatch.Outcome value
    new_status: ReminderStatus
    ended_at: datetime  # when the outcome was known
    attempt_id: int | None = None  # None when nothing was tried (e.g. channel disabled)
    status_code: int | None = None
    detail: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    reason: str | None = None


@dataclass
class JournalWrite:
    """What one :func:`write_journal` transaction did."""

    started: dict[int, StartedAttempt]  # reminder id -> its new attempt
    not_held: list[int]  # starts refused: the row is no longer claimed by this worker
    lost: list[int]  # outcomes recorded on the attempt only: the row had left this worker


def write_journal(
    engine: Engine,
    *,
    starts: Sequence[AttemptStart] = (),
    results: Sequence[AttemptResult] = (),
    worker: str,
    now: datetime,
    lease_until: datetime,
) -> JournalWrite:
    """Record attempt starts and outcomes of ``worker`` in one transaction.

    A start is refused unless ``worker`` still holds the row (status ``sending``, claimed by it):
    a row whose lease expired and that another worker claimed, or that was acknowledged
    meanwhile, is never sent by this one. A started attempt gets its ``delivery_attempts`` row
    (outcome :data:`IN_FLIGHT`) and the reminder's ``attempts`` count and a fresh lease, before
    the caller sends anything.

    An outcome is always written on its attempt row; the reminder row takes its new state only
    while ``worker`` still holds it (listed in ``lost`` otherwise).
    """
    written = JournalWrite(started={}, not_held=[], lost=[])
    with write_transaction(engine) as connection:
        if results:
            written.lost = _record_outcomes(connection, results, worker=worker, now=now)
        if starts:
            written.started = _start_attempts(
                connection, starts, worker=worker, now=now, lease_until=lease_until
            )
            started = written.started
            written.not_held = [s.reminder_id for s in starts if s.reminder_id not in started]
    return written


# The journal runs for every delivery: its statements are built once, not per transaction
# (building a statement costs more than executing it on SQLite).
@functools.cache
def _journal_statements() -> dict[str, Any]:
    ids: Any = bindparam("ids", expanding=True)
    held = and_(R.c.status == ReminderStatus.SENDING.value, R.c.claimed_by == bindparam("holder"))
    return {
        "interrupt": update(A)
        .where(A.c.reminder_id.in_(ids), A.c.outcome == IN_FLIGHT)
        .values(outcome=INTERRUPTED, error=INTERRUPTED_ERROR),
        "count": update(R)
        .where(R.c.id.in_(ids), held)
        .values(
            attempts=R.c.attempts + 1,
            lease_until=bindparam("new_lease"),
            updated_at=bindparam("now"),
        )
        .returning(R.c.id, R.c.attempts),
        "insert": insert(A).returning(A.c.id, A.c.reminder_id),
        "outcome": update(A)
        .where(A.c.id == bindparam("aid"))
        .values(
            outcome=bindparam("new_outcome"),
            duration_ms=bindparam("new_duration"),
            status_code=bindparam("new_code"),
            detail=bindparam("new_detail"),
            error=bindparam("new_error"),
        ),
        "finish": update(R)
        .where(R.c.id == bindparam("rid"), held)
        .values(
            status=bindparam("new_status"),
            last_error=bindparam("new_error"),
            last_status_code=bindparam("new_code"),
            next_attempt_at=bindparam("new_next"),
            sent_at=bindparam("new_sent"),
            reason=func.coalesce(bindparam("new_reason"), R.c.reason),
            lease_until=null(),
            claimed_by=null(),
            updated_at=bindparam("now"),
        ),
        "finished": select(R.c.id).where(
            R.c.id.in_(ids), R.c.claimed_by.is_(None), R.c.updated_at == bindparam("now")
        ),
    }


@functools.cache
def _postgresql_journal_statements() -> dict[str, Any]:
    """The same writes in fewer round trips, as PostgreSQL allows a data-modifying CTE: the
    attempt rows are inserted from the reminders' ``UPDATE ... RETURNING``, and each outcome
    updates its attempt and its reminder in one statement."""
    plain = _journal_statements()
    counted = plain["count"].returning(R.c.channel).cte("counted")
    now: Any = bindparam("now", type_=A.c.started_at.type)
    start = (
        insert(A)
        .from_select(
            ["reminder_id", "attempt", "channel", "started_at", "duration_ms", "outcome", "worker"],
            select(
                counted.c.id,
                counted.c.attempts,
                counted.c.channel,
                now,
                bindparam("no_duration", type_=A.c.duration_ms.type),
                bindparam("in_flight", type_=A.c.outcome.type),
                bindparam("holder", type_=A.c.worker.type),
            ),
        )
        .returning(A.c.id, A.c.reminder_id, A.c.attempt)
    )
    return {
        "start": start,
        "finish": plain["finish"].add_cte(plain["outcome"].cte("outcome")),
    }


def _start_attempts(
    connection: Connection,
    starts: Sequence[AttemptStart],
    *,
    worker: str,
    now: datetime,
    lease_until: datetime,
) -> dict[int, StartedAttempt]:
    statements = _journal_statements()
    reopened = sorted(s.reminder_id for s in starts if s.reopened)
    if reopened:
        connection.execute(statements["interrupt"], {"ids": reopened})
    params = {
        "ids": sorted(s.reminder_id for s in starts),
        "holder": worker,
        "new_lease": lease_until,
        "now": now,
    }
    if connection.dialect.name == "postgresql":
        params.update(no_duration=0.0, in_flight=IN_FLIGHT)
        started = connection.execute(_postgresql_journal_statements()["start"], params).all()
        return {row.reminder_id: StartedAttempt(row.id, row.attempt) for row in started}
    counted = connection.execute(statements["count"], params).all()
    if not counted:
        return {}
    channels = {s.reminder_id: s.channel for s in starts}
    numbers = {row.id: row.attempts for row in counted}
    inserted = connection.execute(
        statements["insert"],
        [
            {
                "reminder_id": rid,
                "attempt": number,
                "channel": channels[rid],
                "started_at": now,
                "duration_ms": 0.0,
                "outcome": IN_FLIGHT,
                "status_code": None,
                "detail": None,
                "error": None,
                "worker": worker,
            }
            for rid, number in numbers.items()
        ],
    ).all()
    return {row.reminder_id: StartedAttempt(row.id, numbers[row.reminder_id]) for row in inserted}


def _record_outcomes(
    connection: Connection, results: Sequence[AttemptResult], *, worker: str, now: datetime
) -> list[int]:
    statements = _journal_statements()
    postgresql = connection.dialect.name == "postgresql"
    tried = [r for r in results if r.attempt_id is not None]
    if tried and not postgresql:
        connection.execute(
            statements["outcome"],
            [
                {
                    "aid": r.attempt_id,
                    "new_outcome": r.outcome,
                    "new_duration": r.duration_ms,
                    "new_code": r.status_code,
                    "new_detail": r.detail,
                    "new_error": r.error,
                }
                for r in tried
            ],
        )
    rows = [
        {
            "rid": r.reminder_id,
            "new_status": r.new_status.value,
            "new_error": r.error,
            "new_code": r.status_code,
            "new_next": r.next_attempt_at or r.ended_at,
            "new_sent": r.sent_at,
            "new_reason": (r.reason or "")[:REASON_MAX_CHARS] or None,
            "now": now,
            "holder": worker,
            # PostgreSQL records the attempt in the same statement (no row when none was made)
            "aid": r.attempt_id,
            "new_outcome": r.outcome,
            "new_duration": r.duration_ms,
            "new_detail": r.detail,
        }
        for r in sorted(results, key=lambda r: r.reminder_id)
    ]
    finish = _postgresql_journal_statements()["finish"] if postgresql else statements["finish"]
    updated = connection.execute(finish, rows).rowcount
    if updated == len(rows):
        return []
    # Some rows had left this worker (another one claimed them after the lease ran out, or
    # they were acknowledged): find which, to say so.
    ids = sorted(r.reminder_id for r in results)
    done = set(connection.execute(statements["finished"], {"ids": ids, "now": now}).scalars())
    return [rid for rid in ids if rid not in done]


def extend_leases(
    engine: Engine, ids: Sequence[int], *, worker: str, now: datetime, lease_until: datetime
) -> int:
    """Renew the lease of the rows in ``ids`` that ``worker`` still holds (a heartbeat while a
    claim is being worked). Returns how many were renewed."""
    if not ids:
        return 0
    with write_transaction(engine) as connection:
        result = connection.execute(
            update(R)
            .where(
                R.c.id.in_(sorted(ids)),
                R.c.status == ReminderStatus.SENDING.value,
                R.c.claimed_by == worker,
            )
            .values(lease_until=lease_until, updated_at=now)
        )
        return max(result.rowcount or 0, 0)


def release_claims(engine: Engine, *, worker: str, now: datetime) -> int:
    """Give back every row ``worker`` still holds (shutdown): never-tried rows return to
    pending, others to retrying, due at once."""
    statement = (
        update(R)
        .where(R.c.status == ReminderStatus.SENDING.value, R.c.claimed_by == worker)
        .values(
            status=case(
                (R.c.attempts > 0, ReminderStatus.RETRYING.value),
                else_=ReminderStatus.PENDING.value,
            ),
            claimed_by=None,
            lease_until=None,
            updated_at=now,
        )
    )
    with write_transaction(engine) as connection:
        return max(connection.execute(statement).rowcount or 0, 0)


def disabled_channels(engine: Engine) -> dict[str, str]:
    """Channels disabled by a permanent signal, with the reason, as every replica sees them."""
    with connect(engine) as connection:
        rows = connection.execute(select(C.c.name, C.c.reason).where(C.c.disabled.is_(True)))
        return {row.name: row.reason or "" for row in rows}


@dataclass(frozen=True)
class ChannelActivity:
    """A channel's delivery record: its last successful attempt, its last failed one (with
    the error), and whether a 410 disabled it (with when and why)."""

    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    disabled: bool = False


def channel_activity(engine: Engine) -> dict[str, ChannelActivity]:
    """:class:`ChannelActivity` of every channel that has attempts or a state row."""
    sent = (
        select(A.c.channel, func.max(A.c.started_at).label("at"))
        .where(A.c.outcome == "sent")
        .group_by(A.c.channel)
    )
    last_failed = (
        select(func.max(A.c.id).label("id")).where(A.c.outcome != "sent").group_by(A.c.channel)
    ).subquery()
    failed = select(A.c.channel, A.c.started_at, A.c.error).where(
        A.c.id.in_(select(last_failed.c.id))
    )
    states = select(C.c.name, C.c.disabled, C.c.disabled_at, C.c.reason)
    found: dict[str, dict[str, Any]] = {}
    with connect(engine) as connection:
        for row in connection.execute(sent):
            found.setdefault(row.channel, {})["last_success_at"] = row.at
        for row in connection.execute(failed):
            values = found.setdefault(row.channel, {})
            values.update(last_error_at=row.started_at, last_error=row.error)
        for row in connection.execute(states):
            values = found.setdefault(row.name, {})
            values.update(disabled=bool(row.disabled))
            if row.disabled:
                values.update(disabled_at=row.disabled_at, disabled_reason=row.reason)
    return {name: ChannelActivity(**values) for name, values in found.items()}


def disable_channel(engine: Engine, name: str, *, reason: str, now: datetime) -> None:
    """Mark a channel disabled (HTTP 410). Idempotent; the first reason is kept."""
    with write_transaction(engine) as connection:
        exists = connection.execute(select(C.c.name).where(C.c.name == name)).first()
        if exists is None:
            connection.execute(
                insert(C).values(name=name, disabled=True, disabled_at=now, reason=reason)
            )
        else:
            connection.execute(
                update(C)
                .where(C.c.name == name, C.c.disabled.is_(False))
                .values(disabled=True, disabled_at=now, reason=reason)
            )


def enable_channel(engine: Engine, name: str) -> bool:
    """Re-enable a channel (an operator fixed the receiver). Returns whether it was disabled."""
    with write_transaction(engine) as connection:
        result = connection.execute(
            update(C)
            .where(C.c.name == name, C.c.disabled.is_(True))
            .values(disabled=False, reason=None)
        )
        return bool(result.rowcount)


# --- reading and acknowledging --------------------------------------------------------------


def _filtered(query: Any, *, status: str | None, agreement: str | None) -> Any:
    if status:
        query = query.where(R.c.status == status)
    if agreement:
        query = query.where(R.c.agreement_id == agreement)
    return query


def list_reminders(
    engine: Engine,
    *,
    status: str | None = None,
    agreement: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ReminderRow]:
    """Reminders ordered by due time, optionally filtered by status and agreement, one page
    (``limit``/``offset``) at a time when asked."""
    query = _filtered(select(R), status=status, agreement=agreement).order_by(R.c.due_at, R.c.id)
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with connect(engine) as connection:
        return [ReminderRow.model_validate(dict(row._mapping)) for row in connection.execute(query)]


def count_reminders(
    engine: Engine, *, status: str | None = None, agreement: str | None = None
) -> int:
    """How many reminders :func:`list_reminders` would list without a page."""
    query = _filtered(select(func.count()).select_from(R), status=status, agreement=agreement)
    with connect(engine) as connection:
        return int(connection.execute(query).scalar_one())


def get_reminder(engine: Engine, reminder_id: int) -> ReminderRow:
    with connect(engine) as connection:
        row = connection.execute(select(R).where(R.c.id == reminder_id)).first()
    if row is None:
        raise NotFoundError(f"reminder {reminder_id} does not exist")
    return ReminderRow.model_validate(dict(row._mapping))


def list_attempts(engine: Engine, *, reminder_id: int | None = None) -> list[DeliveryAttemptRow]:
    """Delivery attempts in the order they were made."""
    query = select(A).order_by(A.c.started_at, A.c.id)
    if reminder_id is not None:
        query = query.where(A.c.reminder_id == reminder_id)
    with connect(engine) as connection:
        return [
            DeliveryAttemptRow.model_validate(dict(row._mapping))
            for row in connection.execute(query)
        ]


def count_by_status(engine: Engine) -> dict[str, int]:
    with connect(engine) as connection:
        rows = connection.execute(select(R.c.status, func.count()).group_by(R.c.status))
        return {status: int(n) for status, n in rows}


def acknowledge(engine: Engine, reminder_id: int, *, by: str, now: datetime) -> list[int]:
    """Acknowledge the deadline of ``reminder_id``: it is recorded in ``acknowledgements``
    (the first acknowledgement is kept) and every unsent reminder and escalation of that
    deadline (any offset, any channel) becomes ``acknowledged``. Returns the ids changed
    (possibly none, when everything was sent already). Raises NotFoundError for an unknown
    id; a digest is not a deadline and cannot be acknowledged (NotFoundError too)."""
    with write_transaction(engine) as connection:
        row = connection.execute(
            select(R.c.agreement_id, R.c.deadline_kind, R.c.deadline_date, R.c.party).where(
                R.c.id == reminder_id, R.c.purpose != DIGEST
            )
        ).first()
        if row is None:
            raise NotFoundError(f"reminder {reminder_id} does not exist")
        key = (row.agreement_id, row.deadline_kind, row.deadline_date, row.party)
        record = _record_acknowledgement(connection, key, by=by, via="api", now=now)
        return _acknowledge_rows(connection, key, record, now=now)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Who acknowledged a deadline and when (the first acknowledgement), and how."""

    deadline_key: tuple[str, str, date, str]
    acknowledged_at: datetime
    acknowledged_by: str
    via: str


def _same_deadline(key: tuple[str, str, date, str]) -> Any:
    agreement, kind, day, party = key
    return and_(
        R.c.agreement_id == agreement,
        R.c.deadline_kind == kind,
        R.c.deadline_date == day,
        R.c.party == party,
        R.c.purpose != DIGEST,
    )


def _ack_condition(key: tuple[str, str, date, str]) -> Any:
    agreement, kind, day, party = key
    return and_(
        K.c.agreement_id == agreement,
        K.c.deadline_kind == kind,
        K.c.deadline_date == day,
        K.c.party == party,
    )


def _record_acknowledgement(
    connection: Connection,
    key: tuple[str, str, date, str],
    *,
    by: str,
    via: str,
    now: datetime,
) -> Acknowledgement:
    """Insert the acknowledgement unless the deadline has one; the one that counts."""
    agreement, kind, day, party = key
    values = {
        "agreement_id": agreement,
        "deadline_kind": kind,
        "deadline_date": day,
        "party": party,
        "acknowledged_at": now,
        "acknowledged_by": by[:200],
        "via": via,
    }
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(K).on_conflict_do_nothing(
            constraint="uq_acknowledgement"
        )
    elif dialect == "sqlite":
        statement = sqlite.insert(K).on_conflict_do_nothing()
    else:
        statement = insert(K)
    connection.execute(statement.values(**values))
    found = connection.execute(
        select(K.c.acknowledged_at, K.c.acknowledged_by, K.c.via).where(_ack_condition(key))
    ).one()
    return Acknowledgement(key, found.acknowledged_at, found.acknowledged_by, found.via)


def _acknowledge_rows(
    connection: Connection,
    key: tuple[str, str, date, str],
    record: Acknowledgement,
    *,
    now: datetime,
) -> list[int]:
    unsent = [s.value for s in UNSENT]
    ids = [
        r.id
        for r in connection.execute(
            select(R.c.id).where(_same_deadline(key), R.c.status.in_(unsent))
        )
    ]
    if ids:
        connection.execute(
            update(R)
            .where(R.c.id.in_(ids), R.c.status.in_(unsent))
            .values(
                status=ReminderStatus.ACKNOWLEDGED.value,
                acknowledged_at=record.acknowledged_at,
                acknowledged_by=record.acknowledged_by,
                reason="acknowledged",
                claimed_by=None,
                lease_until=None,
                updated_at=now,
            )
        )
    return ids


def acknowledge_deadline(
    engine: Engine,
    key: tuple[str, str, date, str],
    *,
    by: str,
    via: str,
    now: datetime,
) -> tuple[Acknowledgement, list[int]]:
    """Acknowledge the deadline ``key`` (agreement, kind, date, party), idempotently: the
    first acknowledgement is recorded and kept, and every unsent reminder and escalation of
    the deadline becomes ``acknowledged``. Returns the acknowledgement that counts and the
    ids of the reminders changed now."""
    with write_transaction(engine) as connection:
        record = _record_acknowledgement(connection, key, by=by, via=via, now=now)
        return record, _acknowledge_rows(connection, key, record, now=now)


def get_acknowledgement(engine: Engine, key: tuple[str, str, date, str]) -> Acknowledgement | None:
    with connect(engine) as connection:
        found = connection.execute(
            select(K.c.acknowledged_at, K.c.acknowledged_by, K.c.via).where(_ack_condition(key))
        ).first()
    if found is None:
        return None
    return Acknowledgement(key, found.acknowledged_at, found.acknowledged_by, found.via)


def acknowledged_deadlines(
    engine: Engine, *, since: date | None = None
) -> set[tuple[str, str, date, str]]:
    """Keys of the deadlines someone acknowledged (from ``since`` on, when given)."""
    query = select(K.c.agreement_id, K.c.deadline_kind, K.c.deadline_date, K.c.party)
    if since is not None:
        query = query.where(K.c.deadline_date >= since)
    with connect(engine) as connection:
        return {
            (r.agreement_id, r.deadline_kind, r.deadline_date, r.party)
            for r in connection.execute(query)
        }


# --- digests --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestRow:
    """One digest occurrence to put in the outbox."""

    name: str
    day: date
    channel: str
    webhook_id: str
    due_at: datetime
    payload: dict[str, Any]


def digest_exists(engine: Engine, name: str, day: date) -> bool:
    """Whether the digest ``name`` of ``day`` is in the outbox already (on any channel)."""
    with connect(engine) as connection:
        found = connection.execute(
            select(R.c.id).where(
                R.c.purpose == DIGEST, R.c.agreement_id == name, R.c.deadline_date == day
            )
        ).first()
    return found is not None


def insert_digest(engine: Engine, digest: DigestRow, *, now: datetime) -> bool:
    """Put one digest occurrence in the outbox, due at once; False when it is there already
    (another replica, or this one before a restart, put it there: the unique key is the
    digest's name and day)."""
    values = {
        "agreement_id": digest.name,
        "deadline_kind": DIGEST,
        "deadline_date": digest.day,
        "party": "",
        "offset": "",
        "channel": digest.channel,
        "purpose": DIGEST,
        "webhook_id": digest.webhook_id,
        "due_at": digest.due_at,
        "status": ReminderStatus.PENDING.value,
        "reason": "scheduled",
        "attempts": 0,
        "next_attempt_at": digest.due_at,
        "deadline_json": json.dumps(digest.payload, sort_keys=True, ensure_ascii=False),
        "created_at": now,
        "updated_at": now,
    }
    with write_transaction(engine) as connection:
        if connection.execute(
            select(R.c.id).where(
                R.c.purpose == DIGEST,
                R.c.agreement_id == digest.name,
                R.c.deadline_date == digest.day,
            )
        ).first():
            return False
        statement = _insert_statement(connection.dialect.name)
        inserted = connection.execute(statement.values(values).returning(R.c.id)).all()
        return bool(inserted)
