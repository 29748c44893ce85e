"""The Apprise channel against real local receivers started here: Apprise's ``json://`` and
the self-hosted ``ntfy://`` form pointing at 127.0.0.1, through the real dispatcher and outbox
(SQLite), with a failing receiver retried until it succeeds and the URL's secrets redacted."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.integration.test_dispatch import add_agreement
from tests.support.receiver import Receiver
from tracker.errors import ConfigError, DeliveryError
from tracker.notify.apprise import AppriseNotifier
from tracker.notify.base import Notification
from tracker.notify.registry import build_notifier, build_notifiers
from tracker.service import Service
from tracker.settings import AppriseChannel, Settings
from tracker.store import reminders as outbox
from tracker.store.engine import make_engine
from tracker.store.migrate import upgrade

pytest.importorskip("apprise")

TODAY = datetime.now(UTC).date()
NOW = datetime.combine(TODAY, time(0, 0), tzinfo=UTC)
DEADLINE = TODAY + timedelta(days=10)
PASSWORD = "s3cret-apprise-pass"
TOKEN = "tok-9f8e7d6c5b4a"
ACK_SECRET = "apprise-test-ack-secret-0123456789"


def pact() -> str:
    return (
        "version: 1\nid: pact\ntitle: Test pact (TP)\nparties: [AA, BB]\n"
        f"rules:\n  - {{kind: fixed_term, expires: {DEADLINE}}}\n"
    )


@pytest.fixture
def engine(tmp_path: Any) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def settings_for(engine: Engine, channels: dict[str, str]) -> Settings:
    return Settings.model_validate(
        {
            "database_url": str(engine.url),
            "agreements_dir": None,
            "timezone": "UTC",
            "send_time": "00:00",
            "reminders": ["10 days"],
            "default_channels": sorted(channels),
            "channels": {
                name: {"type": "apprise", "url": url, "timeout_seconds": 5}
                for name, url in channels.items()
            },
            "public_url": "https://tracker.example.org",
            "ack_secret": ACK_SECRET,
            "retry": {"initial_delay": "1 minute", "max_delay": "1 hour", "max_attempts": 5},
        }
    )


def test_reminders_reach_a_json_and_an_ntfy_receiver(engine: Engine) -> None:
    with Receiver() as hook, Receiver() as ntfy:
        settings = settings_for(
            engine,
            {
                "chat": f"json://127.0.0.1:{hook.port}/treaties",
                "phone": f"ntfy://127.0.0.1:{ntfy.port}/treaty-deadlines",
            },
        )
        add_agreement(engine, pact(), now=NOW)
        service = Service(settings, engine=engine)
        service.replan(now=NOW)
        report = service.tick(now=NOW)
        (json_request,) = hook.requests
        (ntfy_request,) = ntfy.requests
    assert report.outcomes == {"sent": 2}
    (ack_url,) = {
        line.removeprefix("Acknowledge: ")
        for line in json_request.json()["message"].splitlines()
        if line.startswith("Acknowledge: ")
    }
    assert ack_url.startswith("https://tracker.example.org/ack/")
    title = f"TP expires – {DEADLINE}, in 10 days"
    message = f"Expiry on {DEADLINE} (in 10 days)\nTest pact (TP)\n"
    assert json_request.path == "/treaties"
    body = json_request.json()
    assert (body["title"], body["type"], body["version"]) == (title, "info", "1.0")
    assert body["message"].startswith(message)
    assert body["message"].endswith(f"\nAcknowledge: {ack_url}")
    sent = ntfy_request.json()
    assert (ntfy_request.path, sent["topic"], sent["title"]) == ("/", "treaty-deadlines", title)
    assert sent["message"] == body["message"]
    rows = {r.channel: (r.status, r.attempts) for r in outbox.list_reminders(engine)}
    assert rows == {"chat": ("sent", 1), "phone": ("sent", 1)}


def test_a_failing_receiver_is_retried_by_the_outbox_and_its_secrets_never_show(
    engine: Engine,
) -> None:
    with Receiver(responses=[500, 200]) as hook:
        url = f"json://bot:{PASSWORD}@127.0.0.1:{hook.port}/hooks/{TOKEN}"
        settings = settings_for(engine, {"chat": url})
        add_agreement(engine, pact(), now=NOW)
        service = Service(settings, engine=engine)
        service.replan(now=NOW)
        first = service.tick(now=NOW)
        (failed,) = outbox.list_reminders(engine)
        too_early = service.tick(now=NOW + timedelta(seconds=30))
        second = service.tick(now=NOW + timedelta(minutes=5))
        requests = hook.requests
    assert (first.outcomes, too_early.outcomes, second.outcomes) == (
        {"retrying": 1},
        {},
        {"sent": 1},
    )
    assert (failed.status, failed.attempts) == ("retrying", 1)
    assert failed.last_error is not None
    assert failed.last_error == (
        f"apprise 'chat' (json://127.0.0.1:{hook.port}): notify failed: "
        "Failed to send JSON POST notification: Internal server error., error=500."
    )
    texts = [failed.last_error] + [a.error or "" for a in outbox.list_attempts(engine)]
    texts += [a.detail or "" for a in outbox.list_attempts(engine)]
    assert [t for t in texts if PASSWORD in t or TOKEN in t] == []
    (row,) = outbox.list_reminders(engine)
    assert (row.status, row.attempts) == ("sent", 2)
    assert [r.path for r in requests] == [f"/hooks/{TOKEN}"] * 2
    basic = base64.b64encode(f"bot:{PASSWORD}".encode()).decode()
    assert [r.headers["authorization"] for r in requests] == [f"Basic {basic}"] * 2


def test_a_receiver_that_cannot_be_reached_is_a_retryable_failure_with_the_url_redacted() -> None:
    with Receiver() as hook:
        port = hook.port  # closed after this block: nothing listens there any more
    notifier = AppriseNotifier(
        "chat",
        AppriseChannel(type="apprise", url=f"json://127.0.0.1:{port}/x/{TOKEN}", timeout_seconds=2),  # type: ignore[arg-type]
    )
    notification = Notification(
        reminder_id=1,
        message_id="msg_x",
        channel="chat",
        offset="7 days",
        due_at=NOW,
        deadline={"agreement": "pact", "title": "Pact", "kind": "expiry", "date": str(DEADLINE),
                  "days_left": 10, "explanation": "x"},
        agreement={"id": "pact", "title": "Pact", "sources": []},
    )  # fmt: skip
    import asyncio

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(notifier.send(notification, now=NOW))
    assert (caught.value.permanent, caught.value.disable_channel) == (False, False)
    assert str(caught.value) == (
        f"apprise 'chat' (json://127.0.0.1:{port}): notify failed: "
        "A Connection error occurred sending JSON notification to 127.0.0.1."
    )


def test_without_the_extra_the_channel_says_how_to_install_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Apprise is installed here; hiding it is the only way to see the message people get.
    monkeypatch.setitem(sys.modules, "apprise", None)
    settings = settings_for(engine, {"chat": "json://127.0.0.1:9/x"})
    with pytest.raises(ConfigError) as caught:
        build_notifier(
            "chat", settings.channels["chat"], settings=settings, client=httpx.AsyncClient()
        )
    assert (str(caught.value), caught.value.path) == (
        "<input>: channels.chat.type: the 'apprise' channel type needs the optional extra: "
        "pip install 'treaty-tracker[apprise]'",
        "channels.chat.type",
    )
    stand_in = build_notifiers(settings, client=httpx.AsyncClient())["chat"]
    import asyncio

    with pytest.raises(DeliveryError) as failed:
        asyncio.run(stand_in.send(None, now=NOW))  # type: ignore[arg-type]
    assert "pip install 'treaty-tracker[apprise]'" in str(failed.value)


def test_a_url_apprise_does_not_know_is_refused_naming_the_channel(engine: Engine) -> None:
    settings = settings_for(engine, {"chat": f"nosuchservice://{TOKEN}@host/x"})
    with pytest.raises(ConfigError) as caught:
        build_notifier(
            "chat", settings.channels["chat"], settings=settings, client=httpx.AsyncClient()
        )
    assert str(caught.value) == (
        "<input>: channels.chat.url: Apprise does not understand this nosuchservice:// URL "
        "(see Apprise's list of services for its form)"
    )
    assert TOKEN not in repr(settings)
