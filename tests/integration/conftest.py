"""Fixtures shared by the integration tests (``db_url`` comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tracker.store.engine import make_engine
from tracker.store.migrate import upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test's empty database, migrated to the latest schema."""
    made = make_engine(db_url)
    upgrade(made)
    yield made
    made.dispose()
