"""Digests: on a schedule, one message listing every matching deadline in the coming weeks.

The job (:func:`plan_digests`, run by the service before each dispatch tick) puts today's
occurrence of each configured digest in the outbox once its scheduled time has come: a row
of purpose ``digest`` whose unique key is the digest's name and scheduled day, holding the list
as it stands at that moment. The dispatcher then sends it like any reminder (retries, backoff,
``dead`` after the last attempt, 410 disabling the channel). Replicas on one database and a
restarted process find the row there and add nothing: a digest goes out once per scheduled
day. A digest missed while the service was down goes out when it starts the same day, never
a day late (:func:`tracker.domain.routing.occurrence_today`).

What each channel gets:

* webhook: ``{"type": "deadline.digest", "version": "1", "data": {"digest": {...},
  "deadlines": [deadline objects, each with its ``ack_url``], "count": N}}``, signed like a
  reminder (the row's stable ``webhook-id``);
* email: plain text and an HTML table (date, days left, action, deadline, agreement), and
  ``deadlines.ics`` with every listed deadline (``METHOD:PUBLISH``);
* log and Apprise: a title and one line per deadline.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tracker.domain.deadline import Deadline
from tracker.domain.durations import shift
from tracker.domain.routing import DigestSpec, digest_entries, digest_window, occurrence_today
from tracker.logs import fields

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.settings import Settings

log = logging.getLogger(__name__)

DIGEST_EVENT_TYPE = "deadline.digest"
PAYLOAD_VERSION = "1"
ICS_FILENAME = "deadlines.ics"
#: What each action asks, as the digest shows it.
ACTION_TEXT = {"act_by": "act by", "act_from": "act from", "info": "for information"}


def digest_webhook_id(name: str, day: date, channel: str) -> str:
    """The stable id of one digest occurrence (its ``webhook-id`` and Message-ID)."""
    digest = hashlib.sha256(f"digest|{name}|{day.isoformat()}|{channel}".encode()).digest()
    return "msg_" + base64.b32encode(digest).decode("ascii").lower()[:26]


# --- the job ------------------------------------------------------------------------------------


def digest_payload_of(spec: DigestSpec, day: date, deadlines: list[Deadline]) -> dict[str, Any]:
    """What the outbox row of one digest occurrence holds (the list as of its moment)."""
    first, last = digest_window(day, spec.within)
    return {
        "name": spec.name,
        "day": day.isoformat(),
        "schedule": str(spec.schedule),
        "within": spec.within.canonical(),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "channel": spec.channel,
        "deadlines": [d.to_dict() for d in deadlines],
    }


def plan_digests(engine: Engine, settings: Settings, *, now: datetime) -> list[str]:
    """Put each digest due today and not yet in the outbox there; the names put there.

    The list is computed from the stored agreements as of the digest's day. An agreement whose
    rules fail is left out of the list (and logged); it never stops a digest.
    """
    from tracker.store import reminders as outbox
    from tracker.store.repository import readable_agreements

    zone = ZoneInfo(settings.timezone)
    due: list[tuple[DigestSpec, datetime]] = []
    for spec in settings.digest_specs():
        moment = occurrence_today(spec.schedule, now=now, zone=zone)
        if moment is not None and not outbox.digest_exists(engine, spec.name, moment.date()):
            due.append((spec, moment))
    if not due:
        return []
    from tracker.domain.rules import compute_deadlines

    agreements, unreadable = readable_agreements(engine)
    by_id = {a.id: a for a in agreements}
    put: list[str] = []
    for spec, moment in due:
        day = moment.astimezone(zone).date()
        end = shift(day, spec.within) + timedelta(days=1)
        deadlines: list[Deadline] = []
        for agreement in agreements:
            try:
                deadlines += compute_deadlines(agreement, as_of=day, start=day, end=end)
            except Exception as exc:
                log.error(
                    "digest.agreement_failed",
                    extra=fields(digest=spec.name, agreement=agreement.id, error=str(exc)),
                )
        entries = digest_entries(deadlines, by_id, spec, day=day)
        row = outbox.DigestRow(
            name=spec.name,
            day=day,
            channel=spec.channel,
            webhook_id=digest_webhook_id(spec.name, day, spec.channel),
            due_at=moment.astimezone(UTC),
            payload=digest_payload_of(spec, day, entries),
        )
        if outbox.insert_digest(engine, row, now=now):
            put.append(spec.name)
            log.info(
                "digest.planned",
                extra=fields(
                    digest=spec.name,
                    day=day,
                    channel=spec.channel,
                    entries=len(entries),
                    unreadable=len(unreadable) or None,
                ),
            )
    return put
