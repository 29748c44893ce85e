"""What an operator sees through the real app: invalid agreement files (health, metrics, the
page's banner, what still syncs) and the channels (their state, trying one now)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook

from tests.api.conftest import AUTH, NOW, make_settings, prepare
from tests.support.receiver import Receiver
from tracker.api.app import create_app
from tracker.service import Service

SECRET = "whsec_" + base64.b64encode(b"operations-test-secret-0123456789").decode()


def wait_until(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def broken(tmp_path: Path, seeds_copy: Path) -> Iterator[tuple[TestClient, Service, Path]]:
    """A service whose folder holds the seeds, one of which was broken after a first sync,
    and one removed: the GSOMIA file now has an invalid date."""
    settings = make_settings(tmp_path, agreements_dir=seeds_copy, tick_seconds=3600)
    service = Service(settings)
    app = create_app(settings, service=service)
    with TestClient(app) as client:
        wait_until(lambda: service.last_tick_at is not None)
        gsomia = seeds_copy / "kr-jp-gsomia.yaml"
        gsomia.write_text(gsomia.read_text().replace("2017-11-22", "2017-11-31"))
        (seeds_copy / "npt.yaml").unlink()
        service._sync(now=NOW)  # what the folder watcher does when files change
        yield client, service, gsomia


def test_an_invalid_file_makes_health_degraded_naming_the_file_and_its_error(
    broken: tuple[TestClient, Service, Path],
) -> None:
    client, _, gsomia = broken
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    [invalid] = body["invalid_files"]
    assert invalid["file"] == str(gsomia)
    assert len(invalid["errors"]) == 1
    assert invalid["errors"][0].startswith(f"{gsomia}:")
    assert "first_expiry" in invalid["errors"][0] and "2017-11-31" in invalid["errors"][0]


def test_a_metric_counts_the_invalid_files(broken: tuple[TestClient, Service, Path]) -> None:
    client, _, _ = broken
    text = client.get("/metrics").text
    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples["tracker_agreement_files_invalid"] == 1


def test_the_page_shows_a_banner_naming_the_invalid_file(
    broken: tuple[TestClient, Service, Path],
) -> None:
    client, _, gsomia = broken
    for path in ("/", "/agreements/paris-agreement"):
        html = client.get(path).text
        assert f'<li data-invalid-file="{gsomia}"><code>{gsomia}</code>' in html
        assert "1 invalid file in the agreements folder" in html


def test_the_valid_files_still_sync_and_the_invalid_ones_agreement_stays(
    broken: tuple[TestClient, Service, Path],
) -> None:
    client, _, _ = broken
    # The removed file's agreement is gone; the invalid file's keeps its last good version.
    assert client.get("/api/v1/agreements/npt").status_code == 404
    gsomia = client.get("/api/v1/agreements/kr-jp-gsomia")
    assert gsomia.status_code == 200
    assert gsomia.json()["document"]["rules"][0]["first_expiry"] == "2017-11-22"


def test_fixing_the_file_clears_the_banner_and_health(
    broken: tuple[TestClient, Service, Path],
) -> None:
    client, service, gsomia = broken
    gsomia.write_text(gsomia.read_text().replace("2017-11-31", "2017-11-22"))
    service._sync(now=NOW)
    body = client.get("/healthz").json()
    assert (body["status"], body["invalid_files"]) == ("ok", [])
    assert "data-invalid-file" not in client.get("/").text


@pytest.fixture
def with_hook(tmp_path: Path, seeds_copy: Path) -> Iterator[tuple[TestClient, Receiver]]:
    with Receiver() as receiver:
        settings = make_settings(
            tmp_path,
            agreements_dir=seeds_copy,
            channels={
                "ops": {"type": "webhook", "url": receiver.url, "secret": SECRET},
                "desk": {"type": "email", "to": ["desk@example.org"]},
            },
        )
        app = create_app(settings)
        prepare(app, seeds_copy)
        with TestClient(app) as client:
            yield client, receiver


def test_channels_are_listed_with_their_state(with_hook: tuple[TestClient, Receiver]) -> None:
    client, _ = with_hook
    body = client.get("/api/v1/channels").json()
    assert body["count"] == 3
    assert [(c["name"], c["type"], c["enabled"], c["problem"]) for c in body["data"]] == [
        ("desk", "email", True, None),
        ("log", "log", True, None),
        ("ops", "webhook", True, None),
    ]
    assert {c["last_success_at"] for c in body["data"]} == {None}


def test_trying_a_webhook_channel_sends_a_signed_test_message(
    with_hook: tuple[TestClient, Receiver],
) -> None:
    client, receiver = with_hook
    # Receivers check the signature's timestamp against their clock: send at the real time.
    client.app.state.clock = lambda: datetime.now(UTC)  # type: ignore[attr-defined]
    response = client.post("/api/v1/channels/ops/test", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert (body["channel"], body["type"], body["ok"], body["status"]) == (
        "ops",
        "webhook",
        True,
        200,
    )
    [request] = receiver.wait_for(1)
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload["type"] == "channel.test"
    assert payload["data"]["summary"] == "Channel test: Test message from treaty-tracker"


def test_a_channel_the_receiver_refuses_reports_the_failure_without_disabling_it(
    with_hook: tuple[TestClient, Receiver],
) -> None:
    client, receiver = with_hook
    receiver.script(410)
    body = client.post("/api/v1/channels/ops/test", headers=AUTH).json()
    assert (body["ok"], body["status"]) == (False, 410)
    assert "HTTP 410" in body["detail"]
    states = {c["name"]: c["enabled"] for c in client.get("/api/v1/channels").json()["data"]}
    assert states["ops"] is True


def test_trying_a_channel_needs_the_token_and_a_known_name(
    with_hook: tuple[TestClient, Receiver],
) -> None:
    client, receiver = with_hook
    assert client.post("/api/v1/channels/ops/test").status_code == 401
    response = client.post("/api/v1/channels/nope/test", headers=AUTH)
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "no channel 'nope' (configured: desk, log, ops)"},
    )
    assert receiver.count == 0
