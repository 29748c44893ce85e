"""One dispatch tick on the real outbox (SQLite and PostgreSQL) with the network replaced by
an :class:`httpx.MockTransport` and the clock injected, so every stored moment is exact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.integration.test_dispatch import (
    SECRET,
    add_agreement,
    agreement_yaml,
    make_settings,
)
from tracker import dispatch
from tracker.notify.http import make_http_client
from tracker.notify.registry import build_notifiers
from tracker.service import Service
from tracker.settings import Settings
from tracker.store import reminders as outbox

HOOK = "https://hooks.example.org/treaties"
NOW = datetime(2026, 8, 7, 0, 0, tzinfo=UTC)
WHERE = "webhook 'hook' (https://hooks.example.org)"


class Clock:
    """The tick's clock: a fixed moment, moved on by the receiver as it answers."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Receiver:
    """Answers each request with the next of ``answers`` (the last one repeats) after
    ``takes`` of the tick's time, and keeps what it saw."""

    def __init__(self, clock: Clock, *answers: Callable[[], httpx.Response], takes_s: float = 2):
        self.clock = clock
        self.answers = list(answers)
        self.takes = timedelta(seconds=takes_s)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.clock.now += self.takes
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer()


def tick(
    database: Engine, settings: Settings, receiver: Receiver, *, at: datetime
) -> dict[str, int]:
    receiver.clock.now = at

    async def main() -> dispatch.TickReport:
        client = make_http_client(transport=httpx.MockTransport(receiver))
        notifiers = build_notifiers(settings, client=client)
        try:
            return await dispatch.tick_async(
                database,
                notifiers,
                settings,
                now=at,
                worker="w1",
                limit=10,
                uniform=lambda low, _high: low,  # no jitter: the backoff is exact
                clock=receiver.clock,
            )
        finally:
            await client.aclose()

    return asyncio.run(main()).outcomes


@pytest.fixture
def settings(db_url: str, engine: Engine) -> Iterator[Settings]:
    settings = make_settings(
        db_url,
        HOOK,
        retry={"initial_delay": "30 seconds", "max_delay": "1 hour", "max_attempts": 3},
    )
    add_agreement(engine, agreement_yaml("pact", NOW.date() + timedelta(days=10)), now=NOW)
    Service(settings, engine=engine).replan(now=NOW)  # one reminder, due at NOW
    yield settings


def status(database: Engine) -> tuple[str, int, datetime | None, int | None]:
    (row,) = outbox.list_reminders(database)
    return row.status, row.attempts, row.next_attempt_at, row.last_status_code


def test_a_503_with_retry_after_is_retried_then_delivered_under_the_same_webhook_id(
    engine: Engine,
    settings: Settings,
) -> None:
    clock = Clock(NOW)
    receiver = Receiver(
        clock,
        lambda: httpx.Response(503, text="busy", headers={"retry-after": "120"}),
        lambda: httpx.Response(200),
    )

    first = tick(engine, settings, receiver, at=NOW)
    failed_at = NOW + timedelta(seconds=2)
    assert (first, status(engine)) == (
        {"retrying": 1},
        ("retrying", 1, failed_at + timedelta(seconds=120), 503),
    )
    early = tick(engine, settings, receiver, at=failed_at + timedelta(seconds=119))
    assert (early, len(receiver.requests)) == ({}, 1)
    again = NOW + timedelta(minutes=3)
    assert tick(engine, settings, receiver, at=again) == {"sent": 1}

    (row,) = outbox.list_reminders(engine)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, again + timedelta(seconds=2))
    attempts = outbox.list_attempts(engine)
    assert [(a.attempt, a.outcome, a.status_code, a.started_at) for a in attempts] == [
        (1, "retrying", 503, NOW),
        (2, "sent", 200, again),
    ]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [row.webhook_id] * 2
    assert [r.headers["webhook-timestamp"] for r in receiver.requests] == [
        str(int(NOW.timestamp())),
        str(int(again.timestamp())),
    ]


def test_a_410_disables_the_channel_and_its_reminder_dies_without_a_retry(
    engine: Engine,
    settings: Settings,
) -> None:
    receiver = Receiver(Clock(NOW), lambda: httpx.Response(410, text="gone"))
    assert tick(engine, settings, receiver, at=NOW) == {"disabled": 1}
    reason = f"{WHERE}: HTTP 410 Gone: gone (the receiver is gone; disabling the channel)"
    assert status(engine) == ("dead", 1, NOW + timedelta(seconds=2), 410)
    assert outbox.disabled_channels(engine) == {"hook": reason}


def test_a_timeout_is_retried_after_the_initial_delay_counted_from_the_failure(
    engine: Engine,
    settings: Settings,
) -> None:
    clock = Clock(NOW)

    def timing_out() -> httpx.Response:
        raise httpx.ReadTimeout("read timed out")

    receiver = Receiver(clock, timing_out, takes_s=15)
    assert tick(engine, settings, receiver, at=NOW) == {"retrying": 1}
    (row,) = outbox.list_reminders(engine)
    failed_at = NOW + timedelta(seconds=15)
    assert (row.status, row.next_attempt_at, row.last_error) == (
        "retrying",
        failed_at + timedelta(seconds=30),
        f"{WHERE}: timed out after 15 s (ReadTimeout)",
    )


def test_a_misconfigured_secret_fails_its_reminder_as_retryable_without_a_request(
    db_url: str,
    engine: Engine,
    settings: Settings,
) -> None:
    broken = make_settings(
        db_url,
        HOOK,
        channels={"hook": {"type": "webhook", "url": HOOK, "secret": "whsec_not base64!"}},
    )
    receiver = Receiver(Clock(NOW), lambda: httpx.Response(200))
    assert tick(engine, broken, receiver, at=NOW) == {"retrying": 1}
    assert receiver.requests == []
    (row,) = outbox.list_reminders(engine)
    assert row.last_error == (
        "channel 'hook' is misconfigured: <input>: channels.hook.secret: "
        "webhook secret is not 'whsec_' followed by base64"
    )
    assert SECRET not in (row.last_error or "")
