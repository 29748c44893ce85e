"""``/api/v1/reminders``: the reminder plan and its delivery log, and acknowledgement.

``POST /reminders/{id}/ack`` acknowledges the reminder's *deadline*: every reminder of that
deadline not sent yet (any offset, any channel) becomes ``acknowledged`` and is never sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query

from tracker.api import deps
from tracker.api.auth import require_read, require_write
from tracker.api.schemas import (
    AckIn,
    AttemptOut,
    ErrorOut,
    ReminderDetail,
    ReminderList,
)
from tracker.app import reminders
from tracker.app.context import Context
from tracker.app.reminders import Attempt, Reminder
from tracker.domain.agreement import ID_PATTERN
from tracker.domain.reminder import ReminderStatus

router = APIRouter(
    prefix="/reminders",
    tags=["reminders"],
    responses={code: {"model": ErrorOut} for code in (401, 403, 404, 422)},
)

#: Who acknowledged, when the request does not say.
DEFAULT_ACK_BY = "api"

#: Reminder ids are 32-bit integers in the database (PostgreSQL `integer`).
ReminderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Reminder id.")]


def reminder_of(reminder: Reminder) -> dict[str, Any]:
    return {
        "id": reminder.id,
        "agreement": reminder.agreement_id,
        "deadline_kind": reminder.deadline_kind,
        "deadline_date": reminder.deadline_date,
        "party": reminder.party or None,
        "offset": reminder.offset,
        "channel": reminder.channel,
        "purpose": reminder.purpose,
        "due_at": reminder.due_at,
        "status": reminder.status,
        "reason": reminder.reason,
        "attempts": reminder.attempts,
        "next_attempt_at": reminder.next_attempt_at,
        "last_error": reminder.last_error,
        "last_status_code": reminder.last_status_code,
        "sent_at": reminder.sent_at,
        "acknowledged_at": reminder.acknowledged_at,
        "acknowledged_by": reminder.acknowledged_by,
    }


def attempt_of(attempt: Attempt) -> AttemptOut:
    return AttemptOut(
        id=attempt.id or 0,
        attempt=attempt.attempt,
        channel=attempt.channel,
        started_at=attempt.started_at or datetime.min,
        duration_ms=attempt.duration_ms,
        outcome=attempt.outcome,
        status_code=attempt.status_code,
        detail=attempt.detail,
        error=attempt.error,
    )


def detail_of(detail: reminders.ReminderDetail) -> dict[str, Any]:
    reminder = detail.reminder
    return {
        **reminder_of(reminder),
        "deadline": json.loads(reminder.deadline_json) if reminder.deadline_json else None,
        "delivery_attempts": [attempt_of(a) for a in detail.attempts],
    }


@router.get("", response_model=ReminderList, dependencies=[Depends(require_read)])
def list_reminders(
    context: Annotated[Context, Depends(deps.get_context)],
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
    page = reminders.list_reminders(
        context,
        status=status.value if status else None,
        agreement=agreement,
        limit=limit,
        offset=offset,
    )
    return {"data": [reminder_of(r) for r in page.data], "count": page.count}


@router.get("/{reminder_id}", response_model=ReminderDetail, dependencies=[Depends(require_read)])
def get_reminder(
    reminder_id: ReminderId, context: Annotated[Context, Depends(deps.get_context)]
) -> dict[str, Any]:
    """One reminder with the deadline it is for and every delivery attempt."""
    return detail_of(reminders.get(context, reminder_id))


@router.post(
    "/{reminder_id}/ack", response_model=ReminderDetail, dependencies=[Depends(require_write)]
)
def acknowledge(
    reminder_id: ReminderId,
    context: Annotated[Context, Depends(deps.get_context)],
    now: Annotated[datetime, Depends(deps.get_now)],
    body: Annotated[AckIn | None, Body()] = None,
) -> dict[str, Any]:
    """Record who acknowledged the reminder's deadline and when; no further reminders are
    sent for that deadline. Acknowledging again changes nothing."""
    by = (body.by if body and body.by else None) or DEFAULT_ACK_BY
    return detail_of(reminders.acknowledge(context, reminder_id, by=by, now=now))
