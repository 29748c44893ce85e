import json

from tests.unit.notify.samples import GSOMIA_TITLE, gsomia_deadline, gsomia_notification
from tracker.notify.webhook import PAYLOAD_VERSION, WEBHOOK_EVENT_TYPE, webhook_body


def test_body_has_type_version_and_the_deadline_object() -> None:
    payload = json.loads(webhook_body(gsomia_notification()))
    assert (payload["type"], payload["version"]) == (WEBHOOK_EVENT_TYPE, PAYLOAD_VERSION)
    assert (payload["type"], payload["version"]) == ("deadline.reminder", "1")
    assert payload["data"]["deadline"] == gsomia_deadline()


def test_body_names_the_reminder_and_the_agreement_with_its_sources() -> None:
    data = json.loads(webhook_body(gsomia_notification()))["data"]
    assert data["reminder"] == {
        "id": "msg_2f8c1a0e9b7d4c3a",
        "offset": "17 days",
        "due_at": "2020-08-07T00:00:00Z",
        "channel": "desk",
    }
    assert data["agreement"]["id"] == "kr-jp-gsomia"
    assert data["agreement"]["title"] == GSOMIA_TITLE
    assert data["agreement"]["sources"][0]["cite"] == "Art. 21(3)"


def test_body_timestamp_is_when_the_reminder_was_due_not_when_it_is_sent() -> None:
    assert json.loads(webhook_body(gsomia_notification()))["timestamp"] == "2020-08-07T00:00:00Z"


def test_the_same_notification_gives_the_same_bytes_on_every_attempt() -> None:
    assert webhook_body(gsomia_notification()) == webhook_body(gsomia_notification(attempt=3))


def test_body_is_utf8_json_keeping_non_ascii_titles_readable() -> None:
    body = webhook_body(gsomia_notification())
    assert "Korea–Japan".encode() in body


def test_dates_in_a_hand_built_deadline_serialise_as_iso_strings() -> None:
    from datetime import date

    notification = gsomia_notification(deadline=gsomia_deadline(date=date(2020, 8, 24)))
    assert json.loads(webhook_body(notification))["data"]["deadline"]["date"] == "2020-08-24"
