"""The web page: upcoming deadlines by month, and one page per agreement."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import AUTH, GSOMIA_JSON
from tracker.api.routers.pages import days_text, urgency


def gsomia_row(html: str) -> str:
    match = re.search(
        r'<li class="[^"]*" data-agreement="kr-jp-gsomia" data-kind="notice_deadline">(.*?)</li>',
        html,
        re.S,
    )
    assert match is not None
    return match.group(0)


def test_the_index_groups_upcoming_deadlines_by_month(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert "<h2>August 2026</h2>" in html
    assert html.index("<h2>August 2026</h2>") < html.index("<h2>November 2026</h2>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<script" not in html


def test_the_gsomia_row_shows_its_date_days_left_and_urgency_in_words(client: TestClient) -> None:
    row = gsomia_row(client.get("/").text)
    assert 'class="this-month"' in row
    assert '<span class="badge">This month</span>17 days left' in row
    assert "<strong>2026-08-24</strong>" in row
    assert '<a href="/agreements/kr-jp-gsomia">' in row


def test_urgency_is_a_class_and_a_word() -> None:
    assert [urgency(d) for d in (-3, 0, 7, 8, 31, 32)] == [
        ("overdue", "Overdue"),
        ("this-week", "This week"),
        ("this-week", "This week"),
        ("this-month", "This month"),
        ("this-month", "This month"),
        ("later", ""),
    ]
    assert [days_text(d) for d in (-2, -1, 0, 1, 17)] == [
        "2 days ago",
        "yesterday, 1 day ago",
        "today",
        "tomorrow, 1 day left",
        "17 days left",
    ]


def test_the_index_filters_by_tag_and_agreement_with_a_plain_form(client: TestClient) -> None:
    html = client.get("/", params={"tag": "korea"}).text
    assert set(re.findall(r'data-agreement="([^"]+)"', html)) == {"kr-jp-gsomia"}
    assert '<option value="korea" selected>' in html
    html = client.get("/", params={"agreement": "npt"}).text
    assert set(re.findall(r'data-agreement="([^"]+)"', html)) <= {"npt"}
    assert '<form class="filters" method="get" action="/">' in html


def test_the_index_links_the_calendar_and_webcal(client: TestClient) -> None:
    html = client.get("/", params={"tag": "korea"}).text
    assert '<a href="/calendar.ics?tag=korea">' in html
    assert '<a href="webcal://testserver/calendar.ics?tag=korea">' in html


def test_the_agreement_page_shows_rules_sources_events_and_explanations(client: TestClient) -> None:
    response = client.get("/agreements/kr-jp-gsomia")
    assert response.status_code == 200
    html = response.text
    assert (
        "<h1>Korea–Japan General Security of Military Information Agreement (GSOMIA)</h1>" in html
    )
    assert "Art. 21(3)" in html
    assert "ninety days in advance of its intention to terminate" in html
    assert (
        'href="https://en.wikisource.org/wiki/Page:Japan-Korea_GSOMIA_(English_Text).pdf/10"'
        in html
    )
    for event in ("notice_given", "notice_suspended", "notice_withdrawn"):
        assert event in html
    assert "<strong>2026-08-24</strong>" in html
    assert "2026-11-22" in html
    assert "No reminders planned yet." in html


def test_an_unknown_agreement_page_is_404(client: TestClient) -> None:
    assert client.get("/agreements/no-such-thing").status_code == 404


def test_text_from_agreements_is_escaped(client: TestClient) -> None:
    document = {**GSOMIA_JSON, "title": "<script>alert(1)</script> Pact"}
    assert client.post("/api/v1/agreements", json=document, headers=AUTH).status_code == 201
    html = client.get("/agreements/api-pact").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Pact" in html
    assert "<script>" not in client.get("/").text


def test_the_openapi_schema_and_its_docs_page_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/v1/agreements", "/api/v1/agreements/{agreement_id}",
        "/api/v1/agreements/{agreement_id}/explain", "/api/v1/deadlines", "/api/v1/reminders",
        "/api/v1/reminders/{reminder_id}", "/api/v1/reminders/{reminder_id}/ack",
        "/calendar.ics", "/healthz", "/metrics",
    }  # fmt: skip
    body = schema["paths"]["/api/v1/agreements"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/Agreement"}
    assert "Agreement" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


PASSED = {
    **GSOMIA_JSON,
    "rules": [{"kind": "milestone", "label": "ratification", "date": "2026-08-01"}],
}


def test_a_deadline_passed_in_the_last_30_days_is_marked_overdue(client: TestClient) -> None:
    assert client.post("/api/v1/agreements", json=PASSED, headers=AUTH).status_code == 201
    html = client.get("/").text
    row = re.search(r'<li class="overdue" data-agreement="api-pact".*?</li>', html, re.S)
    assert row is not None
    assert '<span class="badge">Overdue</span>6 days ago' in row.group(0)


def test_with_too_many_agreements_passed_deadlines_are_left_out_and_the_page_says_so(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.post("/api/v1/agreements", json=PASSED, headers=AUTH).status_code == 201
    monkeypatch.setattr("tracker.api.routers.pages.MAX_RECOMPUTED_AGREEMENTS", 5)
    html = client.get("/").text
    assert 'data-agreement="api-pact"' not in html
    assert "Deadlines of the last 30 days are listed only for up to" in html
    assert 'data-agreement="api-pact"' in client.get("/", params={"agreement": "api-pact"}).text


def test_a_browser_gets_a_missing_agreement_as_an_html_page(client: TestClient) -> None:
    response = client.get("/agreements/no-such-thing", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<p>no agreement &#x27;no-such-thing&#x27;</p>" in response.text
    api = client.get("/api/v1/agreements/no-such-thing", headers={"Accept": "text/html"})
    assert api.json() == {"detail": "no agreement 'no-such-thing'"}


def test_the_agreement_page_says_who_suspended_the_agreement_and_since_when(
    client: TestClient,
) -> None:
    document = {
        "version": 1,
        "id": "suspended-pact",
        "title": "Suspended Pact",
        "parties": ["US", "RU"],
        "in_force": "2011-02-05",
        "rules": [{"kind": "fixed_term", "expires": "2030-02-05"}],
        "events": [{"date": "2023-02-21", "type": "suspended", "party": "RU"}],
    }
    assert client.post("/api/v1/agreements", json=document, headers=AUTH).status_code == 201
    html = client.get("/agreements/suspended-pact").text
    assert (
        "<p>Status: <strong>in force until 2030-02-05 (expires 2030-02-05); suspended by RU "
        "since 2023-02-21</strong>"
    ) in html
