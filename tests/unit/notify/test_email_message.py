from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

import pytest
from icalendar import Calendar

from tests.unit.notify.samples import GSOMIA_TITLE, gsomia_deadline, gsomia_notification
from tracker.feed import deadline_uid
from tracker.notify.email import build_email, short_title

SENDER = "tracker@example.org"
TO = ["desk@example.org"]


def built(notification=None, **kwargs) -> EmailMessage:
    message = build_email(notification or gsomia_notification(), sender=SENDER, to=TO, **kwargs)
    # What a receiver sees: the message after a round trip through bytes.
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_subject_says_what_is_due_then_the_date_and_days_left() -> None:
    assert built()["Subject"] == (
        "Last day to give notice: GSOMIA (expiry 2020-11-22) – 2020-08-24, in 17 days"
    )


def test_the_subject_of_a_renewing_expiry_says_it_renews() -> None:
    deadline = gsomia_deadline(
        kind="expiry",
        date="2020-11-22",
        outcome="renews",
        explanation="first expiry 2017-11-22 + 3 × 1 year = 2020-11-22",
    )
    notification = gsomia_notification(deadline=deadline)
    assert built(notification)["Subject"] == "GSOMIA renews for 1 year – 2020-11-22, in 17 days"


@pytest.mark.parametrize(
    ("label", "party", "subject"),
    [
        (
            "report\r\nBcc: eve@x.org",
            None,
            "Report Bcc: eve@x.org: GSOMIA – 2020-08-24, in 17 days",
        ),
        ("report\nX-Evil: 1", "K\rR", "Report X-Evil: 1 (K R): GSOMIA – 2020-08-24, in 17 days"),
        ("a\u2028b\x00c\x1bd\x85e", None, "A b c d e: GSOMIA – 2020-08-24, in 17 days"),
        ("  spaced\t\tout  ", None, "Spaced out: GSOMIA – 2020-08-24, in 17 days"),
    ],
)
def test_a_subject_is_one_line_whatever_the_label_and_party_contain(
    label: str, party: str | None, subject: str
) -> None:
    deadline = gsomia_deadline(kind="recurring", label=label, party=party)
    message = built(gsomia_notification(deadline=deadline))
    assert message["Subject"] == subject
    assert message["Bcc"] is None and message["X-Evil"] is None


@pytest.mark.parametrize(
    ("due_at", "when"),
    [
        (datetime(2020, 8, 23, 0, 0, tzinfo=UTC), "in 1 day"),
        (datetime(2020, 8, 24, 0, 0, tzinfo=UTC), "today"),
        (datetime(2020, 8, 25, 0, 0, tzinfo=UTC), "passed 1 day ago"),
        (datetime(2020, 8, 27, 0, 0, tzinfo=UTC), "passed 3 days ago"),
    ],
)
def test_subject_counts_days_from_the_due_day_in_the_agreements_zone(
    due_at: datetime, when: str
) -> None:
    notification = gsomia_notification(due_at=due_at)
    notification.agreement["timezone"] = "Asia/Seoul"
    assert built(notification)["Subject"] == (
        f"Last day to give notice: GSOMIA (expiry 2020-11-22) – 2020-08-24, {when}"
    )


def test_a_reminder_due_the_previous_utc_evening_counts_the_local_day() -> None:
    # 09:00 in Auckland on 23 August is 21:00 UTC on 22 August: one day left, not two.
    notification = gsomia_notification(due_at=datetime(2020, 8, 22, 21, 0, tzinfo=UTC))
    notification.agreement["timezone"] = "Pacific/Auckland"
    assert built(notification)["Subject"].endswith(" – 2020-08-24, in 1 day")


def test_without_a_zone_the_subject_uses_the_deadlines_days_left() -> None:
    notification = gsomia_notification(deadline=gsomia_deadline(days_left=0))
    assert built(notification)["Subject"].endswith(" – 2020-08-24, today")


def test_subject_names_the_party_and_uses_the_label_of_a_recurring_date() -> None:
    deadline = gsomia_deadline(kind="recurring", label="Annual report", party="KR")
    assert built(gsomia_notification(deadline=deadline))["Subject"] == (
        "Annual report (KR): GSOMIA – 2020-08-24, in 17 days"
    )


@pytest.mark.parametrize(
    ("title", "short"),
    [
        (GSOMIA_TITLE, "GSOMIA"),
        ("Energy Charter Treaty", "Energy Charter Treaty"),
        (
            "Treaty between the United States of America and the Russian Federation on Measures",
            "Treaty between the United States of America and…",
        ),
    ],
)
def test_long_titles_are_shortened_to_their_short_name_or_at_a_word(title: str, short: str) -> None:
    assert short_title(title) == short


def test_message_id_is_the_reminders_id_and_date_is_when_it_is_sent() -> None:
    # Planned for 7 August, sent on 9 August (the service was down): Date says the truth.
    message = built(sent_at=datetime(2020, 8, 9, 6, 30, tzinfo=UTC))
    assert message["Message-ID"] == "<msg_2f8c1a0e9b7d4c3a@treaty-tracker>"
    assert message["Date"].datetime == datetime(2020, 8, 9, 6, 30, tzinfo=UTC)
    planned = parsedate_to_datetime(str(message["X-Tracker-Planned-At"]))
    assert planned == datetime(2020, 8, 7, 0, 0, tzinfo=UTC)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "planned for 2020-08-07 00:00 UTC" in text


def test_the_same_reminder_gives_byte_identical_messages() -> None:
    first = build_email(gsomia_notification(), sender=SENDER, to=TO).as_bytes()
    second = build_email(gsomia_notification(), sender=SENDER, to=TO).as_bytes()
    assert first == second


def test_addresses_go_to_from_to_and_cc() -> None:
    message = built(cc=["legal@example.org", "archive@example.org"])
    assert (message["From"], message["To"]) == (SENDER, "desk@example.org")
    assert message["Cc"] == "legal@example.org, archive@example.org"


def test_plain_text_part_shows_the_deadline_and_how_it_is_computed() -> None:
    text = built().get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Last day to give notice: GSOMIA (expiry 2020-11-22)\n")
    assert "Date:        Monday 2020-08-24 (in 17 days)" in text
    assert "expiry 2020-11-22 − 90 days = 2020-08-24" in text
    assert GSOMIA_TITLE in text
    assert "Source: Art. 21(3) <https://example.org/gsomia-text>" in text


def test_plain_text_shows_the_weekday_note_when_the_deadline_has_one() -> None:
    note = "Saturday; last working day before is Friday 2019-08-23"
    deadline = gsomia_deadline(date="2019-08-24", weekday_note=note)
    text = (
        built(gsomia_notification(deadline=deadline))
        .get_body(preferencelist=("plain",))
        .get_content()
    )
    assert f"Note: {note}" in text


def test_html_part_escapes_agreement_text_and_links_the_source() -> None:
    notification = gsomia_notification()
    notification.agreement["title"] = "Pact <script>alert(1)</script> & Co"
    html = built(notification).get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    assert "Pact &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert '<a href="https://example.org/gsomia-text">Art. 21(3)</a>' in html


def test_html_part_does_not_link_a_javascript_url_from_an_agreement_file() -> None:
    notification = gsomia_notification()
    notification.agreement["sources"][0]["url"] = "javascript:alert(1)"
    html = built(notification).get_body(preferencelist=("html",)).get_content()
    assert "javascript:" not in html
    assert "Source: Art. 21(3)</p>" in html


def test_message_has_plain_and_html_alternatives_and_one_calendar_attachment() -> None:
    message = built()
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "deadline.ics"


def test_calendar_attachment_is_an_all_day_published_event_with_the_feeds_uid() -> None:
    [attachment] = list(built().iter_attachments())
    calendar = Calendar.from_ical(attachment.get_content())
    assert str(calendar["METHOD"]) == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == date(2020, 8, 24)
    assert not isinstance(event.decoded("DTSTART"), datetime)
    assert str(event["UID"]) == deadline_uid(
        "kr-jp-gsomia", "notice_deadline", date(2020, 8, 24), None
    )


@pytest.mark.parametrize(
    ("offset", "phrase"),
    [
        ("7 days", "Reminder 7 days before the deadline"),
        ("0 days", "Reminder on the day of the deadline"),
        ("P0D", "Reminder on the day of the deadline"),
    ],
)
def test_footer_says_how_long_before_the_deadline_the_reminder_was_due(
    offset: str, phrase: str
) -> None:
    message = built(gsomia_notification(offset=offset))
    assert phrase in message.get_body(preferencelist=("plain",)).get_content()
    assert phrase in message.get_body(preferencelist=("html",)).get_content()
