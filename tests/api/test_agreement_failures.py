"""One agreement whose deadlines cannot be computed never takes a reader down, and a write
of one stores nothing.

The broken agreement is real data that fails on the engine: a ``fixed_term`` expiring on
0001-01-01 with 90 days' notice (the notice deadline would fall before year 1). Readers are
tested with such a row stored directly, the way an older version that accepted it stored it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape as html_escape
from typing import Any

import icalendar
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.conftest import AUTH, NOW
from tests.support.agreements import (
    BROKEN,
    BROKEN_ID,
    LIMIT_MESSAGE,
    STORED_DETAIL,
    store_like_an_older_version,
)
from tracker.logs import render
from tracker.service import Service
from tracker.settings import Settings
from tracker.store.deadlines import materialize_deadlines

GOOD_PZ: dict[str, Any] = {
    **BROKEN,
    "title": "Good Pact",
    "rules": [{"kind": "fixed_term", "expires": "2027-03-01", "notice": "90 days"}],
}
REPORTED = [{"agreement": BROKEN_ID, "detail": STORED_DETAIL}]


def materialise_all(engine: Engine, settings: Settings) -> None:
    """What the service does on start and each new day."""
    today = settings.today(NOW)
    materialize_deadlines(engine, as_of=today, end=today + timedelta(days=400))


def everything(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/deadlines", params={"limit": 1000})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_post_whose_deadlines_cannot_be_computed_is_refused_and_stores_nothing(
    client: TestClient,
) -> None:
    before = everything(client)

    response = client.post("/api/v1/agreements", json=BROKEN, headers=AUTH)

    assert response.status_code == 422
    assert response.json() == {"detail": [f"<request>:1:137: {LIMIT_MESSAGE}"]}
    assert client.get(f"/api/v1/agreements/{BROKEN_ID}").status_code == 404
    assert everything(client) == before


def test_a_put_whose_deadlines_cannot_be_computed_keeps_the_previous_version(
    client: TestClient,
) -> None:
    assert client.post("/api/v1/agreements", json=GOOD_PZ, headers=AUTH).status_code == 201
    before = everything(client)
    assert {d["agreement"] for d in before["data"]} >= {BROKEN_ID}

    response = client.put(f"/api/v1/agreements/{BROKEN_ID}", json=BROKEN, headers=AUTH)

    assert response.status_code == 422
    assert response.json() == {"detail": [f"<request>:1:137: {LIMIT_MESSAGE}"]}
    stored = client.get(f"/api/v1/agreements/{BROKEN_ID}").json()
    assert (stored["title"], stored["revision"]) == ("Good Pact", 1)
    assert everything(client) == before


@pytest.mark.parametrize("materialised", [False, True], ids=["computed", "stored"])
def test_a_stored_agreement_that_fails_leaves_the_deadlines_list_answering_the_others(
    client: TestClient, app: FastAPI, engine: Engine, materialised: bool
) -> None:
    before = everything(client)
    assert before["errors"] == []
    store_like_an_older_version(engine)
    if materialised:
        materialise_all(engine, app.state.settings)
    app.state.memo.clear()

    after = everything(client)

    assert after == {**before, "errors": REPORTED}
    assert after["count"] == before["count"] > 0
    only_it = client.get("/api/v1/deadlines", params={"agreement": BROKEN_ID}).json()
    assert (only_it["data"], only_it["count"], only_it["errors"]) == ([], 0, REPORTED)
    other_tag = client.get("/api/v1/deadlines", params={"tag": "korea"}).json()
    assert other_tag["errors"] == []


def test_materialising_stores_the_others_and_logs_the_failing_one(
    app: FastAPI, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    store_like_an_older_version(engine)
    caplog.set_level(logging.ERROR, logger="tracker.store.deadlines")

    materialise_all(engine, app.state.settings)

    assert [render(r) for r in caplog.records] == [
        f'deadlines.agreement_failed agreement={BROKEN_ID} detail="{STORED_DETAIL}"'
    ]


def test_the_calendar_feed_keeps_every_other_event_and_names_the_failing_agreement(
    client: TestClient, app: FastAPI, engine: Engine
) -> None:
    before = client.get("/calendar.ics")
    store_like_an_older_version(engine)
    materialise_all(engine, app.state.settings)
    app.state.memo.clear()

    after = client.get("/calendar.ics")

    assert after.status_code == 200
    assert after.headers["x-agreements-failed"] == BROKEN_ID
    assert "x-agreements-failed" not in before.headers
    calendar = icalendar.Calendar.from_ical(after.content)
    assert str(calendar["x-tracker-error"]) == f"{BROKEN_ID}: {STORED_DETAIL}"
    del calendar["x-tracker-error"]
    assert calendar.to_ical() == icalendar.Calendar.from_ical(before.content).to_ical()


def test_the_page_lists_the_others_and_says_which_agreement_is_missing(
    client: TestClient, app: FastAPI, engine: Engine
) -> None:
    store_like_an_older_version(engine)
    materialise_all(engine, app.state.settings)
    app.state.memo.clear()

    response = client.get("/")

    assert response.status_code == 200
    html = response.text
    assert 'data-agreement="kr-jp-gsomia" data-kind="notice_deadline"' in html
    assert (
        f'<li data-failed-agreement="{BROKEN_ID}"><a href="/agreements/{BROKEN_ID}">'
        f"<code>{BROKEN_ID}</code></a>: {html_escape(STORED_DETAIL)}</li>"
    ) in html
    assert "<h2>Deadlines missing for 1 agreement</h2>" in html


def test_the_failing_agreement_itself_answers_422_naming_why(
    client: TestClient, engine: Engine
) -> None:
    store_like_an_older_version(engine)
    message = f"agreement '{BROKEN_ID}': {STORED_DETAIL}"

    explained = client.get(f"/api/v1/agreements/{BROKEN_ID}/explain")
    page = client.get(f"/agreements/{BROKEN_ID}", headers={"Accept": "text/html"})

    assert (explained.status_code, explained.json()) == (422, {"detail": [message]})
    assert page.status_code == 422
    assert f"<h1>422</h1><p>{html_escape(message)}</p>" in page.text


def test_planning_plans_the_others_and_reports_the_failing_agreement(
    app: FastAPI, engine: Engine, settings: Settings
) -> None:
    clean = Service(settings, engine=engine).replan(now=NOW)
    store_like_an_older_version(engine)

    report = Service(settings, engine=engine).replan(now=NOW)

    assert report.failed == {BROKEN_ID: STORED_DETAIL}
    # Its stored document no longer validates: it is reported, not counted as read.
    assert (report.agreements, report.deadlines) == (clean.agreements, clean.deadlines)


def test_a_put_whose_deadlines_fail_for_any_reason_stores_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No valid document fails in the engine any more (the loader refuses what would), so an
    # engine bug is simulated: the write computes inside its transaction and must roll back.
    assert client.post("/api/v1/agreements", json=GOOD_PZ, headers=AUTH).status_code == 201
    before = everything(client)

    def engine_bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine bug")

    monkeypatch.setattr("tracker.store.deadlines.compute_all", engine_bug)
    response = client.put(
        f"/api/v1/agreements/{BROKEN_ID}", json={**GOOD_PZ, "title": "Changed"}, headers=AUTH
    )
    monkeypatch.undo()

    assert response.status_code == 422
    assert response.json() == {
        "detail": ["<request>: deadlines cannot be computed: RuntimeError: engine bug"]
    }
    stored = client.get(f"/api/v1/agreements/{BROKEN_ID}").json()
    assert (stored["title"], stored["revision"]) == ("Good Pact", 1)
    assert everything(client) == before
