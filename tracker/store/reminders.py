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
* results are recorded only while the recording worker still holds the claim.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from tracker.domain.planner import Change, PlannedReminder, ReminderKey, StoredReminder
from tracker.domain.reminder import FINAL_STATUSES, ReminderStatus
from tracker.errors import NotFoundError
from tracker.store.tables import ChannelStateRow, DeliveryAttemptRow, ReminderRow

R = ReminderRow.__table__  # type: ignore[attr-defined]
A = DeliveryAttemptRow.__table__  # type: ignore[attr-defined]
C = ChannelStateRow.__table__  # type: ignore[attr-defined]

#: Rows per INSERT statement when planning (keeps statements well under parameter limits).
INSERT_CHUNK_ROWS = 500
REASON_MAX_CHARS = 200

UNSENT = (ReminderStatus.PENDING, ReminderStatus.RETRYING, ReminderStatus.SENDING)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that may write; on SQLite it takes the write lock at BEGIN."""
    with engine.connect() as connection:
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
        R.c.status,
        R.c.due_at,
    )
    if since is not None:
        final = [status.value for status in FINAL_STATUSES]
        query = query.where(or_(R.c.deadline_date >= since, R.c.status.not_in(final)))
    with engine.connect() as connection:
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
                ),
                status=ReminderStatus(row.status),
                due_at=row.due_at,
            )
            for row in connection.execute(query)
        ]


def _insert_statement(dialect: str) -> Any:
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
        statement = _insert_statement(connection.dialect.name)
        for start in range(0, len(planned), INSERT_CHUNK_ROWS):
            chunk = planned[start : start + INSERT_CHUNK_ROWS]
            values = [
                {
                    "agreement_id": p.key.agreement,
                    "deadline_kind": p.key.deadline_kind,
                    "deadline_date": p.key.deadline_date,
                    "party": p.key.party,
                    "offset": p.key.offset,
                    "channel": p.key.channel,
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
            # RETURNING lists only the rows actually inserted (rowcount is unreliable for
            # multi-row inserts across drivers).
            result = connection.execute(statement.values(values).returning(R.c.id))
            inserted += len(result.all())
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
    deadline: dict[str, Any]


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
        )
        for r in rows
    ]
    claimed.sort(key=lambda c: (c.due_at, c.id))
    return claimed


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt did, and what becomes of its reminder."""

    reminder_id: int
    attempt: int
    channel: str
    started_at: datetime
    duration_ms: float
    outcome: str  # a tracker.dispatch.Outcome value
    new_status: ReminderStatus
    status_code: int | None = None
    detail: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    reason: str | None = None
    record_attempt: bool = True  # False when nothing was tried (e.g. channel disabled)


def record_results(
    engine: Engine, results: Sequence[AttemptResult], *, worker: str, now: datetime
) -> int:
    """Store attempts and the rows' new state in one transaction. A row is only updated while
    ``worker`` still holds its claim; the attempt is recorded either way. Returns rows updated.
    """
    if not results:
        return 0
    attempts = [
        {
            "reminder_id": r.reminder_id,
            "attempt": r.attempt,
            "channel": r.channel,
            "started_at": r.started_at,
            "duration_ms": r.duration_ms,
            "outcome": r.outcome,
            "status_code": r.status_code,
            "detail": r.detail,
            "error": r.error,
            "worker": worker,
        }
        for r in results
        if r.record_attempt
    ]
    rows = [
        {
            "rid": r.reminder_id,
            "new_status": r.new_status.value,
            "new_attempts": r.attempt if r.record_attempt else r.attempt - 1,
            "new_error": r.error,
            "new_code": r.status_code,
            "new_next": r.next_attempt_at or r.started_at,
            "new_sent": r.sent_at,
            "new_reason": (r.reason or "")[:REASON_MAX_CHARS] or None,
            "now": now,
            "worker": worker,
        }
        for r in sorted(results, key=lambda r: r.reminder_id)
    ]
    statement = (
        update(R)
        .where(
            R.c.id == bindparam("rid"),
            R.c.status == ReminderStatus.SENDING.value,
            R.c.claimed_by == bindparam("worker"),
        )
        .values(
            status=bindparam("new_status"),
            attempts=bindparam("new_attempts"),
            last_error=bindparam("new_error"),
            last_status_code=bindparam("new_code"),
            next_attempt_at=bindparam("new_next"),
            sent_at=bindparam("new_sent"),
            reason=func.coalesce(bindparam("new_reason"), R.c.reason),
            lease_until=None,
            claimed_by=None,
            updated_at=bindparam("now"),
        )
    )
    with write_transaction(engine) as connection:
        if attempts:
            connection.execute(insert(A), attempts)
        result = connection.execute(statement, rows)
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
    with engine.connect() as connection:
        rows = connection.execute(select(C.c.name, C.c.reason).where(C.c.disabled.is_(True)))
        return {row.name: row.reason or "" for row in rows}


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
    with engine.connect() as connection:
        return [ReminderRow.model_validate(dict(row._mapping)) for row in connection.execute(query)]


def count_reminders(
    engine: Engine, *, status: str | None = None, agreement: str | None = None
) -> int:
    """How many reminders :func:`list_reminders` would list without a page."""
    query = _filtered(select(func.count()).select_from(R), status=status, agreement=agreement)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def get_reminder(engine: Engine, reminder_id: int) -> ReminderRow:
    with engine.connect() as connection:
        row = connection.execute(select(R).where(R.c.id == reminder_id)).first()
    if row is None:
        raise NotFoundError(f"reminder {reminder_id} does not exist")
    return ReminderRow.model_validate(dict(row._mapping))


def list_attempts(engine: Engine, *, reminder_id: int | None = None) -> list[DeliveryAttemptRow]:
    """Delivery attempts in the order they were made."""
    query = select(A).order_by(A.c.started_at, A.c.id)
    if reminder_id is not None:
        query = query.where(A.c.reminder_id == reminder_id)
    with engine.connect() as connection:
        return [
            DeliveryAttemptRow.model_validate(dict(row._mapping))
            for row in connection.execute(query)
        ]


def count_by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(R.c.status, func.count()).group_by(R.c.status))
        return {status: int(n) for status, n in rows}


def acknowledge(engine: Engine, reminder_id: int, *, by: str, now: datetime) -> list[int]:
    """Acknowledge the deadline of ``reminder_id``: every unsent reminder of that deadline
    (any offset, any channel) becomes ``acknowledged``. Returns the ids changed (possibly
    none, when everything was sent already). Raises NotFoundError for an unknown id."""
    with write_transaction(engine) as connection:
        row = connection.execute(
            select(R.c.agreement_id, R.c.deadline_kind, R.c.deadline_date, R.c.party).where(
                R.c.id == reminder_id
            )
        ).first()
        if row is None:
            raise NotFoundError(f"reminder {reminder_id} does not exist")
        same_deadline = and_(
            R.c.agreement_id == row.agreement_id,
            R.c.deadline_kind == row.deadline_kind,
            R.c.deadline_date == row.deadline_date,
            R.c.party == row.party,
        )
        ids = [
            r.id
            for r in connection.execute(
                select(R.c.id).where(same_deadline, R.c.status.in_([s.value for s in UNSENT]))
            )
        ]
        if ids:
            connection.execute(
                update(R)
                .where(R.c.id.in_(ids), R.c.status.in_([s.value for s in UNSENT]))
                .values(
                    status=ReminderStatus.ACKNOWLEDGED.value,
                    acknowledged_at=now,
                    acknowledged_by=by[:200],
                    reason="acknowledged",
                    claimed_by=None,
                    lease_until=None,
                    updated_at=now,
                )
            )
        return ids
