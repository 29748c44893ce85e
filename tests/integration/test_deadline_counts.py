"""``deadline_counts`` and ``data_version`` stay exact whoever writes (the triggers of
migration 0006), and the counts a query reports from them equal the computed answer's.

Every check compares with a recount made in Python from the ``deadlines`` rows themselves,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from tests.conftest import SEEDS_DIR
from tests.support.agreements import BROKEN_ID, store_like_an_older_version
from tracker.loader import load_paths
from tracker.store.deadlines import computed_deadlines, materialize_deadlines, query_deadlines
from tracker.store.engine import session_scope
from tracker.store.migrate import downgrade, upgrade
from tracker.store.repository import delete_api_agreement, forget_deadlines, import_agreements
from tracker.store.tables import DataVersionRow, DeadlineCountRow, DeadlineRow, DeadlineTagRow

NOW = datetime(2026, 8, 7, tzinfo=UTC)
AS_OF = NOW.date()
END = AS_OF + timedelta(days=400)

#: Tags that a careless split would get wrong: quotes, backslashes, a LIKE wildcard, an
#: apostrophe, non-ASCII.
ODD_TAGS = ['say "no"', "back\\slash", "50%_off", "o'clock", "ümlaut", "twice"]
ODD = f"""\
version: 1
id: odd-tags
title: Odd tags
parties: [KR, JP]
tags: {json.dumps([*ODD_TAGS, "twice"])}
rules:
  - kind: auto_renewal
    first_expiry: 2017-11-22
    renewal_term: 1 year
    notice: 90 days
"""


def recount(engine: Engine) -> Counter[tuple[str, date, str]]:
    """The counts as they should be, from the deadline rows."""
    found: Counter[tuple[str, date, str]] = Counter()
    with session_scope(engine) as session:
        for day, kind, tags in session.execute(
            select(DeadlineRow.date, DeadlineRow.kind, DeadlineRow.tags)  # type: ignore[call-overload]
        ):
            for tag in {"", *tags.split(",")}:  # a tag written twice counts once
                found[(tag, day, kind)] += 1
    return found


def retag(engine: Engine) -> set[tuple[str, date, str, str, str]]:
    """``deadline_tags`` as it should be, from the deadline rows."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                DeadlineRow.tags,
                DeadlineRow.date,
                DeadlineRow.agreement_id,
                DeadlineRow.kind,
                DeadlineRow.party,
            )  # type: ignore[call-overload]
        ).all()
    return {(t, d, a, k, p) for tags, d, a, k, p in rows for t in tags.split(",") if t}


def stored_tags(engine: Engine) -> set[tuple[str, date, str, str, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                DeadlineTagRow.tag,
                DeadlineTagRow.date,
                DeadlineTagRow.agreement_id,
                DeadlineTagRow.kind,
                DeadlineTagRow.party,
            )  # type: ignore[call-overload]
        ).all()
    return {tuple(row) for row in rows}  # type: ignore[misc]


def consistent(engine: Engine) -> bool:
    """Both tables kept by the triggers equal what the deadline rows say."""
    return stored_counts(engine) == recount(engine) and stored_tags(engine) == retag(engine)


def stored_counts(engine: Engine) -> Counter[tuple[str, date, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                DeadlineCountRow.tag,
                DeadlineCountRow.date,
                DeadlineCountRow.kind,
                DeadlineCountRow.n,
            )  # type: ignore[call-overload]
        ).all()
    return Counter({(tag, day, kind): n for tag, day, kind, n in rows})


def version(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(DataVersionRow.version)) or 0)  # type: ignore[call-overload]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(SEEDS_DIR, tmp_path / "agreements")
    (tmp_path / "agreements" / "odd-tags.yaml").write_text(ODD, encoding="utf-8")
    return tmp_path / "agreements"


def test_counts_follow_every_kind_of_write(engine: Engine, folder: Path) -> None:
    assert stored_counts(engine) == Counter()
    import_agreements(engine, load_paths([folder]), origin="import", now=NOW)
    assert consistent(engine)
    counts = stored_counts(engine)
    # the odd tags are counted under their own names, each beside the all-agreements row
    assert {tag for tag, _, _ in counts} >= {"", *ODD_TAGS}
    assert sum(n for (tag, _, _), n in counts.items() if tag == 'say "no"') > 0

    materialize_deadlines(engine, as_of=AS_OF, end=END)
    assert consistent(engine)

    with session_scope(engine) as session:
        forget_deadlines(session, ["odd-tags", "kr-jp-gsomia"])
    assert consistent(engine)
    assert not any(tag in ODD_TAGS for tag, _, _ in stored_counts(engine))  # zero rows dropped

    delete_api_agreement(engine, "abm-treaty", now=NOW)
    assert consistent(engine)
    with engine.begin() as connection:  # by hand, as another program would
        connection.execute(text("DELETE FROM deadlines WHERE kind = 'expiry'"))
    assert consistent(engine)

    materialize_deadlines(engine, as_of=AS_OF, end=END)
    assert consistent(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE deadlines SET tags = ',moved,' WHERE kind = 'expiry'"))
    assert consistent(engine)
    # Tags an older version may have stored: control characters, a JSON-looking one.
    odd = ",tab\there,new\nline,[1],"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO deadlines (agreement_id, kind, date, party, title, explanation,"
                " tags) VALUES ('kr-jp-gsomia', 'milestone', '2027-01-01', '', 't', 'e', :tags)"
            ),
            {"tags": odd},
        )
    assert consistent(engine)
    assert {tag for tag, _, _ in stored_counts(engine)} >= {"tab\there", "new\nline", "[1]"}
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM deadlines WHERE kind = 'milestone'"))
    assert consistent(engine)


def test_upgrading_a_database_with_deadlines_fills_both_tables(
    engine: Engine, folder: Path
) -> None:
    import_agreements(engine, load_paths([folder]), origin="import", now=NOW)
    materialize_deadlines(engine, as_of=AS_OF, end=END)
    downgrade(engine, "0005")  # the deadlines stay; the tables and triggers go

    upgrade(engine)

    assert consistent(engine)
    assert retag(engine) != set()  # there was something to fill


def test_every_write_raises_the_data_version(engine: Engine, folder: Path) -> None:
    seen = [version(engine)]

    def raised() -> bool:
        seen.append(version(engine))
        return seen[-1] > seen[-2]

    import_agreements(engine, load_paths([folder]), origin="import", now=NOW)
    assert raised()
    if engine.dialect.name == "postgresql":
        # Once per transaction, however many rows and statements it writes (row-level
        # triggers on SQLite raise it per row).
        assert seen[-1] == seen[-2] + 1
    materialize_deadlines(engine, as_of=AS_OF, end=END)
    assert raised()
    store_like_an_older_version(engine)  # an insert that knows nothing of versions
    assert raised()
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM deadline_horizons WHERE agreement_id = 'abm-treaty'"))
    assert raised()
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE agreement_id = 'kr-jp-gsomia'"))
    assert raised()
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM agreements WHERE id = '{BROKEN_ID}'"))
    assert raised()
    assert version(engine) == seen[-1]  # reading changes nothing


QUERIES = [
    {},
    {"kind": ("expiry",)},
    {"kind": ("expiry", "notice_deadline")},
    {"tag": ("bilateral",)},
    {"tag": ('say "no"',)},
    {"tag": ("twice",)},
    {"tag": ("bilateral", "nuclear")},  # two tags: counted row by row
    {"tag": ("multilateral",), "kind": ("notice_deadline",)},
    {"agreement": ("kr-jp-gsomia", "odd-tags")},
    {"tag": ("no-such-tag",)},
]


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
@pytest.mark.parametrize("as_of", [AS_OF, AS_OF + timedelta(days=120)], ids=["stored", "later"])
def test_the_count_of_a_query_is_the_computed_one(
    engine: Engine, folder: Path, query: dict[str, tuple[str, ...]], as_of: date
) -> None:
    import_agreements(engine, load_paths([folder]), origin="import", now=NOW)
    materialize_deadlines(engine, as_of=AS_OF, end=END)
    window = {"as_of": as_of, "start": as_of, "end": as_of + timedelta(days=200)}

    got = query_deadlines(engine, **window, **query, limit=3)  # type: ignore[arg-type]

    with session_scope(engine) as session:
        full = {"agreement": (), "kind": (), "tag": (), **query}
        expected = computed_deadlines(session, **window, **full, limit=None, offset=0)  # type: ignore[arg-type]
    assert got.total == expected.total
    assert [d.to_dict() for d in got.deadlines] == [d.to_dict() for d in expected.deadlines[:3]]
    deeper = query_deadlines(engine, **window, **query, limit=4, offset=2)  # type: ignore[arg-type]
    assert [d.to_dict() for d in deeper.deadlines] == [d.to_dict() for d in expected.deadlines[2:6]]


def test_an_agreement_written_by_hand_is_seen_at_once(engine: Engine, folder: Path) -> None:
    # The coverage verdict is remembered per data version: a row inserted by another program
    # (no deadlines stored for it) must turn the next answer into a computed one.
    import_agreements(engine, load_paths([folder]), origin="import", now=NOW)
    materialize_deadlines(engine, as_of=AS_OF, end=END)
    window = {"as_of": AS_OF, "start": AS_OF, "end": END}
    before = query_deadlines(engine, **window)  # type: ignore[arg-type]
    assert before.failures == []

    store_like_an_older_version(engine)

    after = query_deadlines(engine, **window)  # type: ignore[arg-type]
    assert [f.agreement for f in after.failures] == [BROKEN_ID]
    assert after.total == before.total
