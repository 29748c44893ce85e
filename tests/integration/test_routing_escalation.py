"""Routing, escalation and one-click acknowledgement, end to end in one process: the real
planner and dispatcher on SQLite and PostgreSQL, real local webhook receivers, and the real
app answering the ``/ack/{token}`` link (GET, then POST). The clock is passed in (``now``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import Engine

from tests.integration.test_dispatch import SECRET, add_agreement
from tests.support.receiver import Receiver
from tracker.api.app import create_app
from tracker.service import Service
from tracker.settings import Settings
from tracker.store import reminders as outbox
from tracker.store.engine import make_engine
from tracker.store.migrate import upgrade

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ACK_SECRET = "integration-ack-secret-0123456789"
TODAY = datetime.now(UTC).date()
NOW = datetime.combine(TODAY, time(0, 0), tzinfo=UTC)
#: Notice deadlines 20 days ahead: the 30-day reminder is missed (sent at once), the 7-day
#: reminder and the escalation are due at NOW + 13 days.
DEADLINE = TODAY + timedelta(days=20)
WEEK_BEFORE = NOW + timedelta(days=13)


def pact(agreement_id: str, *, tags: str) -> str:
    expiry = DEADLINE + timedelta(days=30)
    return (
        f"version: 1\nid: {agreement_id}\ntitle: Pact {agreement_id}\nparties: [KR, JP]\n"
        f"tags: [{tags}]\nrules:\n  - {{kind: auto_renewal, first_expiry: {expiry}, "
        "renewal_term: 1 year, notice: 30 days}\nreminder_kinds: all\n"
    ).replace("reminder_kinds: all\n", "")


def settings_for(db_url: str, base: str, **overrides: Any) -> Settings:
    def hook(path: str) -> dict[str, Any]:
        return {"type": "webhook", "url": f"{base}/{path}", "secret": SECRET}

    values: dict[str, Any] = {
        "database_url": db_url,
        "agreements_dir": None,
        "timezone": "UTC",
        "send_time": "00:00",
        "reminders": ["30 days", "7 days"],
        "reminder_kinds": ["notice_deadline"],
        "planning_horizon": "60 days",
        "default_channels": ["desk"],
        "channels": {name: hook(name) for name in ("desk", "defence", "legal", "director")},
        "routes": [
            {"match": {"tags": ["security"]}, "channels": ["defence"], "continue": True},
            {"match": {}, "channels": ["desk"]},
        ],
        "escalations": [
            {"kinds": ["notice_deadline"], "when_left": "7 days", "channels": ["director"]}
        ],
        "public_url": "http://testserver",
        "ack_secret": ACK_SECRET,
        "retry": {"initial_delay": "1 second", "max_delay": "1 minute", "max_attempts": 3},
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def delivered(receiver: Receiver, since: int = 0) -> set[tuple[str, str, str, str]]:
    """(channel, event type, agreement, offset) of every request since the ``since``-th."""
    out = set()
    for request in receiver.requests[since:]:
        body = request.json()
        out.add(
            (
                request.path.strip("/"),
                body["type"],
                body["data"]["deadline"]["agreement"],
                body["data"]["reminder"]["offset"],
            )
        )
    return out


def statuses(engine: Engine, agreement: str) -> dict[tuple[str, str, str], tuple[str, str | None]]:
    return {
        (r.channel, r.offset, r.purpose): (r.status, r.acknowledged_by)
        for r in outbox.list_reminders(engine, agreement=agreement)
    }


def test_an_escalation_goes_out_unless_the_deadline_was_acknowledged_through_its_link(
    db_url: str, engine: Engine, receiver: Receiver
) -> None:
    settings = settings_for(db_url, receiver.base_url)
    add_agreement(engine, pact("pact-a", tags="security"), now=NOW)
    add_agreement(engine, pact("pact-b", tags="security"), now=NOW)
    service = Service(settings, engine=engine)
    service.replan(now=NOW)
    assert service.tick(now=NOW).sent == 4
    assert delivered(receiver) == {
        (channel, "deadline.reminder", agreement, "30 days")
        for channel in ("defence", "desk")
        for agreement in ("pact-a", "pact-b")
    }
    links = {
        r.json()["data"]["deadline"]["agreement"]: r.json()["data"]["ack_url"]
        for r in receiver.requests
    }
    path = urlsplit(links["pact-b"]).path
    assert path.startswith("/ack/") and links["pact-a"] != links["pact-b"]

    app = create_app(settings)
    app.state.clock = lambda: NOW + timedelta(days=1)
    with TestClient(app) as client:
        looked = client.get(path)
        # Looking changes nothing (mail scanners fetch links).
        assert (looked.status_code, "Acknowledge</button>" in looked.text) == (200, True)
        assert (
            outbox.get_acknowledgement(engine, ("pact-b", "notice_deadline", DEADLINE, "")) is None
        )
        assert statuses(engine, "pact-b")[("director", "7 days", "escalation")] == ("pending", None)

        confirmed = client.post(path, data={"name": "  Kim   (defence desk) "})
        again = client.post(path, data={"name": "Someone else"})
        shown_again = client.get(path)
    assert confirmed.status_code == again.status_code == shown_again.status_code == 200
    for page in (confirmed, again, shown_again):
        assert "Acknowledged by Kim (defence desk) at" in page.text
    record = outbox.get_acknowledgement(engine, ("pact-b", "notice_deadline", DEADLINE, ""))
    assert record is not None
    assert (record.acknowledged_by, record.acknowledged_at, record.via) == (
        "Kim (defence desk)",
        NOW + timedelta(days=1),
        "link",
    )

    # A week before the deadline: pact-a gets its reminders and the escalation; pact-b nothing.
    before = receiver.count
    service.replan(now=WEEK_BEFORE)
    assert service.tick(now=WEEK_BEFORE).sent == 3
    assert delivered(receiver, before) == {
        ("defence", "deadline.reminder", "pact-a", "7 days"),
        ("desk", "deadline.reminder", "pact-a", "7 days"),
        ("director", "deadline.escalation", "pact-a", "7 days"),
    }
    assert statuses(engine, "pact-b") == {
        ("defence", "30 days", "reminder"): ("sent", None),
        ("desk", "30 days", "reminder"): ("sent", None),
        ("defence", "7 days", "reminder"): ("acknowledged", "Kim (defence desk)"),
        ("desk", "7 days", "reminder"): ("acknowledged", "Kim (defence desk)"),
        ("director", "7 days", "escalation"): ("acknowledged", "Kim (defence desk)"),
    }


def test_changing_routes_cancels_what_is_no_longer_routed_and_sends_nothing_twice(
    db_url: str, engine: Engine, receiver: Receiver
) -> None:
    add_agreement(engine, pact("pact-a", tags="security"), now=NOW)
    first = Service(settings_for(db_url, receiver.base_url), engine=engine)
    first.replan(now=NOW)
    assert first.tick(now=NOW).sent == 2  # 30 days: defence and desk

    # Security agreements now go to defence and legal only; the desk no longer hears of them.
    moved = settings_for(
        db_url,
        receiver.base_url,
        routes=[{"match": {"tags": ["security"]}, "channels": ["defence", "legal"]}],
    )
    second = Service(moved, engine=engine)
    report = second.replan(now=NOW + timedelta(hours=1))
    assert (report.by_reason, report.inserted) == (
        {"not_routed": 1, "missed_latest": 1, "scheduled": 1},
        2,
    )
    rows = {
        (r.channel, r.offset, r.purpose): (r.status, r.reason)
        for r in outbox.list_reminders(engine, agreement="pact-a")
    }
    assert rows == {
        ("defence", "30 days", "reminder"): ("sent", "missed_latest"),
        ("desk", "30 days", "reminder"): ("sent", "missed_latest"),
        # the desk's pending one is cancelled; legal gets the 30-day one at once (missed)
        ("desk", "7 days", "reminder"): (
            "cancelled",
            f"not_routed: the 7 days reminder of notice_deadline on {DEADLINE} no longer "
            "goes to desk",
        ),
        ("legal", "30 days", "reminder"): ("pending", "missed_latest"),
        ("legal", "7 days", "reminder"): ("pending", "scheduled"),
        ("defence", "7 days", "reminder"): ("pending", "scheduled"),
        ("director", "7 days", "escalation"): ("pending", "scheduled"),
    }
    assert second.tick(now=NOW + timedelta(hours=1)).sent == 1
    second.replan(now=WEEK_BEFORE)
    assert second.tick(now=WEEK_BEFORE).sent == 3
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 6
    assert delivered(receiver) == {
        ("defence", "deadline.reminder", "pact-a", "30 days"),
        ("desk", "deadline.reminder", "pact-a", "30 days"),
        ("legal", "deadline.reminder", "pact-a", "30 days"),
        ("defence", "deadline.reminder", "pact-a", "7 days"),
        ("legal", "deadline.reminder", "pact-a", "7 days"),
        ("director", "deadline.escalation", "pact-a", "7 days"),
    }


def test_a_tampered_or_expired_link_is_refused_and_acknowledges_nothing(
    db_url: str, engine: Engine, receiver: Receiver
) -> None:
    settings = settings_for(db_url, receiver.base_url)
    add_agreement(engine, pact("pact-a", tags="security"), now=NOW)
    service = Service(settings, engine=engine)
    service.replan(now=NOW)
    service.tick(now=NOW)
    path = urlsplit(receiver.requests[0].json()["data"]["ack_url"]).path
    payload, _, signature = path.removeprefix("/ack/").partition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    tampered = f"/ack/{payload}.{flipped}"

    app = create_app(settings)
    with TestClient(app) as client:
        app.state.clock = lambda: NOW
        refused = [client.get(tampered), client.post(tampered, data={"name": "x"})]
        # The day after the deadline is the link's last day; the day after that it expired.
        app.state.clock = lambda: datetime.combine(DEADLINE + timedelta(days=2), time(), UTC)
        expired = [client.get(path), client.post(path, data={"name": "late"})]
    assert [r.status_code for r in refused] == [404, 404]
    assert all(
        "This link is not valid" in r.text and "changed, or signed with another key" in r.text
        for r in refused
    )
    assert [r.status_code for r in expired] == [410, 410]
    assert all(f"this link expired on {DEADLINE + timedelta(days=1)}" in r.text for r in expired)
    assert outbox.acknowledged_deadlines(engine) == set()
    assert {r.status for r in outbox.list_reminders(engine) if r.status != "sent"} == {"pending"}


def test_without_an_ack_secret_reminders_carry_no_link(
    db_url: str, engine: Engine, receiver: Receiver
) -> None:
    settings = settings_for(db_url, receiver.base_url, ack_secret=None)
    add_agreement(engine, pact("pact-a", tags="trade"), now=NOW)
    service = Service(settings, engine=engine)
    service.replan(now=NOW)
    assert service.tick(now=NOW).sent == 1
    (request,) = receiver.requests
    assert (request.path, request.json()["data"]["ack_url"]) == ("/desk", None)
    assert date.fromisoformat(request.json()["data"]["deadline"]["date"]) == DEADLINE


def test_a_deadline_acknowledged_over_the_api_gets_nothing_on_a_newly_routed_channel(
    db_url: str, engine: Engine, receiver: Receiver
) -> None:
    # Only one reminder per channel, already sent when the deadline is acknowledged: no row
    # changes, and only the recorded acknowledgement can tell the planner.
    only = {"reminders": ["30 days"], "escalations": []}
    add_agreement(engine, pact("pact-a", tags="security"), now=NOW)
    first = Service(settings_for(db_url, receiver.base_url, **only), engine=engine)
    first.replan(now=NOW)
    assert first.tick(now=NOW).sent == 2
    sent = next(r for r in outbox.list_reminders(engine) if r.status == "sent")
    assert sent.id is not None
    changed = outbox.acknowledge(
        engine, sent.id, by="desk@example.org", now=NOW + timedelta(hours=1)
    )
    assert changed == []

    moved = settings_for(
        db_url,
        receiver.base_url,
        routes=[{"match": {"tags": ["security"]}, "channels": ["legal"]}],
        **only,
    )
    second = Service(moved, engine=engine)
    second.replan(now=NOW + timedelta(hours=2))
    assert second.tick(now=WEEK_BEFORE).claimed == 0
    assert receiver.count == 2
    legal = {
        (r.offset, r.purpose): (r.status, r.reason)
        for r in outbox.list_reminders(engine)
        if r.channel == "legal"
    }
    assert legal == {("30 days", "reminder"): ("acknowledged", "acknowledged")}
