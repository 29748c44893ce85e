"""A query as of another day than the materialised one is answered from the stored rows
where they hold, and recomputed where an event between the two days changes them: the
answer is the one computed from the documents, page for page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import SEEDS_DIR
from tracker.loader import load_paths
from tracker.store.deadlines import (
    computed_deadlines,
    coverage,
    materialize_deadlines,
    query_deadlines,
)
from tracker.store.engine import make_engine, session_scope
from tracker.store.migrate import upgrade
from tracker.store.repository import import_agreements

MATERIALISED = date(2019, 8, 1)
END = MATERIALISED + timedelta(days=400)


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    upgrade(engine)
    import_agreements(
        engine, load_paths([SEEDS_DIR]), origin="import", now=datetime(2019, 7, 1, tzinfo=UTC)
    )
    materialize_deadlines(engine, as_of=MATERIALISED, end=END)
    yield engine
    engine.dispose()


def answer(engine, as_of: date, **query):  # type: ignore[no-untyped-def]
    window = {"as_of": as_of, "start": as_of, "end": as_of + timedelta(days=200)}
    got = query_deadlines(engine, **window, **query)
    with session_scope(engine) as session:
        full = {"agreement": (), "kind": (), "tag": (), "limit": None, "offset": 0}
        filters = {k: v for k, v in query.items() if k not in ("limit", "offset")}
        expected = computed_deadlines(session, **window, **{**full, **filters})
    return got, expected


@pytest.mark.parametrize(
    ("as_of", "recomputed"),
    [
        (MATERIALISED, ()),
        # GSOMIA's notice of 2019-08-23 lies between: its stored deadlines do not hold.
        (date(2019, 9, 1), ("kr-jp-gsomia",)),
        # ... and so do its suspension of 2019-11-22 and the Paris notice of 2019-11-04.
        (date(2019, 12, 1), ("kr-jp-gsomia", "paris-agreement")),
    ],
)
def test_another_day_gives_the_computed_answer(
    engine, as_of: date, recomputed: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        found = coverage(
            session,
            as_of=as_of,
            start=as_of,
            end=as_of + timedelta(days=200),
            agreement=(),
            tag=(),
        )
    assert found == recomputed
    for page in ({"limit": 5, "offset": 0}, {"limit": 7, "offset": 3}, {"limit": None}):
        got, expected = answer(engine, as_of, **page)
        stop = None if page["limit"] is None else page.get("offset", 0) + page["limit"]
        assert [d.to_dict() for d in got.deadlines] == [
            d.to_dict() for d in expected.deadlines[page.get("offset", 0) : stop]
        ]
        assert got.total == expected.total
    got, expected = answer(engine, date(2019, 9, 1), agreement=("kr-jp-gsomia", "abm-treaty"))
    assert [d.to_dict() for d in got.deadlines] == [d.to_dict() for d in expected.deadlines]


def test_a_day_before_the_stored_range_is_computed(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        early = MATERIALISED - timedelta(days=1)
        assert coverage(session, as_of=early, start=early, end=END, agreement=(), tag=()) is None
