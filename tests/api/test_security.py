"""Writes need the bearer token, reads may; bodies have a size limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import AUTH, GSOMIA_JSON, make_settings, prepare
from tracker.api.app import create_app

BASE = "/api/v1/agreements"


def client_for(tmp_path: Path, seeds: Path, **overrides: object) -> TestClient:
    app = create_app(make_settings(tmp_path, agreements_dir=seeds, **overrides))
    prepare(app, seeds)
    return TestClient(app)


def test_a_write_without_a_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.post(BASE, json=GSOMIA_JSON)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "missing bearer token: send 'Authorization: Bearer <api_token>'"
    }


def test_a_write_with_a_wrong_token_is_401(client: TestClient) -> None:
    for header in ("Bearer s3cret-tokeN", "Bearer s3cret-token-and-more", "Basic s3cret-token"):
        response = client.delete(f"{BASE}/npt", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get(f"{BASE}/npt").status_code == 200


def test_without_a_configured_token_writes_are_refused_with_403(
    tmp_path: Path, seeds_copy: Path
) -> None:
    with client_for(tmp_path, seeds_copy, api_token=None) as client:
        response = client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
        assert response.status_code == 403
        assert response.json() == {
            "detail": "writes are disabled: set api_token in the configuration"
        }
        assert client.get(BASE).status_code == 200


def test_read_requires_token_protects_reads_but_not_the_health_check(
    tmp_path: Path, seeds_copy: Path
) -> None:
    with client_for(tmp_path, seeds_copy, read_requires_token=True) as client:
        for path in (
            BASE,
            f"{BASE}/npt",
            "/api/v1/deadlines",
            "/api/v1/reminders",
            "/calendar.ics",
            "/metrics",
            "/",
        ):
            response = client.get(path)
            assert response.status_code == 401, path
            assert client.get(path, headers=AUTH).status_code == 200, path
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/healthz").status_code == 200


def test_a_body_over_the_limit_is_413_by_its_content_length(
    tmp_path: Path, seeds_copy: Path
) -> None:
    with client_for(tmp_path, seeds_copy, max_body_bytes=2048) as client:
        body = "# padding\n" * 300
        response = client.post(BASE, content=body, headers={**AUTH, "Content-Type": "text/yaml"})
        assert response.status_code == 413
        assert response.json() == {
            "detail": "request body is larger than 2048 bytes (max_body_bytes)"
        }


def test_a_chunked_body_over_the_limit_is_413_when_counted(
    tmp_path: Path, seeds_copy: Path
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"# padding " * 50

    with client_for(tmp_path, seeds_copy, max_body_bytes=2048) as client:
        response = client.post(
            BASE, content=chunks(), headers={**AUTH, "Content-Type": "text/yaml"}
        )
        assert "content-length" not in {k.lower() for k in response.request.headers}
        assert response.status_code == 413


def test_a_body_under_the_limit_passes(tmp_path: Path, seeds_copy: Path) -> None:
    with client_for(tmp_path, seeds_copy, max_body_bytes=2048) as client:
        assert client.post(BASE, json=GSOMIA_JSON, headers=AUTH).status_code == 201
