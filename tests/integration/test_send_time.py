"""A reminder sent late says when it was really sent, and keeps its planned time apart:
a real webhook receiver (verified with standardwebhooks) and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from standardwebhooks.webhooks import Webhook

from tests.integration.test_dispatch import (
    SECRET,
    add_agreement,
    agreement_yaml,
    make_settings,
)
from tests.support.receiver import Receiver
from tests.support.smtp import SmtpServer, smtp_server
from tests.unit.notify.samples import gsomia_notification
from tracker.notify.email import EmailNotifier
from tracker.service import Service
from tracker.settings import EmailChannel
from tracker.store.engine import make_engine
from tracker.store.migrate import upgrade

__all__ = ["smtp_server"]  # fixture used below


def test_a_missed_reminder_is_stamped_with_its_send_time_and_keeps_its_planned_time(
    db_url: str,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        with Receiver() as receiver:
            settings = make_settings(db_url, receiver.url)
            # 10 days' reminder of an expiry 8 days ahead: it was due 2 days ago at 00:00.
            add_agreement(engine, agreement_yaml("pact", now.date() + timedelta(days=8)), now=now)
            service = Service(settings, engine=engine, worker="w1")
            service.replan(now=now)
            assert service.tick(now=now).sent == 1
            (request,) = receiver.wait_for(1)
    finally:
        engine.dispose()
    payload = Webhook(SECRET).verify(request.body, request.headers)
    planned = datetime.combine(now.date() - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    assert payload["timestamp"] == now.isoformat().replace("+00:00", "Z")
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    reminder = payload["data"]["reminder"]
    assert reminder["planned_at"] == planned.isoformat().replace("+00:00", "Z")
    assert payload["data"]["summary"] == "Test pact pact expires"
    assert (payload["data"]["deadline"]["action"], payload["data"]["deadline"]["outcome"]) == (
        "info",
        "ends",
    )


def test_an_email_sent_late_is_dated_when_it_was_sent(smtp_server: SmtpServer) -> None:
    # Planned for 2020-08-07 00:00 UTC; the service came back and sent it on 2020-08-09.
    sent_at = datetime(2020, 8, 9, 6, 30, tzinfo=UTC)
    notifier = EmailNotifier(
        "desk", EmailChannel(type="email", to=["desk@example.org"]), smtp=smtp_server.settings()
    )

    async def main() -> None:
        try:
            await notifier.send(gsomia_notification(), now=sent_at)
        finally:
            await notifier.aclose()

    asyncio.run(main())
    [mail] = smtp_server.wait_for(1)
    message = mail.message
    assert parsedate_to_datetime(str(message["Date"])) == sent_at
    planned = parsedate_to_datetime(str(message["X-Tracker-Planned-At"]))
    assert planned == datetime(2020, 8, 7, 0, 0, tzinfo=UTC)
    assert message["Subject"] == (
        "Last day to give notice: GSOMIA (expiry 2020-11-22) – 2020-08-24, in 17 days"
    )
