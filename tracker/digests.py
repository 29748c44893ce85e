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
import html
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tracker.domain.deadline import Deadline
from tracker.domain.durations import shift
from tracker.domain.routing import DigestSpec, digest_entries, digest_window, occurrence_today
from tracker.logs import fields
from tracker.notify.base import Notification
from tracker.notify.email import (
    MESSAGE_ID_DOMAIN,
    attach_calendar,
    deadline_name,
    header_text,
    humanise_days,
)

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


# --- what a digest says -------------------------------------------------------------------------


def _entries(notification: Notification) -> list[dict[str, Any]]:
    return list((notification.digest or {}).get("deadlines") or [])


def digest_title(notification: Notification) -> str:
    """``Digest weekly-legal for 2026-08-03: 3 deadlines in the next 30 days``."""
    digest = notification.digest or {}
    count = len(_entries(notification))
    noun = "deadline" if count == 1 else "deadlines"
    return header_text(
        f"Digest {digest.get('name')} for {digest.get('day')}: {count} {noun} "
        f"in the next {digest.get('within')}"
    )


def _line(entry: dict[str, Any]) -> str:
    action = ACTION_TEXT.get(str(entry.get("action")), str(entry.get("action")))
    return (
        f"{entry['date']}  {humanise_days(int(entry['days_left']))}  {action}: "
        f"{deadline_name(entry)}, {entry.get('title') or entry.get('agreement')}"
    )


def digest_text(notification: Notification) -> tuple[str, str]:
    """The title and plain-text body of a digest: one line per deadline, in date order."""
    entries = _entries(notification)
    lines = [_line(entry) for entry in entries] or ["No deadlines in this period."]
    return digest_title(notification), "\n".join(lines)


def digest_payload(notification: Notification, *, now: datetime) -> dict[str, Any]:
    """The webhook document of a digest; ``timestamp`` is ``now``, the moment it is sent."""
    digest = dict(notification.digest or {})
    entries = digest.pop("deadlines", [])
    return {
        "type": DIGEST_EVENT_TYPE,
        "version": PAYLOAD_VERSION,
        "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"digest": digest, "deadlines": entries, "count": len(entries)},
    }


def _html(notification: Notification) -> str:
    rows = []
    for entry in _entries(notification):
        ack = entry.get("ack_url")
        link = f' <a href="{html.escape(ack)}">acknowledge</a>' if ack else ""
        action = ACTION_TEXT.get(str(entry.get("action")), str(entry.get("action")))
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(entry['date']))}</td>"
            f"<td>{html.escape(humanise_days(int(entry['days_left'])))}</td>"
            f"<td>{html.escape(action)}</td>"
            f"<td>{html.escape(deadline_name(entry))}</td>"
            f"<td>{html.escape(str(entry.get('title') or entry.get('agreement')))}{link}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="5">No deadlines in this period.</td></tr>'
    title = html.escape(digest_title(notification))
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>'
        f"{title}</title></head>\n<body>\n<h1>{title}</h1>\n"
        '<table border="1" cellpadding="4" style="border-collapse: collapse;">\n'
        "<thead><tr><th>Date</th><th>Days left</th><th>Action</th><th>Deadline</th>"
        "<th>Agreement</th></tr></thead>\n<tbody>\n"
        f"{body}\n</tbody></table>\n"
        '<p style="color: #666; font-size: 0.9em;">Sent by treaty-tracker; the attached '
        f"{ICS_FILENAME} adds every listed date to your calendar.</p>\n</body></html>\n"
    )


def build_digest_email(
    notification: Notification,
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    sent_at: datetime | None = None,
) -> EmailMessage:
    """A digest as one message: text, an HTML table, and an .ics of every listed deadline,
    dated ``sent_at`` (the moment of sending; default the digest's scheduled time);
    deterministic for the same notification and ``sent_at``."""
    from tracker.feed import build_calendar

    title, text = digest_text(notification)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Date"] = format_datetime((sent_at or notification.due_at).astimezone(UTC))
    message["Message-ID"] = f"<{notification.message_id}@{MESSAGE_ID_DOMAIN}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{title}\n\n{text}\n", cte="quoted-printable")
    message.add_alternative(_html(notification), subtype="html", cte="quoted-printable")
    deadlines = [Deadline.from_dict(entry) for entry in _entries(notification)]
    calendar = build_calendar(
        deadlines, name=f"Digest {(notification.digest or {}).get('name')}", method="PUBLISH"
    )
    return attach_calendar(
        message, calendar, message_id=notification.message_id, filename=ICS_FILENAME
    )


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
