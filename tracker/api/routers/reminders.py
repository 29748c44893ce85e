"""``/api/v1/reminders``: the reminder plan and its delivery log, and acknowledgement.

``POST /reminders/{id}/ack`` acknowledges the reminder's *deadline*: every reminder of that
deadline not sent yet (any offset, any channel) becomes ``acknowledged`` and is never sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from sqlalchemy.engine import Engine

from tracker.api import deps
from tracker.api.auth import require_read, require_write
from tracker.api.schemas import (
    AckIn,
    AttemptOut,
    ErrorOut,
    ReminderDetail,
    ReminderList,
)
from tracker.domain.agreement import ID_PATTERN
from tracker.domain.reminder import ReminderStatus
from tracker.store.tables import DeliveryAttemptRow, ReminderRow

router = APIRouter(
    prefix="/reminders",
    tags=["reminders"],
    responses={code: {"model": ErrorOut} for code in (401, 403, 404, 422)},
)

#: Who acknowledged, when the request does not say.
DEFAULT_ACK_BY = "api"

#: Reminder ids are 32-bit integers in the database (PostgreSQL `integer`).
ReminderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Reminder id.")]


def reminder_of(row: ReminderRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "agreement": row.agreement_id,
        "deadline_kind": row.deadline_kind,
        "deadline_date": row.deadline_date,
        "party": row.party or None,
        "offset": row.offset,
        "channel": row.channel,
        "due_at": row.due_at,
        "status": row.status,
        "reason": row.reason,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "last_error": row.last_error,
        "last_status_code": row.last_status_code,
        "sent_at": row.sent_at,
        "acknowledged_at": row.acknowledged_at,
        "acknowledged_by": row.acknowledged_by,
    }


def attempt_of(row: DeliveryAttemptRow) -> AttemptOut:
    return AttemptOut(
        id=row.id or 0,
        attempt=row.attempt,
        channel=row.channel,
        started_at=row.started_at or datetime.min,
        duration_ms=row.duration_ms,
        outcome=row.outcome,
        status_code=row.status_code,
        detail=row.detail,
        error=row.error,
    )


def detail_of(engine: Engine, row: ReminderRow) -> dict[str, Any]:
    from tracker.store.reminders import list_attempts

    assert row.id is not None
    return {
        **reminder_of(row),
        "deadline": json.loads(row.deadline_json) if row.deadline_json else None,
        "delivery_attempts": [attempt_of(a) for a in list_attempts(engine, reminder_id=row.id)],
    }


@router.get("", response_model=ReminderList, dependencies=[Depends(require_read)])
def list_reminders(
    engine: Annotated[Engine, Depends(deps.get_engine)],
    status: Annotated[
        ReminderStatus | None, Query(description="Only reminders in this status.")
    ] = None,
    agreement: Annotated[
        str | None, Query(pattern=ID_PATTERN, max_length=100, description="Only this agreement.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Planned reminders and their delivery state, ordered by due time."""
    from tracker.store import reminders

    wanted = {"status": status.value if status else None, "agreement": agreement}
    rows = reminders.list_reminders(engine, **wanted, limit=limit, offset=offset)
    return {
        "data": [reminder_of(r) for r in rows],
        "count": reminders.count_reminders(engine, **wanted),
    }


@router.get("/{reminder_id}", response_model=ReminderDetail, dependencies=[Depends(require_read)])
def get_reminder(
    reminder_id: ReminderId, engine: Annotated[Engine, Depends(deps.get_engine)]
) -> dict[str, Any]:
    """One reminder with the deadline it is for and every delivery attempt."""
    from tracker.store.reminders import get_reminder as load

    return detail_of(engine, load(engine, reminder_id))


@router.post(
    "/{reminder_id}/ack", response_model=ReminderDetail, dependencies=[Depends(require_write)]
)
def acknowledge(
    reminder_id: ReminderId,
    engine: Annotated[Engine, Depends(deps.get_engine)],
    now: Annotated[datetime, Depends(deps.get_now)],
    body: Annotated[AckIn | None, Body()] = None,
) -> dict[str, Any]:
    """Record who acknowledged the reminder's deadline and when; no further reminders are
    sent for that deadline. Acknowledging again changes nothing."""
    from tracker.store import reminders

    by = (body.by if body and body.by else None) or DEFAULT_ACK_BY
    reminders.acknowledge(engine, reminder_id, by=by, now=now)
    return detail_of(engine, reminders.get_reminder(engine, reminder_id))
