"""Digests through the outbox (SQLite and PostgreSQL), in one process with the clock passed
in: one email with an HTML table and an .ics of every listed deadline, a signed webhook with
the list, once per scheduled day however often the job runs and whoever runs it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook

from tests.integration.test_dispatch import SECRET, add_agreement
from tests.support.receiver import Receiver
from tests.support.smtp import SmtpServer, smtp_server
from tracker.feed import deadline_uid
from tracker.service import Service
from tracker.settings import Settings
from tracker.store import reminders as outbox
from tracker.store.engine import make_engine
from tracker.store.migrate import upgrade

__all__ = ["smtp_server"]  # the fixture, used below

#: A Monday; the digest goes out on Mondays at 08:00 in Berlin (06:00 UTC in summer).
MONDAY = date(2026, 8, 3)
AT = datetime(2026, 8, 3, 6, 0, tzinfo=UTC)
ACK_SECRET = "digest-test-ack-secret-0123456789"


def pact(agreement_id: str, expires: date, *, tags: str, notice: str | None = None) -> str:
    rule = (
        f"{{kind: auto_renewal, first_expiry: {expires}, renewal_term: 1 year, notice: {notice}}}"
        if notice
        else f"{{kind: fixed_term, expires: {expires}}}"
    )
    return (
        f"version: 1\nid: {agreement_id}\ntitle: Pact {agreement_id}\nparties: [AA, BB]\n"
        f"tags: [{tags}]\nrules:\n  - {rule}\n"
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def settings_for(db_url: str, channels: dict[str, Any], **digest: Any) -> Settings:
    return Settings.model_validate(
        {
            "database_url": db_url,
            "agreements_dir": None,
            "timezone": "Europe/Berlin",
            "default_channels": ["log"],
            "reminders": ["1 day"],
            "channels": channels,
            "public_url": "https://tracker.example.org",
            "ack_secret": ACK_SECRET,
            "digests": {
                "weekly-legal": {
                    "channel": "legal",
                    "schedule": "MON 08:00",
                    "within": "30 days",
                    "tags": ["legal", "tax"],
                    **digest,
                }
            },
        }
    )


def add_pacts(engine: Engine) -> None:
    add_agreement(engine, pact("tax-a", MONDAY + timedelta(days=20), tags="tax"), now=AT)
    # notice deadline 2026-08-05 (expiry 2026-11-03 - 90 days), expiry after the window
    add_agreement(
        engine, pact("legal-b", date(2026, 11, 3), tags="legal", notice="90 days"), now=AT
    )
    add_agreement(engine, pact("trade-c", MONDAY + timedelta(days=5), tags="trade"), now=AT)
    add_agreement(engine, pact("tax-d", MONDAY + timedelta(days=31), tags="tax"), now=AT)


def test_a_digest_email_has_a_table_and_a_calendar_of_every_listed_deadline(
    db_url: str, engine: Engine, smtp_server: SmtpServer
) -> None:
    settings = settings_for(
        db_url,
        {"legal": {"type": "email", "to": ["legal@example.org"]}},
    ).model_copy(update={"smtp": smtp_server.settings()})
    add_pacts(engine)
    service = Service(settings, engine=engine)
    assert service.plan_digests(now=AT - timedelta(minutes=1)) == []  # 07:59 in Berlin
    assert service.tick(now=AT).outcomes == {"sent": 1}
    (mail,) = smtp_server.wait_for(1)
    message = mail.message
    assert (
        message["Subject"] == "Digest weekly-legal for 2026-08-03: 2 deadlines in the next 30 days"
    )
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.splitlines()[2:] == [
        "2026-08-05  in 2 days  act by: Notice deadline, Pact legal-b",
        "2026-08-23  in 20 days  for information: Expiry, Pact tax-a",
    ]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.count("<tr><td>") == 2
    assert html.index("2026-08-05") < html.index("2026-08-23")
    assert html.count('<a href="https://tracker.example.org/ack/') == 2
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "deadlines.ics"
    calendar = Calendar.from_ical(attachment.get_content())
    assert str(calendar["method"]) == "PUBLISH"
    assert {str(e["uid"]) for e in calendar.walk("VEVENT")} == {
        deadline_uid("legal-b", "notice_deadline", date(2026, 8, 5), None),
        deadline_uid("tax-a", "expiry", date(2026, 8, 23), None),
    }

    # Later the same day, and another process (a restart, a replica): nothing new.
    assert service.tick(now=AT + timedelta(hours=3)).claimed == 0
    assert Service(settings, engine=engine).plan_digests(now=AT + timedelta(hours=5)) == []
    # Tuesday: no digest; the next Monday: the next one.
    assert service.plan_digests(now=AT + timedelta(days=1)) == []
    assert service.plan_digests(now=AT + timedelta(days=7)) == ["weekly-legal"]
    digests = [
        (r.agreement_id, r.deadline_date, r.channel, r.purpose, r.status)
        for r in outbox.list_reminders(engine)
        if r.purpose == "digest"
    ]
    assert digests == [
        ("weekly-legal", MONDAY, "legal", "digest", "sent"),
        ("weekly-legal", MONDAY + timedelta(days=7), "legal", "digest", "pending"),
    ]


def test_a_digest_webhook_is_a_signed_list_in_date_order(db_url: str, engine: Engine) -> None:
    # Real time: the receiver checks the signature's timestamp against its clock.
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    with Receiver() as receiver:
        settings = settings_for(
            db_url,
            {"legal": {"type": "webhook", "url": receiver.url, "secret": SECRET}},
            schedule="daily 00:00",
            kinds=["expiry"],
        ).model_copy(update={"timezone": "UTC"})
        add_agreement(engine, pact("tax-a", today + timedelta(days=30), tags="tax"), now=now)
        add_agreement(engine, pact("tax-b", today, tags="tax"), now=now)
        add_agreement(engine, pact("tax-c", today + timedelta(days=31), tags="tax"), now=now)
        service = Service(settings, engine=engine)
        assert service.tick(now=now).outcomes == {"sent": 1}
        (request,) = receiver.requests
    body = Webhook(SECRET).verify(request.body, request.headers)
    (row,) = [r for r in outbox.list_reminders(engine) if r.purpose == "digest"]
    assert request.headers["webhook-id"] == row.webhook_id
    assert (body["type"], body["version"], body["data"]["count"]) == ("deadline.digest", "1", 2)
    assert [
        (d["agreement"], d["date"], d["days_left"], d["action"]) for d in body["data"]["deadlines"]
    ] == [
        ("tax-b", today.isoformat(), 0, "info"),
        ("tax-a", (today + timedelta(days=30)).isoformat(), 30, "info"),
    ]
    # The moment it was sent (the tick's clock stands still at ``now``), not its schedule.
    assert body["timestamp"] == now.isoformat().replace("+00:00", "Z")
