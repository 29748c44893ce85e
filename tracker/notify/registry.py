"""Which class serves which channel ``type``: an explicit dict, so adding a channel is one module
and one line here (and the config model in :mod:`tracker.settings`)."""

from __future__ import annotations

from typing import Any

import httpx

from tracker.notify.base import Notifier
from tracker.notify.email import EmailNotifier
from tracker.notify.log import LogNotifier
from tracker.notify.webhook import WebhookNotifier
from tracker.settings import Settings

NOTIFIERS: dict[str, type[Any]] = {
    "webhook": WebhookNotifier,
    "email": EmailNotifier,
    "log": LogNotifier,
}


def build_notifiers(settings: Settings, *, client: httpx.AsyncClient) -> dict[str, Notifier]:
    """One notifier per configured channel (plus the built-in ``log``), keyed by channel name.

    Webhook notifiers share ``client``; the caller owns it and closes it after calling
    ``aclose()`` on each notifier. Raises :class:`tracker.errors.ConfigError` for a channel whose
    configuration cannot work (e.g. a webhook secret that is not base64).
    """
    notifiers: dict[str, Notifier] = {}
    for name, config in settings.all_channels().items():
        notifier_class = NOTIFIERS[config.type]
        notifiers[name] = notifier_class.from_settings(
            name, config, settings=settings, client=client
        )
    return notifiers
