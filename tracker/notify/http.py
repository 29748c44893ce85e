"""The one outbound HTTP client of the tracker, and ``Retry-After`` parsing.

Every webhook goes through :func:`make_http_client`: explicit timeouts for each phase,
redirects never followed (a redirect could carry a signed body to a host nobody configured),
a bounded connection pool and an honest ``User-Agent``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from tracker import __version__
from tracker.redact import redact_url

WEBHOOK_TIMEOUT_S = 15.0
#: Connecting should be quick; a receiver that accepts slowly is as good as down.
CONNECT_TIMEOUT_S = 5.0
KEEPALIVE_EXPIRY_S = 30.0
USER_AGENT = f"treaty-tracker/{__version__}"


class _RedactHttpxUrls(logging.Filter):
    """httpx logs every request's full URL at INFO, credentials and tokens included; this filter
    rewrites those URLs (path too: many hook URLs carry their token there) before any handler
    sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                redact_url(str(a), keep_path=False) if isinstance(a, httpx.URL) else a
                for a in record.args
            )
        return True


def _install_log_redaction() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHttpxUrls) for f in logger.filters):
        logger.addFilter(_RedactHttpxUrls())


def make_timeout(timeout_s: float) -> httpx.Timeout:
    """Per-phase timeouts for one request: ``timeout_s`` for reading, writing and waiting for
    a pooled connection, at most :data:`CONNECT_TIMEOUT_S` for connecting."""
    return httpx.Timeout(
        connect=min(timeout_s, CONNECT_TIMEOUT_S), read=timeout_s, write=timeout_s, pool=timeout_s
    )


def make_http_client(
    *,
    timeout_s: float = WEBHOOK_TIMEOUT_S,
    max_connections: int = 64,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An :class:`httpx.AsyncClient` for webhooks; the caller closes it (``await aclose()``).
    ``transport`` replaces the network (tests give an :class:`httpx.MockTransport`)."""
    _install_log_redaction()
    return httpx.AsyncClient(
        transport=transport,
        timeout=make_timeout(timeout_s),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        ),
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    )


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 10.2.3).

    Accepts delta-seconds (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``,
    measured from ``now``). Returns ``None`` when the header is absent or invalid, and never a
    negative number (a date in the past means "now", i.e. ``0.0``).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
