"""Which class serves which channel ``type``, and the one factory that builds a channel's
notifier: an explicit dict, so adding a channel is one module and one line here (and the
config model in :mod:`tracker.settings`)."""

from __future__ import annotations

import logging
from datetime import datetime

import httpx

from tracker.errors import DeliveryError
from tracker.logs import fields
from tracker.notify.apprise import AppriseNotifier
from tracker.notify.base import Delivery, Notification, Notifier, Sender
from tracker.notify.email import EmailNotifier
from tracker.notify.log import LogNotifier
from tracker.notify.webhook import WebhookNotifier
from tracker.redact import ANONYMOUS
from tracker.settings import ChannelConfig, Settings

log = logging.getLogger(__name__)

NOTIFIERS: dict[str, type[Notifier]] = {
    "webhook": WebhookNotifier,
    "email": EmailNotifier,
    "log": LogNotifier,
    "apprise": AppriseNotifier,
}


def build_notifier(
    name: str, config: ChannelConfig, *, settings: Settings, client: httpx.AsyncClient
) -> Notifier:
    """The notifier of channel ``name``: the class registered for ``config.type`` builds
    itself. Raises :class:`tracker.errors.ConfigError` naming the channel when its
    configuration cannot work (e.g. a webhook secret that is not base64)."""
    return NOTIFIERS[config.type].from_settings(name, config, settings=settings, client=client)


class MisconfiguredChannel:
    """Stands in for a channel whose notifier cannot be built: its reminders fail as
    retryable, with the reason on the row, and the other channels deliver as usual. Fixing
    the configuration lets the retries succeed."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self.redactor = ANONYMOUS
        self._error = error

    async def send(self, notification: Notification, *, now: datetime) -> Delivery:
        raise DeliveryError(f"channel {self.name!r} is misconfigured: {self._error}")

    async def aclose(self) -> None:
        """Nothing to release."""


def build_notifiers(settings: Settings, *, client: httpx.AsyncClient) -> dict[str, Sender]:
    """One notifier per configured channel (plus the built-in ``log``), keyed by channel name,
    each built alone so that one bad channel stays alone: it is logged and stands in as a
    :class:`MisconfiguredChannel`.

    Notifiers share ``client``; the caller owns it and closes it after calling ``aclose()``
    on each notifier.
    """
    notifiers: dict[str, Sender] = {}
    for name, config in settings.all_channels().items():
        try:
            notifiers[name] = build_notifier(name, config, settings=settings, client=client)
        except Exception as exc:
            log.error("channel.misconfigured", extra=fields(channel=name, error=str(exc)))
            notifiers[name] = MisconfiguredChannel(name, str(exc))
    for name, (_, error) in settings.unresolved_channels().items():
        notifiers[name] = MisconfiguredChannel(name, error.message)
    return notifiers
