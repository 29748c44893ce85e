"""The webhook channel: a signed JSON POST following the Standard Webhooks specification.

Outcomes, as the dispatcher sees them:

- 2xx: :class:`Delivery` with the status code;
- 410 Gone: ``DeliveryError(disable_channel=True)``, the receiver asked never to be called again;
- 408, 425, 429 and 5xx: retryable, with ``retry_after_s`` from ``Retry-After``;
- other 4xx: permanent; 3xx: permanent, the redirect is not followed;
- timeouts and connection errors: retryable; an unusable URL: permanent.

Errors carry a short response snippet, redacted like everything else that leaves this module.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, date, datetime
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import httpx

from tracker.errors import ConfigError, DeliveryError
from tracker.logs import fields
from tracker.notify.base import Delivery, Notification, config_as
from tracker.notify.digest import digest_payload
from tracker.notify.email import notification_headline
from tracker.notify.http import make_timeout, parse_retry_after
from tracker.notify.signing import SECRET_PREFIX, secret_key, signature_header
from tracker.redact import Redactor, authorization_secrets, redact_url
from tracker.settings import (
    URL_CREDENTIALS_AND_AUTHORIZATION,
    ChannelConfig,
    Settings,
    WebhookChannel,
)

WEBHOOK_EVENT_TYPE = "deadline.reminder"
#: The event type of an escalation (same body as a reminder's).
ESCALATION_EVENT_TYPE = "deadline.escalation"
PAYLOAD_VERSION = "1"
#: How much of a response body is read at most, and how much of it an error message quotes.
MAX_RESPONSE_BYTES = 4096
SNIPPET_CHARS = 200
RETRYABLE_STATUSES = frozenset({408, 425, 429})
_RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)

log = logging.getLogger(__name__)


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def webhook_payload(notification: Notification, *, now: datetime) -> dict[str, Any]:
    """The JSON document of one reminder or escalation (see :func:`webhook_body`); a
    digest's is :func:`tracker.notify.digest.digest_payload`. ``timestamp`` is ``now``, the moment
    this attempt is sent; ``data.reminder.planned_at`` (also ``due_at``, its older name) is
    when the reminder was planned to go out. ``data.summary`` says in words what is due or
    what happens (:func:`tracker.domain.wording.headline`); ``data.ack_url`` is the
    deadline's one-click acknowledgement link (null when none is configured)."""
    if notification.digest is not None:
        return digest_payload(notification, now=now)
    agreement = notification.agreement
    planned = _iso_utc(notification.due_at)
    escalation = notification.purpose == "escalation"
    return {
        # A channel test says so (``channel.test``); an escalation ``deadline.escalation``.
        "type": ESCALATION_EVENT_TYPE
        if escalation
        else str(notification.extra.get("type", WEBHOOK_EVENT_TYPE)),
        "version": PAYLOAD_VERSION,
        "timestamp": _iso_utc(now),
        "data": {
            "summary": notification_headline(notification),
            "reminder": {
                "id": notification.message_id,
                "offset": notification.offset,
                "planned_at": planned,
                "due_at": planned,
                "channel": notification.channel,
            },
            "deadline": notification.deadline,
            "agreement": {
                "id": agreement.get("id", notification.deadline.get("agreement")),
                "title": agreement.get("title", notification.deadline.get("title")),
                "sources": list(agreement.get("sources") or []),
            },
            "ack_url": notification.ack_url,
        },
    }


def webhook_body(notification: Notification, *, now: datetime) -> bytes:
    """The request body: compact UTF-8 JSON with sorted keys, so the same notification sent at
    the same moment always gives the same bytes (and the same signature)."""
    return json.dumps(
        webhook_payload(notification, now=now),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_json_value,
    ).encode("utf-8")


def _json_value(value: object) -> str:
    # Dates in a deadline dict built by hand (not by Deadline.to_dict) still serialise as ISO.
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _origin(url: str) -> str:
    """``scheme://host[:port]``: the part of a receiver URL that is safe to show. The path of
    many hook URLs (Slack, Discord) is itself a token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return f"{parts.scheme}://{host}{port}"


def _url_secrets(url: str) -> list[str]:
    """Pieces of a URL that must never be shown: the whole URL, its password, query values
    and path with its longer segments (raw and decoded)."""
    pieces = [url]
    try:
        parts = urlsplit(url)
        pieces += [parts.password or "", parts.query, parts.fragment]
        pieces += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
        if parts.path not in ("", "/"):
            pieces.append(parts.path)
            # A receiver may echo just the token segment; masking a harmless word is cheaper.
            pieces += [segment for segment in parts.path.split("/") if len(segment) >= 6]
    except ValueError:
        pass
    pieces += [unquote(p) for p in pieces if p]
    # A one- or two-character query value would mask innocent text everywhere.
    return [p for p in pieces if len(p) >= 3]


def _snippet(raw: bytes, redactor: Redactor) -> str:
    # Redacted before whitespace is collapsed and the text cut, so that neither can break a
    # secret into pieces that no longer match.
    text = " ".join(redactor(raw.decode("utf-8", errors="replace")).split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its userinfo, and the (user, password) it carried, percent-decoded."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` value HTTP Basic sends for ``user`` and ``password`` (RFC 7617)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class WebhookNotifier:
    """Posts reminders to one receiver URL, signed with the channel's secret(s).

    Credentials in the URL (``https://user:password@host/...``) are sent as HTTP Basic
    authentication, explicitly, from the URL without them; a channel that also configures an
    ``Authorization`` header is refused (the configuration says so), because one of the two
    would silently replace the other.
    """

    def __init__(self, name: str, config: WebhookChannel, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._client = client
        configured_url = config.url.get_secret_value()
        self._url, credentials = split_credentials(configured_url)
        self._secrets = [config.secret.get_secret_value().strip()]
        if config.previous_secret is not None:
            self._secrets.append(config.previous_secret.get_secret_value().strip())
        for secret in self._secrets:
            try:
                secret_key(secret)
            except ValueError as exc:
                raise ConfigError(str(exc), path=f"channels.{name}.secret") from None
        # Configured headers may add to a request, never replace what the signature vouches for.
        self._headers = {
            k: v for k, v in config.headers.items() if k.lower() not in _RESERVED_HEADERS
        }
        if credentials is not None:
            if any(k.lower() == "authorization" for k in self._headers):
                raise ConfigError(
                    URL_CREDENTIALS_AND_AUTHORIZATION, path=f"channels.{name}.headers"
                )
            self._headers["authorization"] = basic_authorization(*credentials)
        self._timeout_s = config.timeout_seconds
        self._timeout = make_timeout(config.timeout_seconds)
        self._where = _origin(self._url)
        sensitive = [
            *self._secrets,
            *(s.removeprefix(SECRET_PREFIX) for s in self._secrets),
            *_url_secrets(configured_url),
        ]
        for key, value in self._headers.items():
            # Custom headers usually exist to carry a token (Authorization: Bearer ...).
            sensitive += authorization_secrets(value) if key.lower() == "authorization" else [value]
        self.redactor = Redactor(sensitive, credentials=[credentials] if credentials else [])

    @classmethod
    def from_settings(
        cls, name: str, config: ChannelConfig, *, settings: Settings, client: httpx.AsyncClient
    ) -> Self:
        return cls(name, config_as(config, WebhookChannel, name=name), client=client)

    def _redact(self, text: str) -> str:
        return self.redactor(text)

    def _error(self, message: str, **kwargs: Any) -> DeliveryError:
        return DeliveryError(
            self._redact(f"webhook {self.name!r} ({self._where}): {message}"), **kwargs
        )

    def request_headers(
        self, notification: Notification, body: bytes, *, now: datetime
    ) -> dict[str, str]:
        """The headers of one attempt; ``webhook-id`` is the reminder's stable message id."""
        timestamp = int(now.timestamp())
        return {
            **self._headers,
            "content-type": "application/json",
            "webhook-id": notification.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                self._secrets, msg_id=notification.message_id, timestamp=timestamp, body=body
            ),
        }

    async def send(self, notification: Notification, *, now: datetime) -> Delivery:
        body = webhook_body(notification, now=now)
        headers = self.request_headers(notification, body, now=now)
        started = time.monotonic()
        try:
            request = self._client.build_request(
                "POST", self._url, content=body, headers=headers, timeout=self._timeout
            )
            response = await self._client.send(request, stream=True)
            try:
                raw = await self._read_some(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise self._error(
                f"timed out after {self._timeout_s:g} s ({type(exc).__name__})"
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise self._error(f"unusable URL: {exc}", permanent=True) from exc
        except httpx.TransportError as exc:
            raise self._error(f"{type(exc).__name__}: {str(exc) or 'connection failed'}") from exc
        except httpx.HTTPError as exc:  # anything else httpx may raise: worth another try
            raise self._error(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # httpx rejects some malformed URLs before any I/O
            raise self._error(f"unusable URL: {exc}", permanent=True) from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        return self._outcome(response, raw, now=now, elapsed_ms=elapsed_ms)

    async def _read_some(self, response: httpx.Response) -> bytes:
        # A receiver may answer with a huge body; only its start is ever shown.
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_RESPONSE_BYTES:
                    break
        except httpx.DecodingError:
            # A body we cannot decompress says nothing useful; the status still decides.
            return b"<undecodable response body>"
        return b"".join(chunks)[:MAX_RESPONSE_BYTES]

    def _outcome(
        self, response: httpx.Response, raw: bytes, *, now: datetime, elapsed_ms: float
    ) -> Delivery:
        status = response.status_code
        summary = f"HTTP {status} {response.reason_phrase}".rstrip()
        snippet = _snippet(raw, self.redactor)
        detail = f"{summary}: {snippet}" if snippet else summary
        if 200 <= status < 300:
            log.debug(
                "webhook.delivered",
                extra=fields(
                    channel=self.name, duration_ms=round(elapsed_ms), detail=self._redact(detail)
                ),
            )
            return Delivery(status=status, detail=self._redact(detail))
        if 300 <= status < 400:
            location = response.headers.get("location")
            shown = redact_url(location) if location else "<no location>"
            raise self._error(
                f"{summary}: redirect to {shown} not followed", permanent=True, status=status
            )
        if status == 410:
            raise self._error(
                f"{detail} (the receiver is gone; disabling the channel)",
                disable_channel=True,
                status=status,
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            retry_after_s = parse_retry_after(response.headers.get("retry-after"), now=now)
            raise self._error(detail, status=status, retry_after_s=retry_after_s)
        if 400 <= status < 500:
            raise self._error(detail, permanent=True, status=status)
        # 1xx as a final answer is a broken receiver; it may recover.
        raise self._error(f"unexpected {detail}", status=status)

    async def aclose(self) -> None:
        """The HTTP client is shared between channels; whoever made it closes it."""
