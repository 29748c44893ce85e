"""Keep secrets out of error messages and log lines.

Every string that leaves a notifier (a :class:`~tracker.errors.DeliveryError` message, a log
record, a response body echoed back by a receiver, the text of an unexpected exception) passes
through the channel's :class:`Redactor`, and every URL shown to a person passes through
:func:`redact_url`.

A receiver that answers an error with the request it got (headers included) echoes the
channel's credentials in whatever form they travelled: an ``Authorization: Basic`` header is
base64 of ``user:password``, a URL's password is percent-encoded, a JSON body escapes ``/``.
A :class:`Redactor` therefore masks every secret in each of those forms, not only as written
in the configuration.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

MASK = "***"
#: Shorter pieces are not masked: a one- or two-character value would mask innocent text.
MIN_SECRET_CHARS = 3

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


def encodings(secret: str) -> set[str]:
    """The forms in which ``secret`` can come back: as is, percent-encoded (``quote`` and
    ``quote_plus``), base64 (standard and URL-safe, with and without padding), JSON-escaped,
    and each of those with ``/`` escaped as ``\\/`` (as some JSON encoders write it)."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    forms |= {form.replace("/", "\\/") for form in forms if "/" in form}
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


def authorization_secrets(value: str) -> list[str]:
    """The secret parts of an ``Authorization`` header value: the whole value, its credentials
    after the scheme (``Bearer abc`` → ``abc``) and, for ``Basic``, the decoded password."""
    pieces = [value.strip()]
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if credentials:
        pieces.append(credentials)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            _, colon, password = decoded.partition(":")
            if colon:
                pieces += [decoded, password]
    return pieces


class Redactor:
    """Masks one channel's secrets, in every form :func:`encodings` knows, in any text.

    ``secrets`` are values that must never be shown (webhook secrets, URLs with tokens,
    configured header values, an SMTP password); ``credentials`` are (user, password) pairs,
    masked also as the base64 of ``user:password`` (HTTP Basic) and of ``\\0user\\0password``
    (SMTP ``AUTH PLAIN``). Matching ignores case (percent-encoding may come back as ``%2f``);
    longer forms are masked first, so a secret that contains another is masked whole. Every
    ``whsec_`` value and every URL userinfo is masked too, known or not.
    """

    def __init__(
        self,
        secrets: Iterable[str | None] = (),
        *,
        credentials: Iterable[tuple[str, str]] = (),
    ) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_CHARS:
                forms |= encodings(secret)
        for user, password in credentials:
            for secret in (password, f"{user}:{password}", f"\0{user}\0{password}"):
                forms |= encodings(secret)
        ordered = sorted(forms, key=lambda form: (-len(form), form))
        self._pattern = (
            re.compile("|".join(re.escape(form) for form in ordered), re.IGNORECASE)
            if ordered
            else None
        )

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _WHSEC.sub(MASK, text)
        return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


#: Masks what is recognisable without knowing any secret (``whsec_`` values, URL userinfo).
ANONYMOUS = Redactor()


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret (in every form of :func:`encodings`), every
    ``whsec_`` value and every URL userinfo replaced by ``***``."""
    return Redactor(secrets)(text)
