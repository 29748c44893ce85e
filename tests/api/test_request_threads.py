"""``request_threads`` bounds the worker threads that run requests' database work."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from fastapi.testclient import TestClient

from tests.api.conftest import make_settings, prepare
from tracker.api.app import create_app


def tokens(client: TestClient) -> float:
    portal = client.portal
    assert portal is not None
    return portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)


def test_the_default_bounds_requests_to_eight_threads(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, agreements_dir=None))
    prepare(app, None)
    with TestClient(app) as client:
        assert tokens(client) == 8
        assert client.get("/api/v1/deadlines").status_code == 200


def test_the_setting_is_applied(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, agreements_dir=None, request_threads=3))
    prepare(app, None)
    with TestClient(app) as client:
        assert tokens(client) == 3
