"""Reminders: the plan and its delivery log, and acknowledgement.

Acknowledging a reminder acknowledges its *deadline*: every reminder of that deadline not
sent yet (any offset, any channel) becomes ``acknowledged`` and is never sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tracker.store import reminders as outbox

if TYPE_CHECKING:
    from tracker.app.context import Context


@dataclass(frozen=True)
class Reminder:
    """One planned reminder and its delivery state, as people see it."""

    id: int
    agreement_id: str
    deadline_kind: str
    deadline_date: date
    party: str
    offset: str
    channel: str
    purpose: str
    webhook_id: str
    due_at: datetime | None
    status: str
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status_code: int | None
    sent_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    deadline_json: str


@dataclass(frozen=True)
class Attempt:
    """One try to deliver one reminder, whatever its outcome."""

    id: int
    reminder_id: int
    attempt: int
    channel: str
    started_at: datetime | None
    duration_ms: float
    outcome: str
    status_code: int | None
    detail: str | None
    error: str | None
    worker: str | None


@dataclass(frozen=True)
class ReminderPage:
    data: list[Reminder]
    count: int


@dataclass(frozen=True)
class ReminderDetail:
    reminder: Reminder
    attempts: list[Attempt]


@dataclass(frozen=True)
class ReminderLog:
    """The plan and delivery log as ``tracker reminders`` shows it: the reminders, each
    one's attempts (when asked for), and the disabled channels (name -> why)."""

    reminders: list[Reminder]
    disabled: dict[str, str]
    attempts: dict[int, list[Attempt]] = field(default_factory=dict)


V = TypeVar("V")


def _view(kind: type[V], row: Any) -> V:
    return kind(**{f.name: getattr(row, f.name) for f in fields(kind)})  # type: ignore[arg-type]


def list_reminders(
    context: Context,
    *,
    status: str | None = None,
    agreement: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> ReminderPage:
    """Reminders ordered by due time, one page, and the number of all matches."""
    wanted = {"status": status, "agreement": agreement}
    rows = outbox.list_reminders(context.engine, **wanted, limit=limit, offset=offset)
    return ReminderPage(
        [_view(Reminder, row) for row in rows], outbox.count_reminders(context.engine, **wanted)
    )


def of_agreement(context: Context, agreement_id: str) -> list[Reminder]:
    return [
        _view(Reminder, row)
        for row in outbox.list_reminders(context.engine, agreement=agreement_id)
    ]


def get(context: Context, reminder_id: int) -> ReminderDetail:
    """One reminder with every delivery attempt; NotFoundError for an unknown id."""
    row = outbox.get_reminder(context.engine, reminder_id)
    attempts = outbox.list_attempts(context.engine, reminder_id=reminder_id)
    return ReminderDetail(_view(Reminder, row), [_view(Attempt, a) for a in attempts])


def acknowledge(context: Context, reminder_id: int, *, by: str, now: datetime) -> ReminderDetail:
    """Acknowledge the reminder's deadline (idempotent); the reminder afterwards."""
    outbox.acknowledge(context.engine, reminder_id, by=by, now=now)
    return get(context, reminder_id)


def reminder_log(
    context: Context,
    *,
    status: str | None = None,
    agreement: str | None = None,
    with_attempts: bool = False,
) -> ReminderLog:
    """Every reminder (optionally by status and agreement), the disabled channels and, with
    ``with_attempts``, each reminder's delivery attempts in the order they were made."""
    rows = outbox.list_reminders(context.engine, status=status, agreement=agreement)
    disabled = outbox.disabled_channels(context.engine)
    attempts: dict[int, list[Attempt]] = {}
    if with_attempts:
        for row in outbox.list_attempts(context.engine):
            attempts.setdefault(row.reminder_id, []).append(_view(Attempt, row))
    return ReminderLog([_view(Reminder, row) for row in rows], disabled, attempts)
