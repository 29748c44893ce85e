"""The log channel: one line per reminder on the ``tracker.reminders`` logger.

It is the built-in channel (``default_channels: [log]``), so a fresh install shows its
reminders on the console without any configuration.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Self

import httpx

from tracker.logs import fields
from tracker.notify.base import Delivery, Notification, config_as
from tracker.notify.digest import digest_text
from tracker.notify.email import days_left, notification_headline
from tracker.notify.mime import humanise_days
from tracker.redact import ANONYMOUS
from tracker.settings import ChannelConfig, LogChannel, Settings

REMINDER_LOGGER = "tracker.reminders"


class LogNotifier:
    """Writes the reminder to the log; it cannot fail short of the logging system failing."""

    def __init__(self, name: str, config: LogChannel | None = None) -> None:
        self.name = name
        self.redactor = ANONYMOUS
        self._log = logging.getLogger(REMINDER_LOGGER)

    @classmethod
    def from_settings(
        cls, name: str, config: ChannelConfig, *, settings: Settings, client: httpx.AsyncClient
    ) -> Self:
        return cls(name, config_as(config, LogChannel, name=name))

    async def send(self, notification: Notification, *, now: datetime) -> Delivery:
        if notification.digest is not None:
            title, body = digest_text(notification)
            self._log.info(
                "%s\n%s",
                title,
                body,
                extra=fields(
                    reminder_id=notification.reminder_id,
                    message_id=notification.message_id,
                    channel=self.name,
                    digest=notification.digest.get("name"),
                    entries=len(notification.digest.get("deadlines") or []),
                ),
            )
            return Delivery(detail="logged")
        deadline = notification.deadline
        agreement = notification.agreement.get("id") or deadline.get("agreement")
        days = days_left(notification)
        self._log.info(
            "reminder: %s: %s on %s (%s), offset %s",
            agreement,
            notification_headline(notification),
            deadline["date"],
            humanise_days(days),
            notification.offset,
            extra=fields(
                reminder_id=notification.reminder_id,
                message_id=notification.message_id,
                channel=self.name,
                agreement=agreement,
                deadline_kind=deadline.get("kind"),
                deadline_date=deadline.get("date"),
                days_left=days,
                offset=notification.offset,
            ),
        )
        return Delivery(detail="logged")

    async def aclose(self) -> None:
        """Nothing to release."""
