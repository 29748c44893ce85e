"""The email channel against a real SMTP server (aiosmtpd) on a local port."""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar

from tests.support.smtp import (
    TEST_PASSWORD,
    TEST_USERNAME,
    SmtpServer,
    TlsFiles,
    free_port,
    smtp_server,
    smtp_starttls_server,
    tls_files,
)
from tests.unit.notify.samples import gsomia_notification
from tracker.errors import DeliveryError
from tracker.feed import deadline_uid
from tracker.logs import render
from tracker.notify.base import Delivery
from tracker.notify.email import EmailNotifier
from tracker.settings import EmailChannel, SmtpSettings

__all__ = ["smtp_server", "smtp_starttls_server", "tls_files"]  # fixtures used below

DESK = "desk@example.org"
LEGAL = "legal@example.org"
UNKNOWN = "nobody@example.org"


def send(
    smtp: SmtpSettings,
    *,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Delivery:
    config = EmailChannel(type="email", to=to or [DESK], cc=cc or [])
    notifier = EmailNotifier("desk", config, smtp=smtp, ssl_context=ssl_context)

    async def main() -> Delivery:
        try:
            return await notifier.send(gsomia_notification(), now=datetime.now(UTC))
        finally:
            await notifier.aclose()

    return asyncio.run(main())


def fail(smtp: SmtpSettings, **kwargs: object) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send(smtp, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_reminder_arrives_as_one_message_with_text_html_and_the_calendar(
    smtp_server: SmtpServer,
) -> None:
    delivery = send(smtp_server.settings(), cc=[LEGAL])
    assert delivery.status == 250
    assert "Message accepted" in delivery.detail
    [mail] = smtp_server.wait_for(1)
    assert mail.mail_from == "tracker@example.org"
    assert mail.rcpt_tos == (DESK, LEGAL)
    message = mail.message
    assert message["Subject"] == (
        "Last day to give notice: GSOMIA (expiry 2020-11-22) – 2020-08-24, in 17 days"
    )
    assert message["Message-ID"] == "<msg_2f8c1a0e9b7d4c3a@treaty-tracker>"
    assert message["Cc"] == LEGAL
    assert (
        "expiry 2020-11-22 − 90 days" in message.get_body(preferencelist=("plain",)).get_content()
    )
    assert "<h1" in message.get_body(preferencelist=("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "deadline.ics"
    calendar = Calendar.from_ical(attachment.get_content())
    assert str(calendar["METHOD"]) == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == date(2020, 8, 24)
    assert str(event["UID"]) == deadline_uid(
        "kr-jp-gsomia", "notice_deadline", date(2020, 8, 24), None
    )


def test_a_retried_reminder_arrives_as_the_same_message_dated_when_sent(
    smtp_server: SmtpServer,
) -> None:
    send(smtp_server.settings())
    send(smtp_server.settings())
    first, second = smtp_server.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"]
    # Byte for byte the same message but for its Date, the moment each was sent.
    assert first.message.get_body(preferencelist=("plain",)).get_content() == (
        second.message.get_body(preferencelist=("plain",)).get_content()
    )
    undated = [re.sub(rb"(?m)^Date: .*$", b"", m.raw) for m in (first, second)]
    assert undated[0] == undated[1]
    assert all(re.search(rb"(?m)^Date: ", m.raw) for m in (first, second))


def test_starttls_with_login_delivers_over_an_encrypted_authenticated_session(
    smtp_starttls_server: SmtpServer,
) -> None:
    smtp = smtp_starttls_server.settings(
        security="starttls", username=TEST_USERNAME, password=TEST_PASSWORD
    )
    delivery = send(smtp, ssl_context=smtp_starttls_server.client_context())
    assert delivery.status == 250
    [mail] = smtp_starttls_server.wait_for(1)
    assert mail.authenticated_as == TEST_USERNAME
    assert mail.message["Subject"].startswith("Last day to give notice: GSOMIA")


def test_implicit_tls_delivers(tls_files: TlsFiles) -> None:
    with SmtpServer(mode="tls", tls=tls_files) as server:
        delivery = send(server.settings(security="tls"), ssl_context=server.client_context())
        [mail] = server.wait_for(1)
    assert delivery.status == 250
    assert mail.rcpt_tos == (DESK,)


def test_an_untrusted_certificate_is_refused_and_retryable(
    smtp_starttls_server: SmtpServer,
) -> None:
    smtp = smtp_starttls_server.settings(
        security="starttls", username=TEST_USERNAME, password=TEST_PASSWORD
    )
    error = fail(smtp, ssl_context=ssl.create_default_context())  # system CAs only
    assert not error.permanent
    assert "TLS failed" in str(error)
    assert smtp_starttls_server.messages == []


def test_a_wrong_password_is_permanent_with_the_smtp_code_and_never_shown(
    smtp_starttls_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "wrong-pa55word-q1"
    smtp = smtp_starttls_server.settings(
        security="starttls", username=TEST_USERNAME, password=wrong
    )
    with caplog.at_level(logging.DEBUG):
        error = fail(smtp, ssl_context=smtp_starttls_server.client_context())
    assert (error.permanent, error.status) == (True, 535)
    for line in [str(error), *(render(r) for r in caplog.records)]:
        assert wrong not in line


def test_a_server_requiring_starttls_refuses_plain_delivery_permanently(
    smtp_starttls_server: SmtpServer,
) -> None:
    error = fail(smtp_starttls_server.settings())
    assert error.permanent
    assert error.status is not None and error.status >= 500


def test_a_rejected_recipient_is_permanent_with_the_smtp_code() -> None:
    refusal = f"550 5.1.1 <{UNKNOWN}>: Recipient address rejected"
    with SmtpServer(reject={UNKNOWN: refusal}) as server:
        error = fail(server.settings(), to=[UNKNOWN])
        assert server.messages == []
    assert (error.permanent, error.status) == (True, 550)
    assert "Recipient address rejected" in str(error)
    assert isinstance(error.__cause__, smtplib.SMTPRecipientsRefused)  # translated at the seam


def test_a_temporarily_refused_recipient_is_retryable() -> None:
    with SmtpServer(reject={DESK: "450 4.2.1 Mailbox busy, try again later"}) as server:
        error = fail(server.settings())
    assert (error.permanent, error.status) == (False, 450)


def test_one_refused_recipient_among_several_still_delivers_to_the_others() -> None:
    with SmtpServer(reject={UNKNOWN: "550 5.1.1 no such user"}) as server:
        delivery = send(server.settings(), to=[DESK, UNKNOWN])
        [mail] = server.wait_for(1)
    assert mail.rcpt_tos == (DESK,)
    assert delivery.status == 250
    assert f"refused: {UNKNOWN} (550)" in delivery.detail


def test_a_closed_port_is_retryable() -> None:
    smtp = SmtpSettings(
        host="127.0.0.1", port=free_port(), sender="tracker@example.org", timeout_seconds=5
    )
    error = fail(smtp)
    assert (error.permanent, error.status) == (False, None)
    assert "cannot connect" in str(error)
    assert isinstance(error.__cause__, ConnectionRefusedError)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (no SMTP greeting)."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_server_that_never_greets_times_out_retryably(silent_server: int) -> None:
    smtp = SmtpSettings(
        host="127.0.0.1", port=silent_server, sender="t@example.org", timeout_seconds=0.5
    )
    error = fail(smtp)
    assert not error.permanent
    assert "timed out after 0.5 s" in str(error)


def test_a_non_ascii_address_is_refused_permanently_before_sending(smtp_server: SmtpServer) -> None:
    error = fail(smtp_server.settings(), to=["bücher@example.org"])
    assert error.permanent
    assert "cannot encode for SMTP" in str(error)
    assert smtp_server.messages == []


def test_login_over_plain_smtp_works_when_the_server_allows_it() -> None:
    with SmtpServer(credentials=(TEST_USERNAME, TEST_PASSWORD)) as server:
        delivery = send(server.settings(username=TEST_USERNAME, password=TEST_PASSWORD))
        [mail] = server.wait_for(1)
    assert delivery.status == 250
    assert mail.authenticated_as == TEST_USERNAME
