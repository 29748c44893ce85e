"""Hostile and unlucky documents through the API (issue 8, items 1, 2, 3, 8 and 12).

Each runs on SQLite and on PostgreSQL (the ``db_url`` fixture behind ``client``) and asserts
the same exact answer on both: a 422 naming the line and the field, nothing stored, and the
readers unaffected. Before, PostgreSQL answered some of these with a 500 DataError while
SQLite and ``tracker validate`` accepted them, and others answered 500 on both.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import AUTH

BASE = "/api/v1/agreements"
JSON = {**AUTH, "Content-Type": "application/json"}
YAML = {**AUTH, "Content-Type": "application/yaml"}
RANGE = "the tracker computes dates from 0001-01-01 to 9999-12-31 only"


def document(**fields: Any) -> dict[str, Any]:
    """A valid agreement ``hostile`` with ``fields`` replaced."""
    return {
        "version": 1,
        "id": "hostile",
        "title": "Hostile input",
        "parties": ["KR", "JP"],
        "rules": [{"kind": "milestone", "label": "review", "date": "2030-01-01"}],
        **fields,
    }


def post_json(client: TestClient, doc: dict[str, Any]) -> Any:
    # indent=1: one key per line, so each message names a line a reader can check by eye
    return client.post(BASE, content=json.dumps(doc, indent=1), headers=JSON)


def refused(response: Any, *messages: str) -> None:
    assert (response.status_code, response.json()) == (422, {"detail": list(messages)})


def nothing_stored(client: TestClient) -> None:
    assert client.get(f"{BASE}/hostile").status_code == 404
    assert client.get("/api/v1/deadlines").status_code == 200


# --- item 3: what PostgreSQL cannot hold is refused on every backend ---------------------


def test_a_nul_in_a_title_is_refused_with_the_same_422_on_every_backend(
    client: TestClient,
) -> None:
    refused(
        post_json(client, document(title="Hostile\x00input")),
        "<request>:4:2: title: a NUL character (U+0000) at character 8 is not allowed: "
        "write one line of printable text",
    )
    nothing_stored(client)


def test_a_nul_in_a_label_is_refused_with_the_same_422_on_every_backend(
    client: TestClient,
) -> None:
    rules = [{"kind": "milestone", "label": "re\x00view", "date": "2030-01-01"}]
    refused(
        post_json(client, document(rules=rules)),
        "<request>:12:4: rules[0].label: a NUL character (U+0000) at character 3 is not "
        "allowed: write one line of printable text",
    )
    nothing_stored(client)


def test_400_tags_are_refused_with_the_same_422_on_every_backend(client: TestClient) -> None:
    refused(
        post_json(client, document(tags=[f"tag-{i}" for i in range(400)])),
        "<request>:16:2: tags: has 400 items, over the limit of 30",
    )
    nothing_stored(client)


def test_a_200_character_party_in_an_event_is_refused_with_the_same_422_on_every_backend(
    client: TestClient,
) -> None:
    doc = document(
        rules=[{"kind": "withdrawal", "notice": "1 year"}],
        events=[{"date": "2020-01-01", "type": "notice_given", "party": "P" * 200}],
    )
    refused(
        post_json(client, doc),
        "<request>:19:4: events[0].party: is 200 characters long, over the limit of 100",
    )
    nothing_stored(client)


# --- item 8: only web and mail links ------------------------------------------------------


def test_a_javascript_url_is_refused(client: TestClient) -> None:
    doc = document(sources=[{"cite": "Art. 1", "url": "javascript:alert(document.domain)"}])
    refused(
        post_json(client, doc),
        "<request>:19:4: sources[0].url: 'javascript:alert(document.domain)' is not a web or "
        "mail link: write an http://, https:// or mailto: URL "
        "(e.g. 'https://example.org/treaty-text')",
    )
    nothing_stored(client)


# --- item 1: whatever passes validation computes ------------------------------------------


def test_a_notice_before_year_1_is_refused_by_put_and_the_stored_agreement_stays(
    client: TestClient,
) -> None:
    assert post_json(client, document()).status_code == 201
    rules = [{"kind": "fixed_term", "expires": "0001-01-01", "notice": "90 days"}]
    refused(
        client.put(f"{BASE}/hostile", content=json.dumps(document(rules=rules)), headers=JSON),
        f"<request>:1:142: rules[0].notice: expiry 0001-01-01 − 90 days falls before "
        f"0001-01-01: {RANGE}",
    )
    stored = client.get(f"{BASE}/hostile").json()
    assert (stored["revision"], stored["document"]["rules"][0]["kind"]) == (1, "milestone")
    assert client.get("/api/v1/deadlines").status_code == 200
    assert client.get("/calendar.ics").status_code == 200
    assert client.get("/").status_code == 200


def test_a_milestone_and_a_term_past_9999_are_refused(client: TestClient) -> None:
    text = (
        "version: 1\nid: hostile\ntitle: T\nparties: [KR]\nin_force: 9999-01-01\nrules:\n"
        "  - {kind: milestone, label: m, after: 200 years}\n"
        "  - {kind: fixed_term, start: 9999-01-01, term: 200 years}\n"
    )
    refused(
        client.post(BASE, content=text, headers=YAML),
        f"<request>:7:33: rules[0].after: in force 9999-01-01 + 200 years falls after "
        f"9999-12-31: {RANGE}",
        f"<request>:8:43: rules[1].term: start 9999-01-01 + 200 years falls after "
        f"9999-12-31: {RANGE}",
    )
    nothing_stored(client)


# --- item 2: bounded nesting and numbers --------------------------------------------------


def test_json_nested_100000_deep_is_a_422(client: TestClient) -> None:
    body = json.dumps(document(), indent=1)[:-2] + ',\n "tags": ' + "[" * 100_000
    body += "]" * 100_000 + "\n}"
    refused(
        client.post(BASE, content=body, headers=JSON),
        "<request>:16:11: tags[0]: expected text, got a list",
        f"<request>:16:41: tags{'[0]' * 31}: nested more than 32 levels deep",
    )
    nothing_stored(client)


def test_5000_digit_integers_are_a_422(client: TestClient) -> None:
    rules = [
        {
            "kind": "auto_renewal",
            "first_expiry": "2017-11-22",
            "renewal_term": "1 year",
            "notice": "90 days",
            "max_renewals": 7,
        }
    ]
    body = json.dumps(document(version=9, rules=rules), indent=1)
    body = body.replace('"version": 9', '"version": ' + "9" * 5000)
    body = body.replace('"max_renewals": 7', '"max_renewals": ' + "7" * 5000)
    message = "a number with 5,000 digits is too large: no field takes more than 15 digits"
    refused(
        client.post(BASE, content=body, headers=JSON),
        f"<request>:2:13: version: {message}",
        f"<request>:15:20: rules[0].max_renewals: {message}",
    )
    nothing_stored(client)


# --- item 12: bounded work per document ---------------------------------------------------


def test_50000_unknown_keys_get_the_first_50_errors_and_a_count(client: TestClient) -> None:
    doc = document(**{f"unknown{i}": 1 for i in range(50_000)})
    body = json.dumps(doc, indent=1)
    assert len(body) > 489_000
    allowed = (
        "version, id, title, parties, signed, in_force, in_force_for, timezone, tags, sources, "
        "rules, events, "
        "reminders, channels"
    )
    refused(
        client.post(BASE, content=body, headers=JSON),
        *(f"<request>:{16 + i}:2: unknown{i}: unknown key (allowed: {allowed})" for i in range(50)),
        "<request>:66:2: ... and 49,950 more errors from here on (fix the errors above first)",
    )
    nothing_stored(client)


def test_2000_reminder_offsets_are_refused(client: TestClient) -> None:
    offsets = [f"{i} days" for i in range(2000)]
    refused(
        post_json(client, document(reminders=offsets)),
        "<request>:16:2: reminders: has 2,000 items, over the limit of 20",
    )
    nothing_stored(client)
