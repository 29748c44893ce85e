"""Configuration of routes, digests, escalations, acknowledgement links and Apprise channels:
what is accepted, and the exact error for what is not."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path

import pytest

from tracker.domain.durations import parse_duration
from tracker.domain.routing import Escalation, Match, Route, Schedule
from tracker.errors import ValidationFailed
from tracker.settings import get_settings

CONFIG = """\
channels:
  desk: {type: email, to: [desk@example.org]}
  chat: {type: apprise, url: "ntfy://ntfy.example.org/treaties-s3cr3t"}
routes:
  - match: {tags: [tax], parties: [DE, FR]}
    channels: [desk]
    continue: true
  - channels: [chat]
digests:
  weekly: {channel: desk, schedule: "mon 08:00", within: 30 days, kinds: [notice_deadline]}
escalations:
  - {when_left: 7 days, channels: [chat], tags: [security]}
public_url: https://tracker.example.org/
ack_secret: 0123456789abcdef
"""


def load(tmp_path: Path, text: str) -> object:
    (tmp_path / "t.yaml").write_text(text, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return get_settings("t.yaml", env={})
    finally:
        os.chdir(cwd)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ValidationFailed) as exc:
        load(tmp_path, text)
    return [str(error) for error in exc.value.errors]


def test_routes_digests_and_escalations_become_the_values_the_core_reads(tmp_path: Path) -> None:
    settings = load(tmp_path, CONFIG)
    policy = settings.reminder_policy()  # type: ignore[attr-defined]
    assert policy.routes == (
        Route(Match(tags=frozenset({"tax"}), parties=frozenset({"DE", "FR"})), ("desk",), True),
        Route(Match(), ("chat",), False),
    )
    assert policy.escalations == (
        Escalation(Match(tags=frozenset({"security"})), parse_duration("7 days"), ("chat",)),
    )
    (digest,) = settings.digest_specs()  # type: ignore[attr-defined]
    assert (digest.name, digest.channel, digest.schedule, digest.within.canonical()) == (
        "weekly",
        "desk",
        Schedule(0, time(8, 0)),
        "30 days",
    )
    assert digest.match == Match(kinds=frozenset({"notice_deadline"}))
    assert settings.public_url == "https://tracker.example.org"  # type: ignore[attr-defined]
    # The Apprise URL is a secret: never in a repr or a dump.
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings)


def test_channels_named_by_routes_digests_and_escalations_must_be_configured(
    tmp_path: Path,
) -> None:
    text = """\
routes: [{match: {kinds: [expiry]}, channels: [log, ops]}]
digests: {weekly: {channel: mail, schedule: "daily 08:00", within: 7 days}}
escalations: [{when_left: 2 days, channels: [boss]}]
"""
    assert problems(tmp_path, text) == [
        "t.yaml: routes[0].channels: channel 'ops' is not configured (known: ['log'])",
        "t.yaml: escalations[0].channels: channel 'boss' is not configured (known: ['log'])",
        "t.yaml: digests.weekly.channel: channel 'mail' is not configured (known: ['log'])",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "routes: [{match: {tag: [x]}, channels: [log]}]\n",
            "t.yaml: routes.0.match.tag: Extra inputs are not permitted",
        ),
        (
            "routes: [{match: {kinds: [notice]}, channels: [log]}]\n",
            "t.yaml: routes.0.match.kinds: unknown deadline kind(s) ['notice']; known: "
            "['earliest_notice', 'expiry', 'membership_ended', 'milestone', 'notice_deadline', "
            "'notice_window_opens', 'recurring', 'survival_ends', 'termination', "
            "'withdrawal_effective']",
        ),
        (
            "digests: {weekly: {channel: log, schedule: 'Monday 8:00', within: 7 days}}\n",
            "t.yaml: digests.weekly.schedule: 'Monday 8:00': 'Monday' is not a weekday "
            "(expected 'daily HH:MM' or a weekday and a time such as 'MON 08:00')",
        ),
        (
            "digests: {Weekly: {channel: log, schedule: 'MON 08:00', within: 7 days}}\n",
            "t.yaml: digests: digest names ['Weekly'] must be lowercase letters, digits and '-'",
        ),
        (
            "escalations: [{channels: [log]}]\n",
            "t.yaml: escalations.0.when_left: Field required",
        ),
        ("ack_secret: short\n", "t.yaml: ack_secret: an ack_secret needs at least 16 characters"),
        (
            "public_url: tracker.example.org\n",
            "t.yaml: public_url: 'tracker.example.org' is not an http(s) URL "
            "(e.g. 'https://tracker.example.org')",
        ),
        (
            "channels: {chat: {type: apprise, url: 'not a url'}}\n",
            "t.yaml: channels.chat.apprise.url: an Apprise URL looks like 'SCHEMA://...' "
            "(e.g. 'ntfy://host/topic')",
        ),
    ],
)
def test_bad_routing_configuration_is_refused_with_the_key_and_what_is_expected(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert problems(tmp_path, text) == [expected]
