"""The interface every channel implements.

A notifier gets a :class:`Notification` and either returns a :class:`Delivery` (success) or
raises :class:`tracker.errors.DeliveryError` with ``permanent``/``disable_channel``/
``retry_after_s`` set. It never returns a bool and never swallows an error: the dispatcher
records every outcome on the reminder's row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tracker.redact import Redactor


@dataclass(frozen=True, slots=True)
class Notification:
    """One reminder to deliver, as the channel sees it.

    ``message_id`` is the reminder's stable id (the Standard Webhooks ``webhook-id`` and the
    email ``Message-ID`` local part); it is the same on every retry. ``deadline`` is the
    deadline object of SPEC 2.4; ``agreement`` has at least ``id``, ``title`` and ``sources``.
    """

    reminder_id: int
    message_id: str
    channel: str
    offset: str
    due_at: datetime
    deadline: dict[str, Any]
    agreement: dict[str, Any]
    attempt: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A successful delivery: the HTTP status or SMTP reply code and a short detail."""

    status: int | None = None
    detail: str = ""


class Notifier(Protocol):
    """A channel. ``send`` is async so that a tick can deliver many reminders concurrently.

    ``redactor`` masks the channel's secrets; the dispatcher passes every text it stores or
    logs about this channel through it (errors of ``send`` are redacted already, but an
    unexpected exception's text is not).
    """

    name: str
    redactor: Redactor

    async def send(self, notification: Notification, *, now: datetime) -> Delivery: ...

    async def aclose(self) -> None: ...
