"""Signed acknowledgement tokens: the ``{public_url}/ack/{token}`` link in every reminder.

A token names one deadline (agreement, kind, date, party) and the last day it may be used,
and carries an HMAC-SHA256 of both under the configured ``ack_secret``:
``base64url(JSON payload) "." base64url(signature)``. Whoever holds the link may acknowledge
that deadline and nothing else; changing any character of it makes it invalid.

Expiry: a token is good through the day after its deadline (:data:`GRACE_DAYS`), counted in
UTC. The day after covers the deadline day in every time zone (Kiribati is 14 hours ahead of
UTC, Baker Island 12 behind), and a link of a deadline long past acknowledges nothing anyone
still needs. A deadline on 31 December 9999 has no day after: its token is good through that
day.

Pure: the secret and today's date come in as arguments.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, timedelta

#: Days after the deadline on which its token is still accepted.
GRACE_DAYS = 1
_VERSION = 1


class TokenError(ValueError):
    """A token that is malformed, forged or tampered with (``expired`` False), or past its
    last day (``expired`` True)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class AckTarget:
    """The deadline a token names, and the last day (UTC) it may be used."""

    agreement: str
    kind: str
    date: dt.date
    party: str
    expires: dt.date

    @property
    def deadline_key(self) -> tuple[str, str, dt.date, str]:
        return (self.agreement, self.kind, self.date, self.party)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def expiry_of(deadline_date: date) -> date:
    """The last day a token of a deadline on ``deadline_date`` is good (see the module doc)."""
    if deadline_date >= date.max - timedelta(days=GRACE_DAYS):
        return date.max
    return deadline_date + timedelta(days=GRACE_DAYS)


def _signature(payload: str, secret: str) -> bytes:
    return hmac.new(
        secret.encode("utf-8"), f"ack.{payload}".encode("ascii"), hashlib.sha256
    ).digest()


def sign(key: tuple[str, str, date, str], *, secret: str) -> str:
    """The token of the deadline ``key`` = (agreement, kind, date, party)."""
    agreement, kind, day, party = key
    body = [_VERSION, agreement, kind, day.isoformat(), party, expiry_of(day).isoformat()]
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_b64(_signature(payload, secret))}"


def verify(token: str, *, secret: str, today: date) -> AckTarget:
    """The deadline ``token`` names, if its signature holds and ``today`` (UTC) is not after
    its last day; :class:`TokenError` otherwise. The signature is checked first, in constant
    time, so nothing in a forged token is ever read."""
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature:
        raise TokenError("not an acknowledgement link")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise TokenError("not an acknowledgement link") from None
    try:
        expected = _signature(payload, secret)
    except UnicodeEncodeError:
        raise TokenError("not an acknowledgement link") from None
    if not hmac.compare_digest(given, expected):
        raise TokenError("this link is not valid (it was changed, or signed with another key)")
    try:
        version, agreement, kind, day, party, expires = json.loads(_unb64(payload))
        target = AckTarget(
            str(agreement),
            str(kind),
            date.fromisoformat(day),
            str(party),
            date.fromisoformat(expires),
        )
    except (ValueError, TypeError, binascii.Error):
        raise TokenError("not an acknowledgement link") from None
    if version != _VERSION:
        raise TokenError("not an acknowledgement link")
    if today > target.expires:
        raise TokenError(
            f"this link expired on {target.expires} (the deadline was {target.date})",
            expired=True,
        )
    return target


def link(public_url: str, key: tuple[str, str, date, str], *, secret: str) -> str:
    """``{public_url}/ack/{token}``: the one-click acknowledgement link of a deadline."""
    return f"{public_url.rstrip('/')}/ack/{sign(key, secret=secret)}"
