"""During a database outage every door answers the documented 503 with ``Retry-After``.

The outage is real: on PostgreSQL the app's own login role is barred from logging in and its
connections are terminated (the shared server keeps running for everyone else); on SQLite the
database file is replaced by a directory, which SQLite cannot open.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.api.conftest import AUTH, GSOMIA_JSON, make_settings, prepare
from tracker.api.app import create_app

UNAVAILABLE = {"detail": "the database is unavailable; try again shortly"}
Outage = tuple[FastAPI, Callable[[], None]]


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def outage(db_url: str, tmp_path: Path, seeds_copy: Path) -> Iterator[Outage]:
    """A working app on the database, and the function that cuts the database off."""
    if db_url.startswith("sqlite"):
        app = create_app(make_settings(tmp_path, agreements_dir=seeds_copy, database_url=db_url))
        prepare(app, seeds_copy)
        database = Path(str(make_url(db_url).database))

        def cut() -> None:
            app.state.context.engine.dispose()
            database.rename(database.with_suffix(".moved"))
            database.mkdir()

        yield app, cut
        return

    role = f"tracker_{uuid.uuid4().hex[:10]}"
    admin = plain(db_url)
    schema = make_url(db_url).query["options"].split("=", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT ALL ON SCHEMA "{schema}" TO "{role}"')
    as_role = make_url(db_url).set(username=role).render_as_string(hide_password=False)
    app = create_app(make_settings(tmp_path, agreements_dir=seeds_copy, database_url=as_role))
    prepare(app, seeds_copy)

    def cut() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{role}" NOLOGIN')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )

    try:
        yield app, cut
    finally:
        app.state.context.engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}" CASCADE')
            conn.execute(f'DROP ROLE "{role}"')


def test_reads_and_writes_answer_503_json_with_retry_after_during_an_outage(
    outage: Outage,
) -> None:
    app, cut = outage
    with TestClient(app) as client:
        assert client.get("/api/v1/agreements/kr-jp-gsomia").status_code == 200
        cut()
        responses = {
            "agreements": client.get("/api/v1/agreements"),
            "deadlines": client.get("/api/v1/deadlines"),
            "reminders": client.get("/api/v1/reminders"),
            "write": client.post("/api/v1/agreements", json=GSOMIA_JSON, headers=AUTH),
            "calendar": client.get("/calendar.ics"),
        }
        health = client.get("/healthz")

    for name, response in responses.items():
        assert response.status_code == 503, name
        assert response.headers["content-type"] == "application/json", name
        assert response.headers["retry-after"] == "5", name
        assert response.json() == UNAVAILABLE, name
    assert (health.status_code, health.headers["retry-after"]) == (503, "5")
    assert health.json()["status"] == "unavailable"


def test_the_page_answers_a_503_page_with_retry_after_during_an_outage(outage: Outage) -> None:
    app, cut = outage
    with TestClient(app) as client:
        cut()
        response = client.get("/", headers={"Accept": "text/html"})

    assert response.status_code == 503
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["retry-after"] == "5"
    assert "<h1>503</h1><p>the database is unavailable; try again shortly</p>" in response.text
