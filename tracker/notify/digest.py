"""What a digest says, on each channel: the text and title (log, Apprise), the signed
webhook list (``deadline.digest``) and the email with an HTML table and an .ics of every
listed deadline. The job that puts digests in the outbox is :mod:`tracker.digests`."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from tracker.domain.deadline import Deadline
from tracker.feed import build_calendar
from tracker.notify.base import Notification
from tracker.notify.mime import (
    attach_calendar,
    deadline_name,
    header_text,
    humanise_days,
    new_message,
)

DIGEST_EVENT_TYPE = "deadline.digest"
PAYLOAD_VERSION = "1"
ICS_FILENAME = "deadlines.ics"
#: What each action asks, as the digest shows it.
ACTION_TEXT = {"act_by": "act by", "act_from": "act from", "info": "for information"}


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

    title, text = digest_text(notification)
    message = new_message(notification, subject=title, sender=sender, to=to, cc=cc, sent_at=sent_at)
    message.set_content(f"{title}\n\n{text}\n", cte="quoted-printable")
    message.add_alternative(_html(notification), subtype="html", cte="quoted-printable")
    deadlines = [Deadline.from_dict(entry) for entry in _entries(notification)]
    calendar = build_calendar(
        deadlines, name=f"Digest {(notification.digest or {}).get('name')}", method="PUBLISH"
    )
    return attach_calendar(
        message, calendar, message_id=notification.message_id, filename=ICS_FILENAME
    )
