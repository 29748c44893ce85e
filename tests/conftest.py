"""Shared fixtures.

``db_url`` is parametrised over SQLite (always) and PostgreSQL (when
``TRACKER_TEST_POSTGRES_URL`` is set, as ``.ci/run`` does), so every integration test that
uses it runs on both backends and neither drifts. Each PostgreSQL test gets its own schema
(selected through ``search_path`` in the URL, so subprocesses given the URL see it too).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "TRACKER_TEST_POSTGRES_URL"
REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


requires_postgres = pytest.mark.skipif(
    postgres_base_url() is None, reason=f"{POSTGRES_ENV} is not set"
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test; dropped afterwards."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    url = (
        base
        if base.startswith("postgresql+psycopg://")
        else base.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for an empty database, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of ``seeds/`` that a test may change."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, target)
    return target


# CI sets TRACKER_NO_SKIPS=1: there, a skipped test means a missing service or package (the
# PostgreSQL URL, Chromium, remind), which must fail the run instead of passing silently.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("TRACKER_NO_SKIPS") == "1" and _skipped:
        print("\nTRACKER_NO_SKIPS=1 but these tests were skipped:")
        for line in _skipped:
            print(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _private_parse_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own parse cache folder (never the user's ~/.cache)."""
    monkeypatch.setenv("TRACKER_CACHE_DIR", str(tmp_path_factory.mktemp("parse-cache")))
