"""/api/v1/deadlines: the CLI's query over HTTP, with the same deadline objects."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tracker.domain.deadline import Deadline

URL = "/api/v1/deadlines"


def test_the_default_window_is_one_year_from_today_inclusive(client: TestClient) -> None:
    body = client.get(URL, params={"limit": 1000}).json()
    assert (body["as_of"], body["start"], body["end"]) == ("2026-08-07", "2026-08-07", "2027-08-07")
    dates = [d["date"] for d in body["data"]]
    assert dates == sorted(dates)
    assert all("2026-08-07" <= d <= "2027-08-07" for d in dates)
    assert body["count"] == len(body["data"])


def test_gsomia_notice_deadline_is_24_august_with_17_days_left(client: TestClient) -> None:
    body = client.get(URL, params={"agreement": "kr-jp-gsomia", "kind": "notice_deadline"}).json()
    assert body["count"] == 1
    (deadline,) = body["data"]
    assert deadline == {
        "agreement": "kr-jp-gsomia",
        "title": "Korea–Japan General Security of Military Information Agreement (GSOMIA)",
        "kind": "notice_deadline",
        "date": "2026-08-24",
        "party": None,
        "label": "annual renewal",
        "days_left": 17,
        "explanation": deadline["explanation"],
        "source": "Art. 21(3)",
        "action": "act_by",
        "outcome": None,
        "weekday_note": None,
    }
    assert "2026-11-22" in deadline["explanation"] and "90 days" in deadline["explanation"]
    # The object is exactly the SPEC 2.4 deadline the CLI prints.
    assert Deadline.from_dict(deadline).to_dict() == deadline


def test_within_takes_a_short_duration_like_90d(client: TestClient) -> None:
    body = client.get(URL, params={"within": "90d", "agreement": "kr-jp-gsomia"}).json()
    assert body["end"] == "2026-11-05"
    assert [d["kind"] for d in body["data"]] == ["notice_deadline"]


def test_from_and_to_are_inclusive(client: TestClient) -> None:
    body = client.get(URL, params={"from": "2026-08-24", "to": "2026-08-24"}).json()
    assert {d["date"] for d in body["data"]} == {"2026-08-24"}
    assert "kr-jp-gsomia" in {d["agreement"] for d in body["data"]}


def test_as_of_moves_today_and_ignores_later_events(client: TestClient) -> None:
    body = client.get(
        URL, params={"as_of": "2019-08-07", "agreement": "kr-jp-gsomia", "kind": "notice_deadline"}
    ).json()
    assert [(d["date"], d["days_left"]) for d in body["data"]] == [("2019-08-24", 17)]


def test_filters_by_tag_and_kind_combine(client: TestClient) -> None:
    body = client.get(URL, params={"tag": "korea", "kind": ["expiry", "notice_deadline"]}).json()
    assert {d["agreement"] for d in body["data"]} == {"kr-jp-gsomia"}
    assert {d["kind"] for d in body["data"]} == {"expiry", "notice_deadline"}


def test_limit_and_offset_page_while_count_stays_the_total(client: TestClient) -> None:
    everything = client.get(URL, params={"limit": 1000}).json()
    page = client.get(URL, params={"limit": 3, "offset": 2}).json()
    assert page["count"] == everything["count"]
    assert page["data"] == everything["data"][2:5]


def test_bad_query_values_are_422_with_messages(client: TestClient) -> None:
    cases = {
        (("within", "90 dais"),): [
            "query.within: '90 dais' is not a duration (examples: '90 days', 'P3M')"
        ],
        (("to", "2026-01-01"),): ["query: 'to' 2026-01-01 is before 'from' 2026-08-07"],
        (("to", "2027-01-01"), ("within", "90d")): [
            "query: give either 'to' or 'within', not both"
        ],
        (("from", "0001-01-01"),): ["query.from: 0001-01-01 is outside 1900-01-01..2199-12-31"],
    }
    for params, detail in cases.items():
        response = client.get(URL, params=list(params))
        assert response.status_code == 422, params
        assert response.json() == {"detail": detail}


def test_request_validation_errors_use_the_same_detail_shape(client: TestClient) -> None:
    response = client.get(URL, params={"kind": "deadline", "limit": 0})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list) and all(isinstance(m, str) for m in detail)
    assert any(m.startswith("query.kind.0: Input should be 'notice_deadline'") for m in detail)
    assert "query.limit: Input should be greater than or equal to 1" in detail


def test_a_tag_filter_matches_the_whole_tag_literally_not_as_a_pattern(
    client: TestClient,
) -> None:
    from tests.api.conftest import AUTH, GSOMIA_JSON

    rule = {"kind": "fixed_term", "expires": "2027-01-01"}
    for agreement_id, tag in (("pact-a", "a_b"), ("pact-b", "axb"), ("pact-c", "50%")):
        body = {**GSOMIA_JSON, "id": agreement_id, "tags": [tag], "rules": [rule], "events": []}
        assert client.post("/api/v1/agreements", json=body, headers=AUTH).status_code == 201

    def agreements_with(tag: str) -> tuple[list[str], list[str]]:
        deadlines = client.get(URL, params={"tag": tag}).json()["data"]
        listed = client.get("/api/v1/agreements", params={"tag": tag}).json()["data"]
        return [d["agreement"] for d in deadlines], [a["id"] for a in listed]

    # In SQL LIKE, "_" matches any one character and "%" any run: a tag is not a pattern.
    assert agreements_with("a_b") == (["pact-a"], ["pact-a"])
    assert agreements_with("50%") == (["pact-c"], ["pact-c"])
    assert agreements_with("5%") == ([], [])


@pytest.mark.parametrize("wanted", ["UNKNOWN", "no-such-pact", "\x00", "a b"])
def test_asking_for_an_unknown_agreement_says_it_does_not_exist(
    client: TestClient, wanted: str
) -> None:
    # A NUL never reaches PostgreSQL (which refuses it in text: a 500 DataError before).
    for path in (URL, "/calendar.ics"):
        response = client.get(path, params={"agreement": ["kr-jp-gsomia", wanted]})
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"no agreement {wanted!r} exists"},
        )
