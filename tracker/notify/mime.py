"""Parts shared by every message a channel builds: header-safe text, the names of deadline
kinds, day phrases, and the calendar attachment of an email (a reminder's or a digest's)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from tracker.domain.wording import days_phrase
from tracker.notify.base import Notification

MESSAGE_ID_DOMAIN = "treaty-tracker"
ICS_FILENAME = "deadline.ics"

# Control characters (CR and LF above all) and the Unicode line and paragraph separators.
_NOT_IN_A_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_LABELLED_KINDS = frozenset({"recurring", "milestone"})
_MSG_ID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


def message_id(notification: Notification) -> str:
    """``<{message_id}@treaty-tracker>``, with characters RFC 5322 forbids replaced."""
    local = _MSG_ID_UNSAFE.sub("-", notification.message_id).strip(".") or "reminder"
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def new_message(
    notification: Notification,
    *,
    subject: str,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    sent_at: datetime | None = None,
) -> EmailMessage:
    """An email with the headers every reminder and digest carries: the subject on one line,
    dated ``sent_at`` (default the planned time), a Message-ID stable across retries, and
    ``Auto-Submitted`` (RFC 3834: vacation responders and ticket systems do not answer)."""
    message = EmailMessage()
    message["Subject"] = header_text(subject)
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Date"] = format_datetime((sent_at or notification.due_at).astimezone(UTC))
    message["Message-ID"] = message_id(notification)
    message["Auto-Submitted"] = "auto-generated"
    return message


def humanise_days(days: int) -> str:
    """``in 17 days``, ``in 1 day``, ``today``, ``passed 3 days ago``."""
    return days_phrase(days)


def deadline_name(deadline: dict[str, Any]) -> str:
    """``Notice deadline``, ``Withdrawal effective (US)``; recurring dates and milestones go by
    their label."""
    kind = str(deadline["kind"])
    label = deadline.get("label")
    name = str(label) if label and kind in _LABELLED_KINDS else kind.replace("_", " ").capitalize()
    party = deadline.get("party")
    return f"{name} ({party})" if party else name


def header_text(text: str) -> str:
    """``text`` on one line, fit for a header: control characters and line breaks become
    spaces, runs of spaces one.

    Labels, titles and party names come from agreement files and the API. A CR or LF would end
    the header (header injection), and Python's email library refuses such a value outright,
    so the message would fail on every retry.
    """
    return " ".join(_NOT_IN_A_HEADER.sub(" ", text).split())


def attach_calendar(
    message: EmailMessage, calendar: bytes, *, message_id: str, filename: str = ICS_FILENAME
) -> EmailMessage:
    """Attach ``calendar`` as ``filename`` (``METHOD:PUBLISH``) and fix the MIME
    boundaries from ``message_id``: every retry of a reminder or digest is byte-identical,
    not just equivalent."""
    message.add_attachment(
        calendar,
        maintype="text",
        subtype="calendar",
        filename=filename,
        params={"method": "PUBLISH", "charset": "utf-8"},
    )
    token = hashlib.sha256(message_id.encode()).hexdigest()[:24]
    message.set_boundary(f"=_mixed_{token}")
    for part in message.iter_parts():
        if part.get_content_type() == "multipart/alternative":
            part.set_boundary(f"=_alt_{token}")
    return message
