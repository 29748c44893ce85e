"""The web page: upcoming deadlines by month, and one page per agreement."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import AUTH, GSOMIA_JSON
from tracker.api.routers.pages import days_text, urgency
from tracker.domain.deadline import Deadline, DeadlineKind, Outcome


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
    assert '<span class="badge">This month</span> 17 days left' in row
    assert '<strong class="date">2026-08-24</strong>' in row
    assert '<span class="what">Last day to give notice: GSOMIA (expiry 2026-11-22)</span>' in row
    assert '<a href="/agreements/kr-jp-gsomia">' in row
    # Words are separated by spaces on both sides of the dot, never "expiry· Art. 21(3)".
    assert '<span class="muted"> · notice deadline · Art. 21(3)</span>' in row


def _deadline(kind: DeadlineKind, days_left: int, outcome: Outcome | None = None) -> Deadline:
    return Deadline("x", "X", kind, date(2026, 8, 7), days_left, "", outcome=outcome)


@pytest.mark.parametrize(
    ("kind", "days_left", "outcome", "expected"),
    [
        # Only a last day to act is urgent while ahead.
        (DeadlineKind.NOTICE_DEADLINE, 0, None, ("this-week", "This week")),
        (DeadlineKind.NOTICE_DEADLINE, 7, None, ("this-week", "This week")),
        (DeadlineKind.NOTICE_DEADLINE, 8, None, ("this-month", "This month")),
        (DeadlineKind.NOTICE_DEADLINE, 31, None, ("this-month", "This month")),
        (DeadlineKind.NOTICE_DEADLINE, 32, None, ("later", "")),
        # A day gone by has passed; nothing is "overdue".
        (DeadlineKind.NOTICE_DEADLINE, -3, None, ("passed", "Passed")),
        (DeadlineKind.EXPIRY, -7, Outcome.RENEWS, ("passed", "Renewed")),
        # A renewal is not an alarm, however near.
        (DeadlineKind.EXPIRY, 2, Outcome.RENEWS, ("renews", "Renews")),
        (DeadlineKind.EXPIRY, 2, Outcome.ENDS, ("later", "")),
        (DeadlineKind.EARLIEST_NOTICE, 2, None, ("opens", "Opens")),
        (DeadlineKind.WITHDRAWAL_EFFECTIVE, 2, None, ("later", "")),
    ],
)
def test_urgency_follows_the_action_and_is_a_class_and_a_word(
    kind: DeadlineKind, days_left: int, outcome: Outcome | None, expected: tuple[str, str]
) -> None:
    assert urgency(_deadline(kind, days_left, outcome)) == expected


def test_days_text_says_passed_for_past_days() -> None:
    assert [days_text(d) for d in (-2, -1, 0, 1, 17)] == [
        "passed 2 days ago",
        "passed yesterday",
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
    assert '<strong class="date">2026-08-24</strong>' in html
    assert '<span class="what">GSOMIA renews for 1 year</span>' in html
    assert "No reminders planned yet." in html
    # "2016-11-23 · tags", never "2016-11-23· tags".
    assert (
        ' · signed <span class="date">2016-11-23</span> · in force '
        '<span class="date">2016-11-23</span> · tags '
    ) in html


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
        "/api/v1/channels", "/api/v1/channels/{name}/test",
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


def test_a_deadline_passed_in_the_last_30_days_is_marked_passed_never_overdue(
    client: TestClient,
) -> None:
    assert client.post("/api/v1/agreements", json=PASSED, headers=AUTH).status_code == 201
    html = client.get("/").text
    row = re.search(r'<li class="passed" data-agreement="api-pact".*?</li>', html, re.S)
    assert row is not None
    assert '<span class="badge">Passed</span> passed 6 days ago' in row.group(0)
    assert "verdue" not in html


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


def test_a_renewing_expiry_a_week_ago_reads_as_a_renewal_never_overdue(
    client: TestClient,
) -> None:
    # 2026-11-29: GSOMIA renewed on 2026-11-22 (no notice), seven days earlier.
    client.app.state.clock = lambda: datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    html = client.get("/", params={"agreement": "kr-jp-gsomia"}).text
    row = re.search(
        r'<li class="([^"]*)" data-agreement="kr-jp-gsomia" data-kind="expiry">(.*?)</li>',
        html,
        re.S,
    )
    assert row is not None
    assert row.group(1) == "passed"
    assert '<span class="badge">Renewed</span> passed 7 days ago' in row.group(2)
    assert '<span class="what">GSOMIA renews for 1 year</span>' in row.group(2)
    assert "verdue" not in html


def test_an_unknown_agreement_in_a_browser_gets_an_html_404_page(client: TestClient) -> None:
    for path in ("/agreements/no-such-thing", "/agreements/UNKNOWN"):
        response = client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
        assert response.status_code == 404
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        wanted = path.rsplit("/", 1)[1]
        assert f"<h1>404</h1><p>no agreement &#x27;{wanted}&#x27;</p>" in response.text
    # A script asking for JSON still gets JSON.
    response = client.get("/agreements/UNKNOWN", headers={"Accept": "application/json"})
    assert (response.status_code, response.json()) == (404, {"detail": "no agreement 'UNKNOWN'"})


def test_an_unknown_page_in_a_browser_is_an_html_404(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "<h1>404</h1><p>no such page</p>" in response.text


def test_filtering_the_page_by_an_unknown_agreement_says_it_does_not_exist(
    client: TestClient,
) -> None:
    response = client.get("/", params={"agreement": "UNKNOWN"})
    assert response.status_code == 404
    assert "<h2>No agreement “UNKNOWN” exists</h2>" in response.text
    assert 'data-agreement="' not in response.text  # no deadline rows at all
    assert "No deadlines in this window." not in response.text


def test_the_agreement_page_lists_a_notice_deadline_years_ahead(client: TestClient) -> None:
    # A five-year term renewed for five years, three months' notice: the next notice
    # deadline (2031-02-05 − 3 months = 2030-11-05) lies beyond the page's two years.
    document = {
        **GSOMIA_JSON,
        "rules": [
            {
                "kind": "auto_renewal",
                "first_expiry": "2026-02-05",
                "renewal_term": "5 years",
                "notice": "3 months",
            }
        ],
    }
    assert client.post("/api/v1/agreements", json=document, headers=AUTH).status_code == 201
    html = client.get("/agreements/api-pact").text
    rows = re.findall(
        r'<li class="[^"]*" data-kind="([a-z_]+)">.*?<strong class="date">([0-9-]+)<', html, re.S
    )
    assert rows == [("notice_deadline", "2030-11-05")]
    assert "Last day to give notice: API Pact (expiry 2031-02-05)" in html
