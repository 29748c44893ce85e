"""Agreements in the database: import, API writes, ownership by origin, export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tracker.errors import ConflictError, NotFoundError, ValidationFailed
from tracker.loader import LoadedAgreement, load_paths, load_text
from tracker.store.engine import make_engine, session_scope
from tracker.store.migrate import upgrade
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
from tracker.store.tables import AgreementRow, EventRow, ReminderRow

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def agreement_yaml(
    agreement_id: str, *, title: str = "Test agreement", tags: str = "security",
    notice: str = "90 days", events: str = "",
) -> str:
    return f"""\
version: 1
id: {agreement_id}
title: {title}
parties: [KR, JP]
tags: [{tags}]
rules:
  - kind: auto_renewal
    first_expiry: 2017-11-22
    renewal_term: 1 year
    notice: {notice}
{events}"""


GSOMIA_EVENTS = """\
events:
  - {date: 2019-08-23, type: notice_given, party: KR, note: suspended later}
  - {date: 2019-11-22, type: notice_suspended, party: KR}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def api_body(agreement_id: str, **kwargs: str) -> LoadedAgreement:
    return load_text(agreement_yaml(agreement_id, **kwargs), content_type="application/yaml")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def snapshot(engine: Engine) -> list[tuple[str, str, str, int, str]]:
    with session_scope(engine) as session:
        return [(r.id, r.origin, r.sha256, r.revision, r.source_text)
                for r in list_agreement_rows(session)]


def add_reminder(engine: Engine, agreement_id: str, *, status: str, key: str) -> None:
    with session_scope(engine) as session:
        session.add(ReminderRow(
            agreement_id=agreement_id, deadline_kind="notice_deadline",
            deadline_date=date(2027, 8, 24), offset=key, channel="log",
            webhook_id=f"msg_{agreement_id}_{key}", due_at=NOW, status=status,
            next_attempt_at=NOW, deadline_json="{}", created_at=NOW, updated_at=NOW,
        ))


def reminder_statuses(engine: Engine, agreement_id: str) -> dict[str, str]:
    with session_scope(engine) as session:
        rows = session.scalars(select(ReminderRow).where(ReminderRow.agreement_id == agreement_id))
        return {r.offset: r.status for r in rows}


def test_import_adds_agreements_and_mirrors_their_events(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", agreement_yaml("kr-jp-gsomia", events=GSOMIA_EVENTS))
    write(tmp_path, "b.yaml", agreement_yaml("other", tags="trade, japan"))

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
    assert (row.origin, row.revision, row.tags, row.updated_at) == ("import", 1, ",trade,japan,", NOW)
    assert row.path == str(tmp_path / "b.yaml")


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
