"""/healthz and /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from tests.api.conftest import NOW, make_settings
from tests.api.test_reminders import add_reminder
from tracker.api.app import create_app
from tracker.service import Service
from tracker.store.deadlines import materialize_deadlines
from tracker.store.engine import session_scope
from tracker.store.tables import DeliveryAttemptRow


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_health_without_a_service_reports_the_database_only(client: TestClient) -> None:
    for path in ("/healthz", "/api/v1/healthz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "database": True,
            "scheduler": None,
            "last_tick_at": None,
            "last_plan_at": None,
            "worker": None,
            "invalid_files": [],
            "version": "0.1.0",
        }


def test_health_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=f"sqlite:///{tmp_path}/missing/dir/x.db")
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert (response.json()["status"], response.json()["database"]) == ("unavailable", False)


@pytest.fixture
def served(tmp_path: Path, seeds_copy: Path) -> Iterator[tuple[TestClient, Service]]:
    settings = make_settings(tmp_path, agreements_dir=seeds_copy, tick_seconds=3600)
    service = Service(settings)
    with TestClient(create_app(settings, service=service)) as client:
        # The scheduler ticks once at start (with the real clock); let that happen first so
        # a tick a test makes with a pinned clock is the last one.
        deadline = time.monotonic() + 10
        while service.last_tick_at is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert service.last_tick_at is not None
        time.sleep(0.1)
        yield client, service


def test_health_with_a_running_service_reports_the_scheduler_and_last_tick(
    served: tuple[TestClient, Service],
) -> None:
    client, service = served
    service.tick(now=NOW)
    body = client.get("/healthz").json()
    assert (body["status"], body["database"], body["scheduler"]) == ("ok", True, True)
    assert body["last_tick_at"] == "2026-08-07T00:00:00Z"
    assert body["worker"] == service.worker


def test_an_agreement_written_through_the_api_is_planned_by_the_service(
    served: tuple[TestClient, Service],
) -> None:
    client, _service = served
    document = {
        "version": 1,
        "id": "soon-pact",
        "title": "Soon Pact",
        "parties": ["AA"],
        "rules": [{"kind": "milestone", "label": "review", "date": "2026-12-01"}],
    }
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    settings = client.app.state.settings  # type: ignore[attr-defined]
    token = settings.api_token.get_secret_value()
    response = client.post(
        "/api/v1/agreements", json=document, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    planned = client.get("/api/v1/reminders", params={"agreement": "soon-pact"}).json()
    assert planned["count"] == len(settings.reminders)
    assert sorted(r["offset"] for r in planned["data"]) == sorted(
        str(o) for o in settings.reminders
    )
    # The scheduler reads the real clock, so some may have gone out to the log channel already.
    assert {r["status"] for r in planned["data"]} <= {"pending", "sent", "sending"}


def test_metrics_count_reminders_attempts_and_time_to_each_deadline(
    client: TestClient, engine: Engine
) -> None:
    materialize_deadlines(engine, as_of=NOW.date(), end=NOW.date() + timedelta(days=400))
    sent = add_reminder(engine, offset="30 days", channel="ops", status="sent", due=NOW)
    add_reminder(engine, offset="7 days", channel="ops", status="pending", due=NOW)
    with session_scope(engine) as session:
        for attempt, outcome in ((1, "retrying"), (2, "sent")):
            session.add(
                DeliveryAttemptRow(
                    reminder_id=sent,
                    attempt=attempt,
                    channel="ops",
                    started_at=NOW,
                    outcome=outcome,
                )
            )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("tracker_reminders", (("status", "sent"),))] == 1
    assert found[("tracker_reminders", (("status", "pending"),))] == 1
    assert found[("tracker_reminders", (("status", "dead"),))] == 0
    assert found[("tracker_delivery_attempts_total", (("channel", "ops"),))] == 2
    assert found[("tracker_delivery_failures_total", (("channel", "ops"),))] == 1
    assert found[("tracker_database_up", ())] == 1
    gsomia = (
        ("agreement", "kr-jp-gsomia"),
        ("date", "2026-08-24"),
        ("kind", "notice_deadline"),
        ("party", ""),
    )
    assert found[("tracker_deadline_seconds", gsomia)] == 17 * 86400


def test_each_app_has_its_own_metrics_registry(tmp_path: Path) -> None:
    first = create_app(make_settings(tmp_path))
    second = create_app(make_settings(tmp_path))
    assert first.state.metrics_registry is not second.state.metrics_registry


def test_metrics_include_the_tick_duration_when_a_service_runs(
    served: tuple[TestClient, Service],
) -> None:
    client, service = served
    service.tick(now=NOW)
    found = samples(client.get("/metrics").text)
    assert found[("tracker_tick_duration_seconds", ())] >= 0
    assert found[("tracker_last_tick_timestamp_seconds", ())] == NOW.timestamp()
