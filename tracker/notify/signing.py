"""Standard Webhooks ``v1`` signatures (https://www.standardwebhooks.com/).

The signed content is ``f"{msg_id}.{timestamp}."`` followed by the exact body bytes; the key is
the base64 part of a ``whsec_...`` secret. During a secret rotation the header carries one
signature per secret, space-separated, so a receiver verifies with whichever it knows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix is optional).

    Raises :class:`ValueError` (without the secret in the message) when the rest is not
    base64 or decodes to nothing.
    """
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    # Some providers hand out unpadded base64; padding it is what the reference libraries do.
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``msg_id.timestamp.body`` with ``secret``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per distinct secret, current first."""
    if not secrets:
        raise ValueError("at least one webhook secret is needed to sign")
    signatures = dict.fromkeys(
        sign(secret, msg_id=msg_id, timestamp=timestamp, body=body) for secret in secrets
    )
    return " ".join(signatures)
