"""/api/v1/reminders: the plan and its delivery log, and acknowledging a deadline."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.conftest import AUTH, NOW
from tracker.store.engine import session_scope
from tracker.store.tables import DeliveryAttemptRow, ReminderRow

URL = "/api/v1/reminders"
DEADLINE = {"agreement": "kr-jp-gsomia", "kind": "notice_deadline", "date": "2026-08-24"}


def add_reminder(engine: Engine, *, offset: str, channel: str, status: str, due: datetime) -> int:
    with session_scope(engine) as session:
        row = ReminderRow(
            agreement_id="kr-jp-gsomia",
            deadline_kind="notice_deadline",
            deadline_date=date(2026, 8, 24),
            party="",
            offset=offset,
            channel=channel,
            webhook_id=f"msg_{offset.replace(' ', '')}_{channel}",
            due_at=due,
            status=status,
            attempts=0,
            next_attempt_at=due,
            deadline_json=json.dumps(DEADLINE),
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


@pytest.fixture
def planned(engine: Engine) -> dict[str, int]:
    ids = {
        "30 days": add_reminder(
            engine, offset="30 days", channel="ops", status="sent", due=NOW - timedelta(days=13)
        ),
        "7 days": add_reminder(
            engine, offset="7 days", channel="ops", status="pending", due=NOW + timedelta(days=10)
        ),
        "1 day": add_reminder(
            engine, offset="1 day", channel="log", status="retrying", due=NOW + timedelta(days=16)
        ),
    }
    with session_scope(engine) as session:
        session.add(
            DeliveryAttemptRow(
                reminder_id=ids["30 days"],
                attempt=1,
                channel="ops",
                started_at=NOW - timedelta(days=13),
                duration_ms=12.5,
                outcome="retrying",
                status_code=503,
                error="HTTP 503",
            )
        )
        session.add(
            DeliveryAttemptRow(
                reminder_id=ids["30 days"],
                attempt=2,
                channel="ops",
                started_at=NOW - timedelta(days=13) + timedelta(seconds=30),
                duration_ms=8.0,
                outcome="sent",
                status_code=200,
            )
        )
    return ids


def test_listing_shows_the_plan_in_due_order(client: TestClient, planned: dict[str, int]) -> None:
    body = client.get(URL).json()
    assert body["count"] == 3
    assert [r["offset"] for r in body["data"]] == ["30 days", "7 days", "1 day"]
    assert body["data"][0]["status"] == "sent"
    assert body["data"][1]["due_at"] == "2026-08-17T00:00:00Z"


def test_listing_pages_in_due_order_and_counts_every_match(
    client: TestClient, planned: dict[str, int]
) -> None:
    body = client.get(URL, params={"limit": 1, "offset": 1}).json()
    assert body["count"] == 3
    assert [r["offset"] for r in body["data"]] == ["7 days"]
    assert client.get(URL, params={"offset": 3}).json() == {"data": [], "count": 3}


def test_listing_filters_by_status_and_agreement(
    client: TestClient, planned: dict[str, int]
) -> None:
    assert [r["offset"] for r in client.get(URL, params={"status": "pending"}).json()["data"]] == [
        "7 days"
    ]
    assert client.get(URL, params={"agreement": "npt"}).json() == {"data": [], "count": 0}
    response = client.get(URL, params={"status": "lost"})
    assert response.status_code == 422
    assert response.json()["detail"][0].startswith("query.status: Input should be 'pending'")


def test_one_reminder_comes_with_its_deadline_and_every_attempt(
    client: TestClient, planned: dict[str, int]
) -> None:
    body = client.get(f"{URL}/{planned['30 days']}").json()
    assert body["deadline"] == DEADLINE
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in body["delivery_attempts"]] == [
        (1, "retrying", 503),
        (2, "sent", 200),
    ]
    assert body["delivery_attempts"][0]["error"] == "HTTP 503"


def test_an_unknown_reminder_is_404(client: TestClient) -> None:
    response = client.get(f"{URL}/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "reminder 999 does not exist"}
    assert client.post(f"{URL}/999/ack", headers=AUTH).status_code == 404


def test_ack_records_who_and_when_and_stops_the_deadlines_other_reminders(
    client: TestClient, planned: dict[str, int]
) -> None:
    response = client.post(
        f"{URL}/{planned['7 days']}/ack", json={"by": "desk@example.org"}, headers=AUTH
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["acknowledged_by"], body["acknowledged_at"]) == (
        "acknowledged",
        "desk@example.org",
        "2026-08-07T00:00:00Z",
    )
    statuses = {r["offset"]: r["status"] for r in client.get(URL).json()["data"]}
    # The sent one stays sent; the 1-day reminder of the same deadline will not go out.
    assert statuses == {"30 days": "sent", "7 days": "acknowledged", "1 day": "acknowledged"}


def test_ack_without_a_body_records_the_api_as_who(
    client: TestClient, planned: dict[str, int]
) -> None:
    response = client.post(f"{URL}/{planned['1 day']}/ack", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "api"


def test_ack_needs_the_write_token(client: TestClient, planned: dict[str, int]) -> None:
    response = client.post(f"{URL}/{planned['7 days']}/ack")
    assert response.status_code == 401
    assert client.get(f"{URL}/{planned['7 days']}").json()["status"] == "pending"


def test_ack_rejects_unknown_body_fields(client: TestClient, planned: dict[str, int]) -> None:
    response = client.post(f"{URL}/{planned['7 days']}/ack", json={"who": "x"}, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {"detail": ["body.who: Extra inputs are not permitted"]}
