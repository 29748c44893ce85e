"""Migrations build exactly the schema the tables describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import tracker.store.tables  # noqa: F401  (registers the tables)
from tests.conftest import requires_postgres
from tests.support.concurrency import run_together
from tracker.store.engine import make_engine
from tracker.store.migrate import current_revision, downgrade, head_revision, upgrade

TABLES = {
    "acknowledgements",
    "agreements",
    "events",
    "deadlines",
    "deadline_horizons",
    "reminders",
    "delivery_attempts",
    "channel_state",
    "deadline_counts",
    "deadline_tags",
    "data_version",
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_upgrade_creates_every_table_of_an_empty_database(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    assert current_revision(engine) == head_revision() == "0006"


def test_migrated_schema_matches_the_table_definitions_exactly(engine: Engine) -> None:
    upgrade(engine)
    assert schema_differences(engine) == []


def test_schema_comparison_notices_a_missing_index(engine: Engine) -> None:
    # Guards the test above: the comparison really looks at indexes.
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_deadlines_order"))
    differences = schema_differences(engine)
    assert [d[0] for d in differences] == ["add_index"]  # type: ignore[index]


def test_downgrade_to_base_leaves_no_tables(engine: Engine) -> None:
    upgrade(engine)
    downgrade(engine)
    # alembic keeps its own (now empty) bookkeeping table; none of ours is left.
    assert inspect(engine).get_table_names() == ["alembic_version"]
    assert current_revision(engine) is None


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO channel_state (name, disabled) VALUES ('ops', true)"))
    upgrade(engine)
    assert current_revision(engine) == "0006"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM channel_state")).scalar() == 1


@requires_postgres
def test_replicas_upgrading_together_migrate_once_without_error(postgres_url: str) -> None:
    engines = [make_engine(postgres_url) for _ in range(4)]
    _, errors = run_together(upgrade, engines)
    assert errors == []
    assert current_revision(engines[0]) == "0006"
    assert schema_differences(engines[0]) == []
    for engine in engines:
        engine.dispose()
