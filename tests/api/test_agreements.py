"""/api/v1/agreements: listing, reading, creating from JSON and YAML, replacing, deleting,
and every error shape a client can meet."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import API_PACT_YAML, AUTH, GSOMIA_JSON

BASE = "/api/v1/agreements"


def test_listing_returns_every_seed_with_the_total_count(
    client: TestClient, seeds_copy: Path
) -> None:
    response = client.get(BASE, params={"limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(list(seeds_copy.glob("*.yaml")))
    assert len(body["data"]) == 5
    ids = [a["id"] for a in body["data"]]
    assert ids == sorted(ids)


def test_listing_pages_with_offset(client: TestClient) -> None:
    first = client.get(BASE, params={"limit": 2}).json()["data"]
    second = client.get(BASE, params={"limit": 2, "offset": 2}).json()["data"]
    assert [a["id"] for a in first] != [a["id"] for a in second]
    everything = client.get(BASE, params={"limit": 1000}).json()["data"]
    assert [a["id"] for a in everything[2:4]] == [a["id"] for a in second]


def test_listing_pages_with_a_cursor_through_everything(client: TestClient) -> None:
    everything = [a["id"] for a in client.get(BASE, params={"limit": 1000}).json()["data"]]
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 4}
    pages = 0
    while True:
        body = client.get(BASE, params=params).json()
        assert body["count"] == len(everything)
        seen += [a["id"] for a in body["data"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params = {"limit": 4, "cursor": body["next_cursor"]}
    assert seen == everything
    assert pages == len(everything) // 4 + 1
    # The cursor of a page continues exactly where offset paging would.
    first = client.get(BASE, params={"limit": 3}).json()
    assert first["next_cursor"] is not None
    by_cursor = client.get(BASE, params={"limit": 3, "cursor": first["next_cursor"]}).json()
    by_offset = client.get(BASE, params={"limit": 3, "offset": 3}).json()
    assert by_cursor["data"] == by_offset["data"]
    assert by_cursor["next_cursor"] == by_offset["next_cursor"]


def test_a_cursor_with_an_offset_or_made_up_is_refused(client: TestClient) -> None:
    cursor = client.get(BASE, params={"limit": 1}).json()["next_cursor"]
    both = client.get(BASE, params={"cursor": cursor, "offset": 1})
    assert both.status_code == 422
    assert "cursor or offset" in json.dumps(both.json())
    for bad in ("not-base64!", "aWQ6QkFE", ""):  # the last two: "id:BAD", and empty
        response = client.get(BASE, params={"cursor": bad})
        assert response.status_code == 422, bad
        assert "query.cursor" in json.dumps(response.json())


def test_listing_filters_by_tag(client: TestClient) -> None:
    body = client.get(BASE, params={"tag": "korea"}).json()
    assert [a["id"] for a in body["data"]] == ["kr-jp-gsomia"]
    assert body["count"] == 1
    assert body["data"][0]["tags"] == ["security", "bilateral", "japan", "korea"]


def test_reading_an_agreement_gives_its_document_origin_and_path(
    client: TestClient, seeds_copy: Path
) -> None:
    body = client.get(f"{BASE}/kr-jp-gsomia").json()
    assert body["origin"] == "file"
    assert body["path"] == str(seeds_copy / "kr-jp-gsomia.yaml")
    assert body["document"]["rules"][0]["notice"] == "90 days"
    assert body["document"]["events"][0] == {
        "date": "2019-08-23",
        "type": "notice_given",
        "party": "KR",
        "note": body["document"]["events"][0]["note"],
        "source": None,
        "until": None,
        "effective_on": None,
    }
    assert body["updated_at"] == "2026-08-07T00:00:00Z"


def test_an_unknown_agreement_is_404_with_a_message(client: TestClient) -> None:
    response = client.get(f"{BASE}/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "no agreement 'no-such-thing'"}


def test_creating_from_json_returns_201_and_its_location(client: TestClient) -> None:
    response = client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{BASE}/api-pact"
    body = response.json()
    assert (body["id"], body["origin"], body["path"], body["revision"]) == (
        "api-pact",
        "api",
        None,
        1,
    )
    assert client.get(f"{BASE}/api-pact").json()["document"]["title"] == "API Pact"


def test_creating_from_yaml_reads_the_body_by_its_content_type(client: TestClient) -> None:
    for content_type in ("application/yaml", "text/yaml; charset=utf-8"):
        response = client.post(
            BASE, content=API_PACT_YAML, headers={**AUTH, "Content-Type": content_type}
        )
        assert response.status_code == 201, response.text
        assert response.json()["document"]["rules"][0]["date"] == "2026-09-01"
        assert client.delete(f"{BASE}/api-pact", headers=AUTH).status_code == 204


def test_a_bad_yaml_body_gets_the_loaders_file_style_message(client: TestClient) -> None:
    text = API_PACT_YAML.replace(
        "    date: 2026-09-01\n", "    date: 2026-09-01\n    after: 90 dais\n"
    )
    response = client.post(BASE, content=text, headers={**AUTH, "Content-Type": "application/yaml"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            "<request>:10:5: rules[0].after: '90 dais' is not a duration "
            "(examples: '90 days', 'P3M')"
        ]
    }


def test_broken_yaml_and_broken_json_are_422_not_500(client: TestClient) -> None:
    response = client.post(BASE, content="a: [", headers={**AUTH, "Content-Type": "text/yaml"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            "<request>:2:1: YAML syntax error: did not find expected node content "
            "(while parsing a flow node)"
        ]
    }
    response = client.post(BASE, content="{", headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0].startswith("<request>:1:")


def test_a_body_of_another_media_type_is_415(client: TestClient) -> None:
    response = client.post(BASE, content="x", headers={**AUTH, "Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json() == {
        "detail": "unsupported content type 'text/plain': send application/json or application/yaml"
    }


def test_creating_an_existing_id_is_409(client: TestClient) -> None:
    assert client.post(BASE, json=GSOMIA_JSON, headers=AUTH).status_code == 201
    response = client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
    assert response.status_code == 409
    assert response.json() == {"detail": "agreement 'api-pact' already exists"}


def test_file_owned_agreements_are_read_only_with_a_message_naming_the_file(
    client: TestClient, seeds_copy: Path
) -> None:
    owner = seeds_copy / "kr-jp-gsomia.yaml"
    expected = {
        "detail": f"agreement 'kr-jp-gsomia' is read-only: it comes from file {owner}; "
        "edit the file instead"
    }
    document = {**GSOMIA_JSON, "id": "kr-jp-gsomia"}
    for response in (
        client.post(BASE, json=document, headers=AUTH),
        client.put(f"{BASE}/kr-jp-gsomia", json=document, headers=AUTH),
        client.delete(f"{BASE}/kr-jp-gsomia", headers=AUTH),
    ):
        assert response.status_code == 409
        assert response.json() == expected


def test_replacing_an_api_agreement_bumps_its_revision(client: TestClient) -> None:
    client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
    changed = {**GSOMIA_JSON, "title": "API Pact, amended"}
    response = client.put(f"{BASE}/api-pact", json=changed, headers=AUTH)
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["revision"]) == ("API Pact, amended", 2)


def test_replacing_needs_the_id_in_the_body_to_match_the_path(client: TestClient) -> None:
    client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
    response = client.put(f"{BASE}/other-pact", json=GSOMIA_JSON, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            "<request>: id: 'api-pact' does not match the agreement in the path 'other-pact'"
        ]
    }


def test_replacing_a_missing_agreement_is_404(client: TestClient) -> None:
    response = client.put(f"{BASE}/api-pact", json=GSOMIA_JSON, headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"detail": "no agreement 'api-pact'"}


def test_deleting_removes_the_agreement_and_its_deadlines(client: TestClient) -> None:
    client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
    assert client.get("/api/v1/deadlines", params={"agreement": "api-pact"}).json()["count"] > 0
    response = client.delete(f"{BASE}/api-pact", headers=AUTH)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"{BASE}/api-pact").status_code == 404
    gone = client.get("/api/v1/deadlines", params={"agreement": "api-pact"})
    assert (gone.status_code, gone.json()) == (404, {"detail": "no agreement 'api-pact' exists"})
    assert client.delete(f"{BASE}/api-pact", headers=AUTH).status_code == 404


def test_explain_shows_rules_events_and_the_arithmetic_of_each_date(client: TestClient) -> None:
    response = client.get(f"{BASE}/kr-jp-gsomia/explain")
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2026-08-07"
    assert body["rules"][0]["kind"] == "auto_renewal"
    assert body["rules"][0]["cite"] == "Art. 21(3)"
    assert [e["event"]["type"] for e in body["events"]] == [
        "notice_given",
        "notice_suspended",
        "notice_withdrawn",
    ]
    notice = next(d for d in body["deadlines"] if d["kind"] == "notice_deadline")
    assert notice["date"] == "2026-08-24"
    assert notice["days_left"] == 17
    assert "2026-11-22" in notice["explanation"]


def test_explain_as_of_ignores_later_events(client: TestClient) -> None:
    body = client.get(f"{BASE}/kr-jp-gsomia/explain", params={"as_of": "2019-08-01"}).json()
    assert body["as_of"] == "2019-08-01"
    assert [e["counted"] for e in body["events"]] == [False, False, False]


def test_explain_rejects_a_bad_date_with_422(client: TestClient) -> None:
    response = client.get(f"{BASE}/kr-jp-gsomia/explain", params={"as_of": "2019-02-30"})
    assert response.status_code == 422
    assert response.json()["detail"][0].startswith("query.as_of: ")


def test_no_response_ever_contains_a_configured_secret(client: TestClient) -> None:
    client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
    for path in (BASE, f"{BASE}/api-pact", "/api/v1/deadlines", "/healthz", "/openapi.json"):
        assert "s3cret-token" not in client.get(path).text
    assert json.dumps(client.get(f"{BASE}/api-pact").json()).count("s3cret") == 0


def test_explain_refuses_an_as_of_outside_the_supported_years(client: TestClient) -> None:
    response = client.get(f"{BASE}/kr-jp-gsomia/explain", params={"as_of": "9999-12-31"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": ["query.as_of: 9999-12-31 is outside 1900-01-01..2199-12-31"]
    }


SUSPENDED_PACT = {
    "version": 1,
    "id": "suspended-pact",
    "title": "Suspended Pact",
    "parties": ["US", "RU"],
    "in_force": "2011-02-05",
    "rules": [{"kind": "fixed_term", "expires": "2030-02-05"}],
    "events": [{"date": "2023-02-21", "type": "suspended", "party": "RU"}],
}


def test_explain_says_who_suspended_the_agreement_and_since_when(client: TestClient) -> None:
    assert client.post(BASE, json=SUSPENDED_PACT, headers=AUTH).status_code == 201
    body = client.get(f"{BASE}/suspended-pact/explain").json()
    assert body["status"] == (
        "in force until 2030-02-05 (expires 2030-02-05); suspended by RU since 2023-02-21"
    )
    assert [(e["event"], e["finding"]) for e in body["events"]] == [
        (
            {"date": "2023-02-21", "type": "suspended", "party": "RU"},
            "obligations suspended by RU from 2023-02-21; no date moves",
        )
    ]
    before = client.get(f"{BASE}/suspended-pact/explain", params={"as_of": "2023-02-20"}).json()
    assert before["status"] == "in force until 2030-02-05 (expires 2030-02-05)"


def test_an_api_agreement_naming_an_unknown_channel_is_422(client: TestClient) -> None:
    document = {**SUSPENDED_PACT, "channels": ["log", "nowhere"]}
    response = client.post(BASE, json=document, headers=AUTH)
    assert (response.status_code, response.json()) == (
        422,
        {
            "detail": [
                "<request>:1:245: channels[1]: 'nowhere' is not a channel of the configuration "
                "in force (defined: log)"
            ]
        },
    )
