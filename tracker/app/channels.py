"""Delivery channels: their state, trying one right now, bringing back one a receiver disabled.

Every channel is built through the one notifier factory
(:func:`tracker.notify.registry.build_notifier`), so a channel type added there (and in the
configuration model) is listed and can be tried here without any change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.errors import ConfigError, DeliveryError, NotFoundError
from tracker.store import reminders as outbox

if TYPE_CHECKING:
    import httpx

    from tracker.app.context import Context
    from tracker.notify.base import Notification
    from tracker.settings import Settings

#: The deadline a test message carries: clearly a test, due on the day it is sent.
TEST_AGREEMENT_ID = "tracker-channel-test"
TEST_TITLE = "Test message from treaty-tracker"
TEST_EVENT_TYPE = "channel.test"


@dataclass(frozen=True)
class ChannelState:
    """A configured channel as an operator sees it. ``problem`` says why it cannot deliver at
    all (an unset ``${VAR}``, a secret that is not valid); ``enabled`` is False once a
    receiver answered 410 (until ``tracker enable-channel``); the last success and the last
    error are those of reminder deliveries."""

    name: str
    type: str
    enabled: bool
    problem: str | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class ChannelTest:
    """What trying a channel gave: ``ok`` with the receiver's status and reply, or the
    error (redacted like every delivery error)."""

    channel: str
    type: str
    ok: bool
    status: int | None
    detail: str
    sent_at: datetime


def enable(context: Context, name: str) -> bool:
    """Re-enable a channel disabled by HTTP 410 for every replica; whether it was disabled.
    Reminders already dead stay dead; later ones are sent again."""
    return outbox.enable_channel(context.engine, name)


def _problem(settings: Settings, name: str, client: httpx.AsyncClient) -> str | None:
    """Why channel ``name`` cannot be built, or None (builds it and throws it away)."""
    from tracker.notify.registry import build_notifier

    try:
        build_notifier(name, settings.channel(name), settings=settings, client=client)
    except ConfigError as exc:
        return exc.message
    return None


def list_channels(context: Context, *, with_activity: bool = True) -> list[ChannelState]:
    """Every configured channel (and the built-in ``log``) with its state, by name; without
    ``with_activity`` the database is not read (all enabled, no deliveries known)."""
    from tracker.notify.http import make_http_client

    settings = context.settings
    activity = outbox.channel_activity(context.engine) if with_activity else {}
    # Building a notifier opens no connection; the client is never used to send.
    client = make_http_client()
    unresolved = settings.unresolved_channels()
    configured = settings.all_channels()
    states: list[ChannelState] = []
    for name in settings.channel_names():
        kind = configured[name].type if name in configured else unresolved[name][0]
        seen = activity.get(name, outbox.ChannelActivity())
        states.append(
            ChannelState(
                name=name,
                type=kind,
                enabled=not seen.disabled,
                problem=_problem(settings, name, client),
                disabled_at=seen.disabled_at,
                disabled_reason=seen.disabled_reason,
                last_success_at=seen.last_success_at,
                last_error_at=seen.last_error_at,
                last_error=seen.last_error,
            )
        )
    return states


def test_notification(name: str, *, now: datetime) -> Notification:
    """The message a channel test sends: a made-up deadline, due today, that says it is a
    test; webhooks get the type ``channel.test``."""
    from tracker.notify.base import Notification

    day = now.date().isoformat()
    deadline = {
        "agreement": TEST_AGREEMENT_ID,
        "title": TEST_TITLE,
        "kind": "milestone",
        "date": day,
        "party": None,
        "label": "Channel test",
        "days_left": 0,
        "explanation": f"a test of channel {name!r}; no deadline is due",
        "source": None,
        "action": "info",
        "outcome": None,
        "weekday_note": None,
    }
    return Notification(
        reminder_id=0,
        message_id=f"test_{uuid.uuid4().hex}",
        channel=name,
        offset="0 days",
        due_at=now,
        deadline=deadline,
        agreement={"id": TEST_AGREEMENT_ID, "title": TEST_TITLE, "sources": []},
        extra={"type": TEST_EVENT_TYPE},
    )


async def test_channel(settings: Settings, name: str, *, now: datetime) -> ChannelTest:
    """Send one test message through channel ``name`` now and say what happened. Changes no
    state: a 410 answer is reported, not acted on. NotFoundError for a channel the
    configuration does not define; ConfigError (naming the channel) for one that cannot be
    built, e.g. its ``${VAR}`` is not set."""
    from tracker.notify.http import make_http_client
    from tracker.notify.registry import build_notifier

    if name not in settings.channel_names():
        raise NotFoundError(
            f"no channel '{name}' (configured: {', '.join(settings.channel_names())})"
        )
    config = settings.channel(name)
    client = make_http_client()
    try:
        notifier = build_notifier(name, config, settings=settings, client=client)
        try:
            delivery = await notifier.send(test_notification(name, now=now), now=now)
        except DeliveryError as exc:
            return ChannelTest(name, config.type, False, exc.status, str(exc), now)
        finally:
            await notifier.aclose()
    finally:
        await client.aclose()
    return ChannelTest(name, config.type, True, delivery.status, delivery.detail, now)
