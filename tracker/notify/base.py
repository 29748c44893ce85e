"""The interface every channel implements.

A notifier gets a :class:`Notification` and either returns a :class:`Delivery` (success) or
raises :class:`tracker.errors.DeliveryError` with ``permanent``/``disable_channel``/
``retry_after_s`` set. It never returns a bool and never swallows an error: the dispatcher
records every outcome on the reminder's row. Each channel class builds itself from its
configuration (:meth:`Notifier.from_settings`), through the one factory
:func:`tracker.notify.registry.build_notifier`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Self, TypeVar

import httpx
from pydantic import BaseModel

from tracker.errors import ConfigError
from tracker.redact import Redactor
from tracker.settings import ChannelConfig, Settings

C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Notification:
    """One reminder to deliver, as the channel sees it.

    ``message_id`` is the reminder's stable id (the Standard Webhooks ``webhook-id`` and the
    email ``Message-ID`` local part); it is the same on every retry. ``deadline`` is the
    deadline object of SPEC 2.4; ``agreement`` has at least ``id``, ``title`` and ``sources``.
    ``purpose`` is ``reminder``, ``escalation`` or ``digest``; a digest carries its list in
    ``digest`` (see :mod:`tracker.digests`) and an empty ``deadline``. ``ack_url`` is the
    one-click acknowledgement link of the deadline (None for digests, or when no
    ``ack_secret`` is configured).
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
    purpose: str = "reminder"
    ack_url: str | None = None
    digest: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A successful delivery: the HTTP status or SMTP reply code and a short detail."""

    status: int | None = None
    detail: str = ""


class Sender(Protocol):
    """What the dispatcher delivers through: a :class:`Notifier`, or a stand-in for a channel
    whose notifier could not be built. ``send`` is async so that a tick can deliver many
    reminders concurrently.

    ``redactor`` masks the channel's secrets; the dispatcher passes every text it stores or
    logs about this channel through it (errors of ``send`` are redacted already, but an
    unexpected exception's text is not).
    """

    name: str
    redactor: Redactor

    async def send(self, notification: Notification, *, now: datetime) -> Delivery: ...

    async def aclose(self) -> None: ...


class Notifier(Sender, Protocol):
    """A channel type: a :class:`Sender` that builds itself from its channel's configuration,
    with the settings it needs (``settings.smtp`` for email) and the tracker's one outbound
    HTTP client (shared by every channel; its owner closes it). Raises
    :class:`tracker.errors.ConfigError` naming the channel when the configuration cannot
    work."""

    @classmethod
    def from_settings(
        cls, name: str, config: ChannelConfig, *, settings: Settings, client: httpx.AsyncClient
    ) -> Self: ...


def config_as(config: ChannelConfig, kind: type[C], *, name: str) -> C:
    """``config`` as the configuration model of the channel type that builds from it."""
    if not isinstance(config, kind):
        raise ConfigError(
            f"this {config.type!r} channel's configuration is not a {kind.__name__}",
            path=f"channels.{name}.type",
        )
    return config
