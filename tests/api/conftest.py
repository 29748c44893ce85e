"""An app on a fresh SQLite database holding a copy of the seeds, with the clock pinned.

"Now" is 2026-08-07 00:00 UTC: the GSOMIA notice deadline (expiry 22 November − 90 days)
is 2026-08-24, 17 days later, as in the SPEC's August 2020 example.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its test client and warns once, at import, when it
    # finds httpx; the client works the same with either.
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tracker.api.app import create_app
from tracker.settings import Settings
from tracker.store.migrate import upgrade
from tracker.store.sync import sync_directory

NOW = datetime(2026, 8, 7, 0, 0, tzinfo=UTC)
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

GSOMIA_JSON: dict[str, Any] = {
    "version": 1,
    "id": "api-pact",
    "title": "API Pact",
    "parties": ["AA", "BB"],
    "tags": ["test", "api"],
    "sources": [{"cite": "Art. 1", "url": "https://example.org/pact", "quote": "ninety days"}],
    "rules": [
        {
            "kind": "auto_renewal",
            "first_expiry": "2017-11-22",
            "renewal_term": "1 year",
            "notice": "90 days",
            "source": "Art. 1",
        },
    ],
}

API_PACT_YAML = """\
version: 1
id: api-pact
title: API Pact
parties: [AA, BB]
tags: [test, api]
rules:
  - kind: milestone
    label: review
    date: 2026-09-01
"""


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'tracker.db'}",
        "agreements_dir": tmp_path / "seeds",
        "api_token": TOKEN,
        **overrides,
    }
    return Settings.model_validate(values)


def prepare(app: FastAPI, seeds: Path | None) -> Engine:
    engine: Engine = app.state.context.engine
    upgrade(engine)
    if seeds is not None:
        sync_directory(engine, seeds, now=NOW)
    app.state.clock = lambda: NOW
    return engine


@pytest.fixture
def settings(tmp_path: Path, seeds_copy: Path, db_url: str) -> Settings:
    """SQLite always; PostgreSQL too when TRACKER_TEST_POSTGRES_URL is set (as in CI)."""
    return make_settings(tmp_path, agreements_dir=seeds_copy, database_url=db_url)


@pytest.fixture
def app(settings: Settings, seeds_copy: Path) -> FastAPI:
    application = create_app(settings)
    prepare(application, seeds_copy)
    return application


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.context.engine
    return engine


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
