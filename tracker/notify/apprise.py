"""The Apprise channel: reminders, escalations and digests through any service Apprise knows
(Slack, Teams, Mattermost, Matrix, ntfy, Gotify, Telegram, Discord...).

Apprise is an optional extra (``pip install 'treaty-tracker[apprise]'``); a channel of this
type without it is refused with that instruction (the channel stands in as misconfigured,
its reminders are retried, the other channels deliver).

Apprise answers a notification with success or failure only: every failure is a retryable
:class:`~tracker.errors.DeliveryError` (the outbox retries it with backoff, like a webhook's
5xx), carrying what Apprise logged about it. The URL holds the service's tokens: it is never
shown, only Apprise's own privacy form of it (``ntfy://h/t...``), and every text that leaves
this module is redacted with the URL's pieces.

Apprise makes its own HTTP requests (with ``requests``), not through the tracker's httpx
client: the channel's ``timeout_seconds`` become Apprise's connect and read timeouts
(``cto``/``rto``), unless the URL sets them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import httpx

from tracker.errors import ConfigError, DeliveryError
from tracker.notify.base import Delivery, Notification, config_as
from tracker.notify.digest import digest_text
from tracker.notify.email import days_left, email_subject
from tracker.notify.mime import deadline_name, humanise_days
from tracker.redact import Redactor
from tracker.settings import AppriseChannel, ChannelConfig, Settings

EXTRA_MISSING = (
    "the 'apprise' channel type needs the optional extra: pip install 'treaty-tracker[apprise]'"
)
APP_ID = "Treaty tracker"
#: Most characters of Apprise's log quoted in an error.
LOG_QUOTE_CHARS = 500

log = logging.getLogger(__name__)

# Apprise logs to one process-wide logger; reading one call's log needs the calls one by one.
_NOTIFY_LOCK = threading.Lock()


def _url_secrets(url: str) -> list[str]:
    """The URL and each piece of it that may be a token: user, password, host-less path
    segments, query values."""
    pieces = [url, url.split("://", 1)[-1]]
    try:
        parts = urlsplit(url)
        pieces += [parts.username or "", parts.password or "", parts.path, parts.query]
        pieces += [segment for segment in parts.path.split("/") if len(segment) >= 6]
        pieces += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    except ValueError:
        pass
    return [piece for piece in pieces if len(piece) >= 3]


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of an Apprise URL: the part that is safe to show. The rest
    (user, password, path, query) is where services keep their tokens."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{url.split('://', 1)[0]}://?"
    return f"{parts.scheme}://{host}{port}"


def with_timeouts(url: str, timeout_s: float) -> str:
    """``url`` with Apprise's connect and read timeouts (``cto``, ``rto``) set to
    ``timeout_s`` where the URL does not set them itself."""
    query = urlsplit(url).query
    given = {key for key, _ in parse_qsl(query, keep_blank_values=True)}
    extra = [f"{key}={timeout_s:g}" for key in ("cto", "rto") if key not in given]
    if not extra:
        return url
    return url + ("&" if query else "?") + "&".join(extra)


def reminder_text(notification: Notification) -> tuple[str, str]:
    """The title and plain-text body of a reminder or an escalation."""
    if notification.digest is not None:
        return digest_text(notification)
    deadline = notification.deadline
    days = days_left(notification)
    title = email_subject(notification)
    lines = [
        f"{deadline_name(deadline)} on {deadline['date']} ({humanise_days(days)})",
        str(notification.agreement.get("title") or deadline.get("title") or ""),
    ]
    if deadline.get("explanation"):
        lines.append(str(deadline["explanation"]))
    if notification.ack_url:
        lines.append(f"Acknowledge: {notification.ack_url}")
    return title, "\n".join(line for line in lines if line)


class AppriseNotifier:
    """Sends each notification to one Apprise URL."""

    def __init__(self, name: str, config: AppriseChannel) -> None:
        try:
            import apprise
        except ImportError:
            raise ConfigError(EXTRA_MISSING, path=f"channels.{name}.type") from None
        self.name = name
        url = config.url.get_secret_value().strip()
        self.redactor = Redactor(_url_secrets(url))
        asset = apprise.AppriseAsset(storage_mode="memory")
        asset.app_id = APP_ID
        asset.app_desc = APP_ID
        self._apprise = apprise.Apprise(asset=asset)
        if not self._apprise.add(with_timeouts(url, config.timeout_seconds)):
            scheme = url.split("://", 1)[0]
            raise ConfigError(
                f"Apprise does not understand this {scheme}:// URL (see Apprise's list of "
                "services for its form)",
                path=f"channels.{name}.url",
            )
        self._where = _origin(str(self._apprise[0].url(privacy=True)))  # type: ignore[no-untyped-call]
        self._logger = logging.getLogger("apprise")

    @classmethod
    def from_settings(
        cls, name: str, config: ChannelConfig, *, settings: Settings, client: httpx.AsyncClient
    ) -> Self:
        return cls(name, config_as(config, AppriseChannel, name=name))

    async def send(self, notification: Notification, *, now: datetime) -> Delivery:
        title, body = reminder_text(notification)
        return await asyncio.to_thread(self._notify, title, body)

    def _notify(self, title: str, body: str) -> Delivery:
        import apprise

        capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with _NOTIFY_LOCK, capture as captured:
            try:
                result: Any = self._apprise.notify(body=body, title=title)
            except Exception as exc:  # a bug or an unexpected library error: worth a retry
                raise DeliveryError(
                    f"apprise {self.name!r} ({self._where}): {self.redactor(repr(exc))}"
                ) from exc
            text = captured.getvalue()
        if not result:
            said = " ".join(text.split())[-LOG_QUOTE_CHARS:] or "no detail"
            raise DeliveryError(
                f"apprise {self.name!r} ({self._where}): notify failed: {self.redactor(said)}"
            )
        return Delivery(detail=f"delivered via {self._where}")

    async def aclose(self) -> None:
        """Nothing to release: Apprise opens a connection per notification."""
