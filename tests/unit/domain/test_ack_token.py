"""Acknowledgement tokens (tracker/domain/ack.py): signed, naming one deadline, expiring."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest

from tracker.domain.ack import AckTarget, TokenError, expiry_of, link, sign, verify

SECRET = "a-secret-of-at-least-16-characters"
KEY = ("kr-jp-gsomia", "notice_deadline", date(2026, 8, 24), "")


def test_a_token_names_its_deadline_and_its_last_day() -> None:
    token = sign(KEY, secret=SECRET)
    assert verify(token, secret=SECRET, today=date(2026, 8, 7)) == AckTarget(
        "kr-jp-gsomia", "notice_deadline", date(2026, 8, 24), "", date(2026, 8, 25)
    )


def test_a_link_is_the_public_url_and_the_token() -> None:
    token = sign(KEY, secret=SECRET)
    assert link("https://tracker.example.org/", KEY, secret=SECRET) == (
        f"https://tracker.example.org/ack/{token}"
    )


@pytest.mark.parametrize(
    ("today", "ok"),
    [
        (date(2026, 8, 24), True),  # the deadline day
        (date(2026, 8, 25), True),  # the day after (the deadline day somewhere west of UTC)
        (date(2026, 8, 26), False),
    ],
)
def test_a_token_expires_the_day_after_its_deadline(today: date, ok: bool) -> None:
    token = sign(KEY, secret=SECRET)
    if ok:
        assert verify(token, secret=SECRET, today=today).date == date(2026, 8, 24)
        return
    with pytest.raises(TokenError) as caught:
        verify(token, secret=SECRET, today=today)
    assert (str(caught.value), caught.value.expired) == (
        "this link expired on 2026-08-25 (the deadline was 2026-08-24)",
        True,
    )


def test_the_last_day_of_the_calendar_has_no_day_after() -> None:
    assert expiry_of(date.max) == date.max
    assert expiry_of(date(2024, 2, 28)) == date(2024, 2, 29)  # leap day
    assert expiry_of(date(2023, 2, 28)) == date(2023, 3, 1)


def _forge_payload(token: str, **changes: object) -> str:
    payload, _, signature = token.partition(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    version, agreement, kind, day, party, expires = body
    fields = {"agreement": agreement, "day": day, "expires": expires} | changes
    forged = [version, fields["agreement"], kind, fields["day"], party, fields["expires"]]
    encoded = base64.urlsafe_b64encode(json.dumps(forged, separators=(",", ":")).encode())
    return encoded.decode().rstrip("=") + "." + signature


INVALID = "this link is not valid (it was changed, or signed with another key)"
MALFORMED = "not an acknowledgement link"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda t: _forge_payload(t, agreement="other-pact"), INVALID),
        (lambda t: _forge_payload(t, expires="2099-12-31"), INVALID),  # a longer life
        (lambda t: _forge_payload(t, day="2027-08-24"), INVALID),
        (lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), INVALID),  # the signature
        (lambda t: sign(KEY, secret="another-secret-16-chars-long"), INVALID),
        (lambda t: t.replace(".", ""), MALFORMED),
        (lambda t: "." + t.partition(".")[2], MALFORMED),
        (lambda t: t.partition(".")[0] + ".!!!", INVALID),
        (lambda t: "ünïcode." + t.partition(".")[2], MALFORMED),
    ],
)
def test_a_changed_or_foreign_token_is_refused(tamper: object, message: str) -> None:
    token = sign(KEY, secret=SECRET)
    forged = tamper(token)  # type: ignore[operator]
    with pytest.raises(TokenError) as caught:
        verify(forged, secret=SECRET, today=date(2026, 8, 7))
    assert (str(caught.value), caught.value.expired) == (message, False)
