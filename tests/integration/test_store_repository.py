"""Agreements in the database: import, API writes, ownership by origin, export."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tests.support.agreements import agreement_yaml, write
from tests.support.concurrency import run_together
from tracker.domain.deadline import Deadline
from tracker.domain.rules import compute_all
from tracker.errors import ConflictError, NotFoundError, ValidationFailed
from tracker.loader import LoadedAgreement, load_paths, load_text
from tracker.store.deadlines import DEFAULT_HORIZON_DAYS, materialize_deadlines, query_deadlines
from tracker.store.engine import make_engine, session_scope
from tracker.store.repository import (
    delete_api_agreement,
    export_agreements,
    get_agreement,
    get_agreement_row,
    import_agreements,
    list_agreement_rows,
    list_agreements,
    save_api_agreement,
)
from tracker.store.tables import (
    AgreementRow,
    DeadlineHorizonRow,
    DeadlineRow,
    EventRow,
    ReminderRow,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


GSOMIA_EVENTS = """\
events:
  - {date: 2019-08-23, type: notice_given, party: KR, note: suspended later}
  - {date: 2019-11-22, type: notice_suspended, party: KR}
"""


def api_body(agreement_id: str, **kwargs: str) -> LoadedAgreement:
    return load_text(agreement_yaml(agreement_id, **kwargs), content_type="application/yaml")


def snapshot(engine: Engine) -> list[tuple[str, str, str, int, str]]:
    with session_scope(engine) as session:
        return [
            (r.id, r.origin, r.sha256, r.revision, r.source_text)
            for r in list_agreement_rows(session)
        ]


def add_reminder(engine: Engine, agreement_id: str, *, status: str, key: str) -> None:
    with session_scope(engine) as session:
        session.add(
            ReminderRow(
                agreement_id=agreement_id,
                deadline_kind="notice_deadline",
                deadline_date=date(2027, 8, 24),
                offset=key,
                channel="log",
                webhook_id=f"msg_{agreement_id}_{key}",
                due_at=NOW,
                status=status,
                next_attempt_at=NOW,
                deadline_json="{}",
                created_at=NOW,
                updated_at=NOW,
            )
        )


def reminder_statuses(engine: Engine, agreement_id: str) -> dict[str, str]:
    with session_scope(engine) as session:
        rows = session.scalars(select(ReminderRow).where(ReminderRow.agreement_id == agreement_id))
        return {r.offset: r.status for r in rows}


def test_import_adds_agreements_and_mirrors_their_events(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path, "kr-jp-gsomia.yaml", agreement_yaml("kr-jp-gsomia", events=GSOMIA_EVENTS))
    write(tmp_path, "other.yaml", agreement_yaml("other", tags="trade, japan"))

    report = import_agreements(engine, load_paths([tmp_path]), origin="import", now=NOW)

    assert (report.added, report.updated, report.unchanged) == (["kr-jp-gsomia", "other"], [], [])
    assert [a.id for a in list_agreements(engine)] == ["kr-jp-gsomia", "other"]
    assert [a.id for a in list_agreements(engine, tag="japan")] == ["other"]
    with session_scope(engine) as session:
        events = session.scalars(select(EventRow).order_by(EventRow.date)).all()
        row = get_agreement_row(session, "other")
    assert [(e.agreement_id, e.date, e.type, e.party) for e in events] == [
        ("kr-jp-gsomia", date(2019, 8, 23), "notice_given", "KR"),
        ("kr-jp-gsomia", date(2019, 11, 22), "notice_suspended", "KR"),
    ]
    assert (row.origin, row.revision, row.tags, row.updated_at) == (
        "import",
        1,
        ",trade,japan,",
        NOW,
    )
    assert row.path == str(tmp_path / "other.yaml")


def test_reimporting_the_same_files_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", agreement_yaml("a"))
    import_agreements(engine, load_paths([tmp_path]), origin="import", now=NOW)
    before = snapshot(engine)

    report = import_agreements(engine, load_paths([tmp_path]), origin="import", now=LATER)

    assert (report.added, report.updated, report.unchanged) == ([], [], ["a"])
    assert snapshot(engine) == before
    with session_scope(engine) as session:
        assert get_agreement_row(session, "a").updated_at == NOW


def test_importing_a_changed_file_updates_its_agreement_and_events(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.yaml", agreement_yaml("a", events=GSOMIA_EVENTS))
    import_agreements(engine, load_paths([tmp_path]), origin="import", now=NOW)
    path.write_text(agreement_yaml("a", title="Renamed"), encoding="utf-8")

    report = import_agreements(engine, load_paths([tmp_path]), origin="import", now=LATER)

    assert report.updated == ["a"]
    assert get_agreement(engine, "a").title == "Renamed"
    with session_scope(engine) as session:
        assert get_agreement_row(session, "a").revision == 2
        assert session.scalars(select(EventRow)).all() == []


def test_a_batch_with_one_bad_file_is_rejected_and_the_previous_state_stays(
    engine: Engine, tmp_path: Path
) -> None:
    write(tmp_path / "v1", "a.yaml", agreement_yaml("a"))
    import_agreements(engine, load_paths([tmp_path / "v1"]), origin="import", now=NOW)
    before = snapshot(engine)
    write(tmp_path / "v2", "a.yaml", agreement_yaml("a", title="Changed"))
    write(tmp_path / "v2", "b.yaml", agreement_yaml("b"))
    write(tmp_path / "v2", "c.yaml", agreement_yaml("c", notice="90 dais"))

    with pytest.raises(ValidationFailed) as failure:
        import_agreements(engine, load_paths([tmp_path / "v2"]), origin="import", now=LATER)

    assert "rules[0].notice" in str(failure.value)
    assert snapshot(engine) == before


def test_an_import_that_fails_in_the_database_writes_none_of_its_agreements(
    engine: Engine, tmp_path: Path
) -> None:
    # "b" is owned by the watched folder, so the batch is refused after "a" was written.
    write(tmp_path / "watched", "b.yaml", agreement_yaml("b"))
    import_agreements(engine, load_paths([tmp_path / "watched"]), origin="file", now=NOW)
    before = snapshot(engine)
    write(tmp_path / "batch", "a.yaml", agreement_yaml("a"))
    write(tmp_path / "batch", "b.yaml", agreement_yaml("b", title="Edited copy"))

    with pytest.raises(ConflictError, match="agreement 'b' is read-only"):
        import_agreements(engine, load_paths([tmp_path / "batch"]), origin="import", now=LATER)

    assert snapshot(engine) == before


def test_saving_over_a_file_owned_agreement_is_refused_with_the_files_name(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "x.yaml", agreement_yaml("x"))
    import_agreements(engine, load_paths([path]), origin="file", now=NOW)

    with pytest.raises(ConflictError) as refused:
        save_api_agreement(engine, api_body("x", title="Hijack"), now=LATER, replace=True)
    with pytest.raises(ConflictError):
        delete_api_agreement(engine, "x", now=LATER)

    assert str(refused.value) == (
        f"agreement 'x' is read-only: it comes from file {path}; edit the file instead"
    )
    assert get_agreement(engine, "x").title == "Test agreement"


def test_api_creates_replaces_and_refuses_duplicates_and_missing_ids(engine: Engine) -> None:
    created = save_api_agreement(engine, api_body("new"), now=NOW, replace=False)
    with pytest.raises(ConflictError, match="agreement 'new' already exists"):
        save_api_agreement(engine, api_body("new"), now=NOW, replace=False)
    with pytest.raises(NotFoundError, match="no agreement 'ghost'"):
        save_api_agreement(engine, api_body("ghost"), now=NOW, replace=True)

    replaced = save_api_agreement(engine, api_body("new", title="Second"), now=LATER, replace=True)

    assert (created.origin, created.revision, created.path) == ("api", 1, None)
    assert (replaced.title, replaced.revision, replaced.updated_at) == ("Second", 2, LATER)
    assert get_agreement(engine, "new").title == "Second"


def test_deleting_an_agreement_removes_its_events_and_cancels_pending_reminders(
    engine: Engine,
) -> None:
    save_api_agreement(engine, api_body("gone", events=GSOMIA_EVENTS), now=NOW, replace=False)
    add_reminder(engine, "gone", status="pending", key="30 days")
    add_reminder(engine, "gone", status="sent", key="90 days")

    delete_api_agreement(engine, "gone", now=LATER)

    with pytest.raises(NotFoundError, match="no agreement 'gone'"):
        get_agreement(engine, "gone")
    with session_scope(engine) as session:
        assert session.scalars(select(EventRow)).all() == []
    assert reminder_statuses(engine, "gone") == {"30 days": "cancelled", "90 days": "sent"}
    with pytest.raises(NotFoundError):
        delete_api_agreement(engine, "gone", now=LATER)


def test_listing_rows_filters_by_tag_and_pages_in_id_order(engine: Engine) -> None:
    for agreement_id, tags in [("c", "x"), ("a", "x, y"), ("b", "y"), ("d", "xy")]:
        save_api_agreement(engine, api_body(agreement_id, tags=tags), now=NOW, replace=False)

    with session_scope(engine) as session:
        tagged = [r.id for r in list_agreement_rows(session, tag="x")]
        page = [r.id for r in list_agreement_rows(session, limit=2, offset=1)]

    assert tagged == ["a", "c"]  # "xy" is another tag, not a match for "x"
    assert page == ["b", "c"]


def test_export_gives_the_text_as_written_and_it_loads_back_identically(
    engine: Engine, tmp_path: Path
) -> None:
    text = "# a comment the user wrote\n" + agreement_yaml("a", events=GSOMIA_EVENTS)
    write(tmp_path, "a.yaml", text)
    import_agreements(engine, load_paths([tmp_path]), origin="import", now=NOW)

    [(agreement_id, exported)] = export_agreements(engine, ["a"])

    assert (agreement_id, exported) == ("a", text)
    assert load_text(exported).agreement == get_agreement(engine, "a")


def test_export_of_a_json_body_is_yaml_that_loads_back_to_the_same_agreement(
    engine: Engine,
) -> None:
    document = load_text(agreement_yaml("j", events=GSOMIA_EVENTS)).agreement
    body = json.dumps(document.model_dump(mode="json"))
    save_api_agreement(
        engine, load_text(body, content_type="application/json"), now=NOW, replace=False
    )

    [(_, exported)] = export_agreements(engine)

    assert not exported.lstrip().startswith("{")
    assert load_text(exported).agreement == document


def test_export_names_every_unknown_id(engine: Engine) -> None:
    save_api_agreement(engine, api_body("known"), now=NOW, replace=False)
    with pytest.raises(NotFoundError, match="no agreement 'x', 'y'"):
        export_agreements(engine, ["x", "known", "y"])


def test_a_stored_row_reads_back_as_the_agreement_that_was_saved(engine: Engine) -> None:
    body = api_body("r", events=GSOMIA_EVENTS)
    save_api_agreement(engine, body, now=NOW, replace=False)
    with session_scope(engine) as session:
        row = session.get(AgreementRow, "r")
        assert row is not None
    assert get_agreement(engine, "r") == body.agreement


# --- materialised deadlines and the deadline query --------------------------------------

REVIEWED = """\
  - kind: recurring
    label: Review
    first: 2018-01-15
    every: 6 months
"""
NOTICE_2020 = """\
events:
  - {date: 2020-06-01, type: notice_given, party: KR}
"""


def reviewed_yaml(agreement_id: str, *, tags: str, events: str = "") -> str:
    # The auto_renewal rule of agreement_yaml, plus a six-monthly review.
    return agreement_yaml(agreement_id, tags=tags).rstrip("\n") + "\n" + REVIEWED + events


@pytest.fixture
def two_agreements(engine: Engine, tmp_path: Path) -> Engine:
    write(tmp_path, "a.yaml", reviewed_yaml("a", tags="security", events=NOTICE_2020))
    write(tmp_path, "b.yaml", reviewed_yaml("b", tags="trade"))
    import_agreements(engine, load_paths([tmp_path]), origin="import", now=NOW)
    return engine


def rows(deadlines: list[Deadline]) -> list[tuple[str, str, str, int]]:
    return [(d.date.isoformat(), d.agreement, d.kind.value, d.days_left) for d in deadlines]


MAY_1 = date(2020, 5, 1)
JULY_1 = date(2020, 7, 1)
END_2020 = date(2020, 12, 31)


def test_deadlines_are_sorted_by_date_with_days_left_from_the_as_of_day(
    two_agreements: Engine,
) -> None:
    page, total, _ = query_deadlines(two_agreements, as_of=MAY_1, start=MAY_1, end=END_2020)

    assert total == 6
    assert rows(page) == [
        ("2020-07-15", "a", "recurring", 75),
        ("2020-07-15", "b", "recurring", 75),
        ("2020-08-24", "a", "notice_deadline", 115),
        ("2020-08-24", "b", "notice_deadline", 115),
        ("2020-11-22", "a", "expiry", 205),  # a's notice of 2020-06-01 is after as_of
        ("2020-11-22", "b", "expiry", 205),
    ]


def test_deadlines_filter_by_agreement_kind_and_tag_and_paginate(two_agreements: Engine) -> None:
    def query(**filters: Any) -> tuple[list[tuple[str, str, str, int]], int]:
        page, total, _ = query_deadlines(
            two_agreements, as_of=JULY_1, start=JULY_1, end=END_2020, **filters
        )
        return rows(page), total

    assert query(agreement=["a"]) == (
        [
            ("2020-07-15", "a", "recurring", 14),
            ("2020-08-24", "a", "notice_deadline", 54),
            ("2020-11-22", "a", "termination", 144),
        ],
        3,
    )
    assert query(kind=["expiry", "termination"]) == (
        [
            ("2020-11-22", "a", "termination", 144),
            ("2020-11-22", "b", "expiry", 144),
        ],
        2,
    )
    assert query(tag=["trade"], kind=["recurring"]) == ([("2020-07-15", "b", "recurring", 14)], 1)
    assert query(tag=["nothing"]) == ([], 0)
    assert query(limit=2, offset=1) == (
        [
            ("2020-07-15", "b", "recurring", 14),
            ("2020-08-24", "a", "notice_deadline", 54),
        ],
        6,
    )


def test_materialised_deadlines_give_the_same_answers_as_computing_them(
    two_agreements: Engine,
) -> None:
    queries: list[dict[str, Any]] = [
        {},
        {"agreement": ["b"]},
        {"kind": ["recurring"]},
        {"tag": ["security"]},
        {"limit": 3, "offset": 2},
        {"kind": ["notice_deadline"], "tag": ["trade", "security"]},
    ]

    def answers() -> list[tuple[list[dict[str, Any]], int]]:
        results = []
        for filters in queries:
            page, total, _ = query_deadlines(
                two_agreements, as_of=JULY_1, start=JULY_1, end=END_2020, **filters
            )
            results.append(([d.to_dict() for d in page], total))
        return results

    computed = answers()
    written = materialize_deadlines(two_agreements, as_of=JULY_1, end=date(2021, 6, 30))

    # a ends on 2020-11-22 (timely notice): 3 deadlines; b renews: 3, plus its 2021-01-15 review.
    assert written == 7
    assert answers() == computed


def test_queries_read_the_materialised_table_only_when_it_covers_them(
    two_agreements: Engine,
) -> None:
    materialize_deadlines(two_agreements, as_of=JULY_1, end=END_2020)
    with session_scope(two_agreements) as session:
        marked = session.scalars(select(DeadlineRow).where(DeadlineRow.kind == "termination")).one()
        marked.explanation = "read from the table"

    def explanation(*, as_of: date, end: date) -> str:
        page, _, _ = query_deadlines(
            two_agreements,
            as_of=as_of,
            start=as_of,
            end=end,
            agreement=["a"],
            kind=["termination", "expiry"],
        )
        return page[0].explanation

    assert explanation(as_of=JULY_1, end=END_2020) == "read from the table"
    # Beyond the materialised window: computed from the document.
    assert explanation(as_of=JULY_1, end=date(2021, 1, 31)) != "read from the table"
    # As of another day with no event of the agreement between it and the materialised day,
    # the stored rows hold (only which events count and days_left depend on as_of).
    assert explanation(as_of=date(2020, 7, 2), end=END_2020) == "read from the table"


def test_a_query_as_of_an_earlier_day_ignores_events_recorded_after_it(
    two_agreements: Engine,
) -> None:
    materialize_deadlines(two_agreements, as_of=JULY_1, end=END_2020)

    before, _, _ = query_deadlines(
        two_agreements, as_of=MAY_1, start=date(2020, 11, 1), end=END_2020, agreement=["a"]
    )
    after, _, _ = query_deadlines(
        two_agreements, as_of=JULY_1, start=date(2020, 11, 1), end=END_2020, agreement=["a"]
    )

    assert rows(before) == [("2020-11-22", "a", "expiry", 205)]
    assert rows(after) == [("2020-11-22", "a", "termination", 144)]


def test_changing_an_agreement_replaces_its_materialised_deadlines_in_the_same_write(
    two_agreements: Engine, tmp_path: Path
) -> None:
    assert (
        materialize_deadlines(two_agreements, as_of=JULY_1, end=END_2020, agreement_ids=["b"]) == 3
    )
    changed = write(
        tmp_path / "v2",
        "b.yaml",
        reviewed_yaml("b", tags="trade").replace("notice: 90 days", "notice: 30 days"),
    )
    import_agreements(two_agreements, load_paths([changed]), origin="import", now=LATER)

    page, _, _ = query_deadlines(
        two_agreements,
        as_of=JULY_1,
        start=JULY_1,
        end=END_2020,
        agreement=["b"],
        kind=["notice_deadline"],
    )

    assert rows(page) == [("2020-10-23", "b", "notice_deadline", 114)]
    # The import stored b's new deadlines over its own horizon (as of its day, 400 days on):
    # none of the old ones (90 days' notice, as of JULY_1) is left to be served.
    written_on = LATER.date()
    expected = compute_all(
        [get_agreement(two_agreements, "b")],
        as_of=written_on,
        start=written_on,
        end=written_on + timedelta(days=DEFAULT_HORIZON_DAYS),
    )
    with session_scope(two_agreements) as session:
        stored = session.scalars(select(DeadlineRow).order_by(col(DeadlineRow.date))).all()
        horizon = session.get(DeadlineHorizonRow, "b")
        assert horizon is not None
        assert (horizon.as_of, horizon.end, horizon.error) == (
            written_on,
            written_on + timedelta(days=DEFAULT_HORIZON_DAYS),
            None,
        )
    assert [(r.agreement_id, r.kind, r.date) for r in stored] == [
        (d.agreement, d.kind.value, d.date) for d in expected
    ]
    assert expected != []


def test_replicas_materialising_at_once_store_one_copy_of_each_deadline(
    db_url: str, two_agreements: Engine
) -> None:
    replicas = [make_engine(db_url) for _ in range(4)]
    counts, errors = run_together(
        lambda engine: materialize_deadlines(engine, as_of=JULY_1, end=END_2020), replicas
    )
    for replica_engine in replicas:
        replica_engine.dispose()

    assert errors == []
    assert counts == [6, 6, 6, 6]
    with session_scope(two_agreements) as session:
        assert len(session.scalars(select(DeadlineRow)).all()) == 6


def test_the_seed_agreements_give_the_same_deadlines_from_the_table_as_computed(
    engine: Engine, seeds_copy: Path
) -> None:
    import_agreements(engine, load_paths([seeds_copy]), origin="file", now=NOW)
    as_of, end = date(2026, 11, 27), date(2028, 12, 31)

    def everything() -> tuple[list[dict[str, Any]], int]:
        page, total, _ = query_deadlines(engine, as_of=as_of, start=as_of, end=end)
        return [d.to_dict() for d in page], total

    computed = everything()
    written = materialize_deadlines(engine, as_of=as_of, end=end)

    assert written == computed[1] > 0
    assert everything() == computed
