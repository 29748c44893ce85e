"""The email channel: one message per reminder over SMTP (``none``, ``starttls`` or ``tls``).

A message is ``multipart/mixed``: a ``multipart/alternative`` (plain text, then HTML, both from
the jinja2 templates beside this module) and the deadline as ``deadline.ics``
(``METHOD:PUBLISH``, the same UID as the calendar feed). ``Message-ID`` comes from the reminder,
so every retry of one reminder is the same message and receivers can deduplicate; ``Date`` is
the moment the message is actually sent, and the planned time is in ``X-Tracker-Planned-At``.

SMTP replies map to outcomes as the dispatcher expects: 5xx is permanent (with the reply code in
``status``), 4xx, timeouts and connection errors are retried.
"""

from __future__ import annotations

import asyncio
import functools
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import jinja2

from tracker.domain.deadline import Deadline
from tracker.domain.wording import headline
from tracker.domain.wording import short_title as short_title
from tracker.errors import DeliveryError
from tracker.feed import build_calendar
from tracker.notify.base import Delivery, Notification, config_as
from tracker.notify.digest import build_digest_email
from tracker.notify.mime import (
    attach_calendar,
    deadline_name,
    header_text,
    humanise_days,
    new_message,
)
from tracker.redact import Redactor
from tracker.settings import ChannelConfig, EmailChannel, Settings, SmtpSettings

# --- what the message says -------------------------------------------------------------------


def days_left(notification: Notification) -> int:
    """Days from the reminder's due day to the deadline (negative when past).

    The due day is counted in the agreement's time zone when the notification names one
    (``agreement["timezone"]`` or ``extra["timezone"]``), since a 09:00 Auckland reminder is due
    on the previous UTC day; otherwise the deadline's own ``days_left`` is used, and failing
    that the UTC day of ``due_at``.
    """
    deadline_day = date.fromisoformat(str(notification.deadline["date"]))
    zone_name = notification.agreement.get("timezone") or notification.extra.get("timezone")
    if zone_name:
        try:
            local_day = notification.due_at.astimezone(ZoneInfo(str(zone_name))).date()
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return (deadline_day - local_day).days
    if notification.deadline.get("days_left") is not None:
        return int(notification.deadline["days_left"])
    return (deadline_day - notification.due_at.astimezone(UTC).date()).days


def notification_headline(notification: Notification) -> str:
    """:func:`tracker.domain.wording.headline` of the notification's deadline
    ("Last day to give notice: GSOMIA (expiry 2020-11-22)", "GSOMIA renews for 1 year")."""
    deadline = dict(notification.deadline)
    deadline.setdefault("days_left", 0)
    deadline.setdefault("explanation", "")
    deadline["date"] = str(deadline["date"])  # a hand-built deadline may carry a date
    title = notification.agreement.get("title") or deadline.get("title") or deadline["agreement"]
    deadline["title"] = str(title)
    return headline(Deadline.from_dict(deadline))


def email_subject(notification: Notification) -> str:
    """``Last day to give notice: GSOMIA (expiry 2020-11-22) – 2020-08-24, in 17 days``: what
    is due or what happens, then the date; on one line whatever the agreement's label, title
    or party contain."""
    deadline = notification.deadline
    # An escalation says so first: it goes to people who were not asked before.
    prefix = "Escalation: " if notification.purpose == "escalation" else ""
    return header_text(
        f"{prefix}{notification_headline(notification)} – {deadline['date']}, "
        f"{humanise_days(days_left(notification))}"
    )


def _source(notification: Notification) -> dict[str, str | None]:
    """The deadline's cite with the matching source's URL and quote, when the agreement has one.
    Only http(s) URLs become links: a ``javascript:`` URL in an agreement file stays text."""
    cite = notification.deadline.get("source")
    for source in notification.agreement.get("sources") or []:
        if isinstance(source, dict) and cite and source.get("cite") == cite:
            url = source.get("url")
            safe_url = (
                url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
            )
            return {"cite": cite, "url": safe_url, "quote": source.get("quote")}
    return {"cite": cite, "url": None, "quote": None}


def _reminder_phrase(offset: str) -> str:
    """``Reminder 7 days before the deadline``; a zero offset is on the day itself."""
    if re.fullmatch(r"\s*0+\s*[A-Za-z]*\s*|P0+[DWMY]|PT0+[SMH]", offset):
        return "Reminder on the day of the deadline"
    return f"Reminder {offset} before the deadline"


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tracker.notify", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def template_context(notification: Notification) -> dict[str, Any]:
    deadline = notification.deadline
    day = date.fromisoformat(str(deadline["date"]))
    days = days_left(notification)
    return {
        "subject": email_subject(notification),
        "headline": notification_headline(notification),
        "name": deadline_name(deadline),
        "title": notification.agreement.get("title") or deadline.get("title") or "",
        "agreement_id": notification.agreement.get("id") or deadline.get("agreement"),
        "date": day.isoformat(),
        "weekday": day.strftime("%A"),
        "days": days,
        "when": humanise_days(days),
        "explanation": deadline.get("explanation") or "",
        "weekday_note": deadline.get("weekday_note"),
        "label": deadline.get("label"),
        "party": deadline.get("party"),
        "source": _source(notification),
        "offset": notification.offset,
        "reminder": _reminder_phrase(notification.offset),
        "message_id": notification.message_id,
        "ack_url": notification.ack_url,
        "planned_at": _utc_text(notification.due_at),
    }


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def build_email(
    notification: Notification,
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The complete message for one reminder, dated ``sent_at`` (the moment of sending;
    default the reminder's planned time). Deterministic for the same notification and
    ``sent_at``; the planned time is in ``X-Tracker-Planned-At``. A digest is
    :func:`tracker.notify.digest.build_digest_email`."""
    if notification.digest is not None:
        return build_digest_email(notification, sender=sender, to=to, cc=cc, sent_at=sent_at)
    context = template_context(notification)
    env = _templates()
    message = new_message(
        notification, subject=context["subject"], sender=sender, to=to, cc=cc, sent_at=sent_at
    )
    message["X-Tracker-Planned-At"] = format_datetime(notification.due_at.astimezone(UTC))
    # Quoted-printable keeps non-ASCII titles (Korea–Japan) 7-bit clean for any relay.
    message.set_content(env.get_template("email.txt").render(context), cte="quoted-printable")
    message.add_alternative(
        env.get_template("email.html").render(context), subtype="html", cte="quoted-printable"
    )
    calendar = build_calendar([Deadline.from_dict(notification.deadline)], method="PUBLISH")
    return attach_calendar(message, calendar, message_id=notification.message_id)


# --- how it is sent --------------------------------------------------------------------------


@functools.cache
def _local_hostname() -> str:
    # smtplib looks this up on every connection; the lookup can take seconds on some hosts.
    return socket.getfqdn()


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


class EmailNotifier:
    """Sends each reminder as one message to the channel's ``to`` and ``cc`` addresses.

    smtplib runs in a worker thread (:func:`asyncio.to_thread`), one connection per message.
    ``ssl_context`` defaults to the system's trusted certificates with host name checks.
    """

    def __init__(
        self,
        name: str,
        config: EmailChannel,
        *,
        smtp: SmtpSettings,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self._config = config
        self._smtp = smtp
        self._ssl_context = ssl_context
        password = smtp.password.get_secret_value() if smtp.password else None
        self.redactor = Redactor(
            [password], credentials=[(smtp.username or "", password)] if password else []
        )

    @classmethod
    def from_settings(
        cls, name: str, config: ChannelConfig, *, settings: Settings, client: httpx.AsyncClient
    ) -> Self:
        return cls(name, config_as(config, EmailChannel, name=name), smtp=settings.smtp)

    def _error(self, message: str, **kwargs: Any) -> DeliveryError:
        where = f"{self._smtp.host}:{self._smtp.port}"
        return DeliveryError(
            self.redactor(f"email {self.name!r} (smtp {where}): {message}"), **kwargs
        )

    async def send(self, notification: Notification, *, now: datetime) -> Delivery:
        message = build_email(
            notification,
            sender=self._smtp.sender,
            to=self._config.to,
            cc=self._config.cc,
            sent_at=now,
        )
        return await asyncio.to_thread(self._send_blocking, message)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _send_blocking(self, message: EmailMessage) -> Delivery:
        recipients = [*self._config.to, *self._config.cc]
        try:
            return self._transact(message, recipients)
        except (smtplib.SMTPException, OSError, UnicodeEncodeError) as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> DeliveryError:
        """What a failed SMTP transaction means for the outbox: the error to record, and
        whether retrying could help (5xx replies and configuration problems cannot)."""
        if isinstance(exc, smtplib.SMTPException):
            return self._smtp_failure(exc)
        return self._connection_failure(exc)

    def _smtp_failure(self, exc: smtplib.SMTPException) -> DeliveryError:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            text = "; ".join(
                f"{addr}: {code} {_reply_text(reply)}"
                for addr, (code, reply) in exc.recipients.items()
            )
            return self._error(
                f"every recipient refused ({text})",
                permanent=all(code >= 500 for code in codes),
                status=codes[0] if codes else None,
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            # SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPHeloError...
            what = type(exc).__name__.removeprefix("SMTP")
            return self._error(
                f"{what}: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
                status=exc.smtp_code,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            # smtplib reports a read timeout as a disconnection; say what really happened.
            if isinstance(exc.__context__, TimeoutError):
                return self._error(f"timed out after {self._smtp.timeout_seconds:g} s")
            return self._error(f"server disconnected: {exc}")
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            # STARTTLS or AUTH configured but not offered: a configuration problem.
            return self._error(f"not supported by the server: {exc}", permanent=True)
        return self._error(f"{type(exc).__name__}: {exc}", permanent=True)

    def _connection_failure(self, exc: Exception) -> DeliveryError:
        # TLS errors and timeouts are OSErrors too: the specific ones first.
        if isinstance(exc, ssl.SSLError):
            return self._error(f"TLS failed: {exc}")
        if isinstance(exc, TimeoutError):
            return self._error(f"timed out after {self._smtp.timeout_seconds:g} s")
        if isinstance(exc, UnicodeEncodeError):
            # smtplib speaks ASCII only: a non-ASCII address will never go through as configured.
            return self._error(f"cannot encode for SMTP: {exc.reason}", permanent=True)
        assert isinstance(exc, OSError)
        return self._error(f"cannot connect: {exc.strerror or exc}")

    def _transact(self, message: EmailMessage, recipients: list[str]) -> Delivery:
        smtp = self._smtp
        server: smtplib.SMTP
        if smtp.security == "tls":
            server = smtplib.SMTP_SSL(
                smtp.host,
                smtp.port,
                local_hostname=_local_hostname(),
                timeout=smtp.timeout_seconds,
                context=self._context(),
            )
        else:
            server = smtplib.SMTP(
                smtp.host, smtp.port, local_hostname=_local_hostname(), timeout=smtp.timeout_seconds
            )
        refused: dict[str, tuple[int, bytes]] = {}
        try:
            code, reply = self._converse(server, message, recipients, refused)
        finally:
            # A failed QUIT after an accepted DATA must not turn a delivery into a retry.
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
        detail = f"{code} {_reply_text(reply)}"
        if refused:
            # The others have the message; retrying would send it to them twice.
            detail += "; refused: " + ", ".join(f"{a} ({c})" for a, (c, _) in refused.items())
        return Delivery(status=code, detail=self.redactor(detail))

    def _converse(
        self,
        server: smtplib.SMTP,
        message: EmailMessage,
        recipients: list[str],
        refused: dict[str, tuple[int, bytes]],
    ) -> tuple[int, bytes]:
        smtp = self._smtp
        if smtp.security == "starttls":
            server.starttls(context=self._context())
        if smtp.username:
            server.login(smtp.username, smtp.password.get_secret_value() if smtp.password else "")
        server.ehlo_or_helo_if_needed()
        # sendmail() would hide the final reply; the dispatcher records it, so talk directly.
        code, reply = server.mail(smtp.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, smtp.sender)
        for address in recipients:
            code, reply = server.rcpt(address)
            if code not in (250, 251):
                refused[address] = (code, reply)
        if len(refused) == len(recipients):
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = server.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        return code, reply

    async def aclose(self) -> None:
        """Nothing to release: each message uses its own connection."""
