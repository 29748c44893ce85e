"""The watched folder and the database stay in step, safely with several writers."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.support.agreements import (
    BROKEN,
    BROKEN_ID,
    LIMIT_MESSAGE,
    agreement_yaml,
    write,
)
from tests.support.concurrency import run_together
from tracker.loader import load_text
from tracker.store.engine import make_engine, session_scope
from tracker.store.repository import (
    get_agreement,
    get_agreement_row,
    list_agreement_rows,
    save_api_agreement,
)
from tracker.store.sync import DirectoryWatcher, SyncReport, sync_directory
from tracker.store.tables import DeadlineHorizonRow, EventRow, ReminderRow

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def stored(engine: Engine) -> dict[str, tuple[str, str, int]]:
    with session_scope(engine) as session:
        return {r.id: (r.origin, r.title, r.revision) for r in list_agreement_rows(session)}


def test_sync_adds_new_files_and_a_second_sync_finds_nothing_to_do(
    engine: Engine, tmp_path: Path
) -> None:
    write(tmp_path, "a.yaml", agreement_yaml("a"))
    write(tmp_path / "sub", "b.yml", agreement_yaml("b"))

    first = sync_directory(engine, tmp_path, now=NOW)
    second = sync_directory(engine, tmp_path, now=LATER)

    assert first == SyncReport(added=["a", "b"])
    assert first.changed
    assert second == SyncReport(unchanged=["a", "b"])
    assert not second.changed
    assert stored(engine) == {
        "a": ("file", "Test agreement", 1),
        "b": ("file", "Test agreement", 1),
    }


def test_a_changed_file_updates_its_agreement_and_its_events(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.yaml", agreement_yaml("a"))
    sync_directory(engine, tmp_path, now=NOW)
    path.write_text(
        agreement_yaml(
            "a",
            title="Amended",
            events="""\
events:
  - {date: 2019-08-23, type: notice_given, party: KR}
""",
        ),
        encoding="utf-8",
    )

    report = sync_directory(engine, tmp_path, now=LATER)

    assert report == SyncReport(updated=["a"])
    assert stored(engine) == {"a": ("file", "Amended", 2)}
    with session_scope(engine) as session:
        events = session.scalars(select(EventRow)).all()
        assert get_agreement_row(session, "a").updated_at == LATER
    assert [(e.agreement_id, e.date, e.type) for e in events] == [
        ("a", date(2019, 8, 23), "notice_given")
    ]


def test_a_removed_file_removes_its_agreement_and_cancels_its_pending_reminders(
    engine: Engine, tmp_path: Path
) -> None:
    write(tmp_path, "a.yaml", agreement_yaml("a"))
    gone = write(tmp_path, "b.yaml", agreement_yaml("b"))
    sync_directory(engine, tmp_path, now=NOW)
    with session_scope(engine) as session:
        session.add(
            ReminderRow(
                agreement_id="b",
                deadline_kind="expiry",
                deadline_date=date(2027, 11, 22),
                offset="7 days",
                channel="log",
                webhook_id="msg_b",
                due_at=NOW,
                status="pending",
                next_attempt_at=NOW,
                deadline_json="{}",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    gone.unlink()

    report = sync_directory(engine, tmp_path, now=LATER)

    assert report == SyncReport(removed=["b"], unchanged=["a"])
    assert set(stored(engine)) == {"a"}
    with session_scope(engine) as session:
        reminder = session.scalars(select(ReminderRow)).one()
    assert (reminder.status, reminder.reason, reminder.updated_at) == (
        "cancelled",
        "agreement file removed",
        LATER,
    )


def test_sync_never_touches_agreements_written_through_the_api(
    engine: Engine, tmp_path: Path
) -> None:
    save_api_agreement(
        engine, load_text(agreement_yaml("mine", title="API copy")), now=NOW, replace=False
    )
    save_api_agreement(engine, load_text(agreement_yaml("other-api")), now=NOW, replace=False)
    write(tmp_path, "mine.yaml", agreement_yaml("mine", title="File copy"))
    write(tmp_path, "f.yaml", agreement_yaml("f"))

    report = sync_directory(engine, tmp_path, now=LATER)

    assert report == SyncReport(added=["f"], skipped=["mine"])
    assert stored(engine) == {
        "f": ("file", "Test agreement", 1),
        "mine": ("api", "API copy", 1),
        "other-api": ("api", "Test agreement", 1),
    }


def test_a_file_takes_over_an_agreement_that_was_imported_once(
    engine: Engine, tmp_path: Path
) -> None:
    from tracker.loader import load_paths
    from tracker.store.repository import import_agreements

    write(tmp_path / "once", "a.yaml", agreement_yaml("a", title="Imported"))
    import_agreements(engine, load_paths([tmp_path / "once"]), origin="import", now=NOW)
    write(tmp_path / "watched", "a.yaml", agreement_yaml("a", title="Watched"))

    report = sync_directory(engine, tmp_path / "watched", now=LATER)

    assert report == SyncReport(updated=["a"])
    assert stored(engine) == {"a": ("file", "Watched", 2)}


def test_a_bad_file_does_not_stop_the_valid_files_from_syncing(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.yaml", agreement_yaml("a"))
    gone = write(tmp_path, "b.yaml", agreement_yaml("b"))
    sync_directory(engine, tmp_path, now=NOW)
    path.write_text(agreement_yaml("a", title="Changed"), encoding="utf-8")
    gone.unlink()
    bad = write(tmp_path, "c.yaml", agreement_yaml("c", notice="90 dais"))

    report = sync_directory(engine, tmp_path, now=LATER)

    # The change and the deletion are applied; the bad file is reported, never half-read.
    assert (report.updated, report.removed, report.added, report.kept) == (["a"], ["b"], [], [])
    assert list(report.invalid_files) == [str(bad)]
    [error] = report.invalid_files[str(bad)]
    assert error.startswith(f"{bad}:") and "rules[0].notice: '90 dais' is not a duration" in error
    assert stored(engine) == {"a": ("file", "Changed", 2)}


def test_a_file_that_turns_invalid_keeps_its_agreement_as_it_was(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.yaml", agreement_yaml("a"))
    write(tmp_path, "b.yaml", agreement_yaml("b"))
    sync_directory(engine, tmp_path, now=NOW)
    path.write_text(agreement_yaml("a", title="Half edited", notice="90 dais"), encoding="utf-8")

    report = sync_directory(engine, tmp_path, now=LATER)

    # Deleting it (and cancelling its reminders) over a typo would be worse than waiting.
    assert (report.kept, report.removed, list(report.invalid_files)) == (["a"], [], [str(path)])
    assert stored(engine) == {
        "a": ("file", "Test agreement", 1),
        "b": ("file", "Test agreement", 1),
    }


def test_a_second_file_with_an_id_already_used_is_the_invalid_one(
    engine: Engine, tmp_path: Path
) -> None:
    # An id is its file's name, so a twin can only sit in another folder (found later).
    write(tmp_path, "a.yaml", agreement_yaml("a"))
    (tmp_path / "z").mkdir()
    twin = write(tmp_path, "z/a.yaml", agreement_yaml("a", title="Twin"))

    report = sync_directory(engine, tmp_path, now=NOW)

    assert (report.added, list(report.invalid_files)) == (["a"], [str(twin)])
    assert "duplicate agreement id 'a'" in report.invalid_files[str(twin)][0]
    assert stored(engine) == {"a": ("file", "Test agreement", 1)}


def test_a_file_whose_dates_leave_the_calendar_is_invalid_and_the_others_sync(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.yaml", agreement_yaml("a"))
    sync_directory(engine, tmp_path, now=NOW)
    path.write_text(agreement_yaml("a", title="Changed"), encoding="utf-8")
    broken = write(tmp_path, f"{BROKEN_ID}.yaml", yaml.safe_dump(BROKEN, sort_keys=False))

    report = sync_directory(engine, tmp_path, now=LATER)

    assert report.invalid_files == {str(broken): [f"{broken}:12:3: {LIMIT_MESSAGE}"]}
    assert stored(engine) == {"a": ("file", "Changed", 2)}
    with session_scope(engine) as session:
        assert session.scalars(select(DeadlineHorizonRow.agreement_id)).all() == ["a"]


def test_replicas_syncing_at_once_end_with_one_consistent_copy(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    for i in range(20):
        write(
            tmp_path,
            f"a{i:02}.yaml",
            agreement_yaml(
                f"a{i:02}",
                events="""\
events:
  - {date: 2019-08-23, type: notice_given, party: KR}
""",
            ),
        )
    replicas = [make_engine(db_url) for _ in range(4)]
    reports, errors = run_together(
        lambda engine: sync_directory(engine, tmp_path, now=NOW), replicas
    )
    for replica_engine in replicas:
        replica_engine.dispose()

    assert errors == []
    assert sorted(len(r.added) for r in reports) == [0, 0, 0, 20]
    assert stored(engine) == {f"a{i:02}": ("file", "Test agreement", 1) for i in range(20)}
    with session_scope(engine) as session:
        assert len(session.scalars(select(EventRow)).all()) == 20
    assert get_agreement(engine, "a07").events[0].party == "KR"


def test_the_watcher_notices_added_changed_and_removed_files_only(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", agreement_yaml("a"))
    watcher = DirectoryWatcher(tmp_path)

    assert watcher.changed()  # the first look always counts as a change
    assert not watcher.changed()
    write(tmp_path, "notes.txt", "not an agreement")
    write(tmp_path / ".git", "x.yaml", "hidden")
    assert not watcher.changed()
    write(tmp_path, "b.yaml", agreement_yaml("b"))
    assert watcher.changed()
    assert not watcher.changed()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert watcher.changed()
    path.unlink()
    assert watcher.changed()
    assert not watcher.changed()


def test_the_watcher_treats_a_missing_folder_as_empty(tmp_path: Path) -> None:
    watcher = DirectoryWatcher(tmp_path / "absent")
    watcher.changed()
    assert not watcher.changed()
    write(tmp_path / "absent", "a.yaml", agreement_yaml("a"))
    assert watcher.changed()
