"""Fixtures shared by the process-level tests of several ``tracker serve`` replicas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tracker.store.engine import make_engine


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[object]:
    """Replicas started by the test, killed at its end; their logs are printed, which pytest
    shows only for a failing test."""
    from tests.e2e.test_serve_replicas import Replicas

    started = Replicas(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()
        print(started.logs())


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on the test's PostgreSQL schema (the replicas migrate it themselves)."""
    made = make_engine(postgres_url)
    try:
        yield made
    finally:
        made.dispose()
