import json
from datetime import UTC, datetime

from tests.unit.notify.samples import GSOMIA_TITLE, gsomia_deadline, gsomia_notification
from tracker.notify.webhook import PAYLOAD_VERSION, WEBHOOK_EVENT_TYPE, webhook_body

#: Planned for 7 August 2020 00:00 UTC; sent two days late, after an outage.
SENT = datetime(2020, 8, 9, 6, 30, tzinfo=UTC)


def body(notification=None, now: datetime = SENT) -> dict:
    return json.loads(webhook_body(notification or gsomia_notification(), now=now))


def test_body_has_type_version_and_the_deadline_object() -> None:
    payload = body()
    assert (payload["type"], payload["version"]) == (WEBHOOK_EVENT_TYPE, PAYLOAD_VERSION)
    assert (payload["type"], payload["version"]) == ("deadline.reminder", "1")
    assert payload["data"]["deadline"] == gsomia_deadline()


def test_body_summary_says_what_is_due() -> None:
    assert body()["data"]["summary"] == "Last day to give notice: GSOMIA (expiry 2020-11-22)"


def test_body_names_the_reminder_and_the_agreement_with_its_sources() -> None:
    data = body()["data"]
    assert data["reminder"] == {
        "id": "msg_2f8c1a0e9b7d4c3a",
        "offset": "17 days",
        "planned_at": "2020-08-07T00:00:00Z",
        "due_at": "2020-08-07T00:00:00Z",
        "channel": "desk",
    }
    assert data["agreement"]["id"] == "kr-jp-gsomia"
    assert data["agreement"]["title"] == GSOMIA_TITLE
    assert data["agreement"]["sources"][0]["cite"] == "Art. 21(3)"


def test_body_timestamp_is_when_it_is_sent_and_the_planned_time_is_separate() -> None:
    payload = body()
    assert payload["timestamp"] == "2020-08-09T06:30:00Z"
    assert payload["data"]["reminder"]["planned_at"] == "2020-08-07T00:00:00Z"


def test_the_same_notification_sent_at_the_same_moment_gives_the_same_bytes() -> None:
    first = webhook_body(gsomia_notification(), now=SENT)
    assert first == webhook_body(gsomia_notification(attempt=3), now=SENT)


def test_body_is_utf8_json_keeping_non_ascii_titles_readable() -> None:
    assert "Korea–Japan".encode() in webhook_body(gsomia_notification(), now=SENT)


def test_dates_in_a_hand_built_deadline_serialise_as_iso_strings() -> None:
    from datetime import date

    notification = gsomia_notification(deadline=gsomia_deadline(date=date(2020, 8, 24)))
    assert body(notification)["data"]["deadline"]["date"] == "2020-08-24"
