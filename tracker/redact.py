"""Keep secrets out of error messages and log lines.

Every string that leaves a notifier (a :class:`~tracker.errors.DeliveryError` message, a log
record, a response snippet echoed back by a receiver) passes through :func:`redact` with the
channel's secrets, and every URL shown to a person passes through :func:`redact_url`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"

# Standard Webhooks secrets are recognisable on their own, even when nobody told us about them.
_WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")
# "scheme://user:password@" inside free text (a log line, an exception message).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def redact_url(url: str, *, keep_path: bool = True) -> str:
    """``url`` with credentials dropped and query values masked.

    ``https://user:pw@h/p?token=x`` becomes ``https://***@h/p?token=***``; the scheme, host,
    port, path and query keys stay, so a person can still tell which endpoint is meant. A
    fragment is masked too. Text that does not parse as a URL is masked entirely.
    ``keep_path=False`` masks the path as well, for URLs whose path is itself a token (Slack and
    Discord hook URLs): ``https://h/services/T0/B0/XXXX`` becomes ``https://h/***``.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return MASK
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{quote(key, safe='')}={MASK}" for key, _ in pairs) if pairs else MASK
    fragment = MASK if parts.fragment else ""
    path = parts.path if keep_path or parts.path in ("", "/") else f"/{MASK}"
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret, every ``whsec_`` value and every URL userinfo
    replaced by ``***``.

    Longer secrets are replaced first so that a secret containing another is masked whole.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _WHSEC.sub(MASK, text)
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
