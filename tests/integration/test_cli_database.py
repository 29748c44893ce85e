"""``tracker import``, ``tracker export`` and ``tracker db`` against a real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect
from typer.testing import CliRunner, Result

from tests.support.agreements import agreement_yaml, write
from tracker.app.status import database_label
from tracker.cli import app
from tracker.loader import load_paths
from tracker.store.engine import make_engine, session_scope
from tracker.store.migrate import current_revision
from tracker.store.repository import import_agreements, list_agreement_rows
from tracker.store.sync import sync_directory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def tracker(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    # A folder without config/tracker.yaml, so only the environment configures the command.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKER_CONFIG", raising=False)
    monkeypatch.setenv("TRACKER_DATABASE_URL", db_url)
    yield CliRunner()


def label(db_url: str) -> str:
    """The database as the commands name it: a password never shows."""
    shown = database_label(db_url)
    assert "@" not in db_url or "***@" in shown
    return shown


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def stored(db_url: str) -> dict[str, tuple[str, str, int]]:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            return {r.id: (r.origin, r.title, r.revision) for r in list_agreement_rows(session)}
    finally:
        engine.dispose()


def test_import_migrates_a_fresh_database_and_reports_what_it_added(
    tracker: CliRunner, db_url: str, tmp_path: Path
) -> None:
    write(tmp_path / "in", "a.yaml", agreement_yaml("a"))
    write(tmp_path / "in", "b.yaml", agreement_yaml("b"))

    result = run(tracker, "import", str(tmp_path / "in"))

    assert (result.exit_code, result.stdout) == (
        0,
        f"imported 2 agreements into {label(db_url)} (2 added, 0 updated)\n",
    )
    assert stored(db_url) == {
        "a": ("import", "Test agreement", 1),
        "b": ("import", "Test agreement", 1),
    }


def test_reimporting_unchanged_and_changed_files_says_which_is_which(
    tracker: CliRunner, db_url: str, tmp_path: Path
) -> None:
    write(tmp_path / "in", "a.yaml", agreement_yaml("a"))
    changed = write(tmp_path / "in", "b.yaml", agreement_yaml("b"))
    run(tracker, "import", str(tmp_path / "in"))
    changed.write_text(agreement_yaml("b", title="Amended"), encoding="utf-8")

    result = run(tracker, "import", str(tmp_path / "in"))

    assert result.stdout == (
        f"imported 2 agreements into {label(db_url)} (0 added, 1 updated, 1 unchanged)\n"
    )
    assert stored(db_url) == {"a": ("import", "Test agreement", 1), "b": ("import", "Amended", 2)}


def test_a_bad_file_fails_the_whole_import_and_leaves_the_database_as_it_was(
    tracker: CliRunner, db_url: str, tmp_path: Path
) -> None:
    write(tmp_path / "v1", "a.yaml", agreement_yaml("a"))
    run(tracker, "import", str(tmp_path / "v1"))
    write(tmp_path / "v2", "a.yaml", agreement_yaml("a", title="Changed"))
    write(tmp_path / "v2", "b.yaml", agreement_yaml("b"))
    bad = write(tmp_path / "v2", "c.yaml", agreement_yaml("c", notice="90 dais"))

    result = run(tracker, "import", str(tmp_path / "v2"))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{bad}:11:5: rules[0].notice: '90 dais' is not a duration (examples: '90 days', 'P3M')\n"
    )
    assert stored(db_url) == {"a": ("import", "Test agreement", 1)}


def test_importing_over_a_watched_file_agreement_is_refused(
    tracker: CliRunner, db_url: str, tmp_path: Path
) -> None:
    watched = write(tmp_path / "seeds", "x.yaml", agreement_yaml("x"))
    run(tracker, "db", "upgrade")
    engine = make_engine(db_url)
    sync_directory(engine, tmp_path / "seeds", now=NOW)
    engine.dispose()
    write(tmp_path / "mine", "x.yaml", agreement_yaml("x", title="My copy"))

    result = run(tracker, "import", str(tmp_path / "mine"))

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: agreement 'x' is read-only: it comes from file {watched}; edit the file instead\n"
    )
    assert stored(db_url) == {"x": ("file", "Test agreement", 1)}


def test_export_prints_yaml_documents_that_load_back_as_the_same_agreements(
    tracker: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "in", "a.yaml", agreement_yaml("a"))
    write(tmp_path / "in", "b.yaml", agreement_yaml("b", title="Bee"))
    run(tracker, "import", str(tmp_path / "in"))
    originals = {item.agreement.id: item.agreement for item in load_paths([tmp_path / "in"])}

    everything = run(tracker, "export")
    one = run(tracker, "export", "b")

    assert everything.exit_code == 0
    assert [doc["id"] for doc in yaml.safe_load_all(everything.stdout)] == ["a", "b"]
    assert everything.stdout == agreement_yaml("a") + "---\n" + agreement_yaml("b", title="Bee")
    assert one.stdout == agreement_yaml("b", title="Bee")
    out = tmp_path / "out"
    written = run(tracker, "export", "--out", str(out))
    assert written.stdout == f"exported 2 agreements to {out}\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.yaml", "b.yaml"]
    assert {i.agreement.id: i.agreement for i in load_paths([out])} == originals


def test_export_of_an_unknown_id_fails_and_names_it(tracker: CliRunner, tmp_path: Path) -> None:
    result = run(tracker, "export", "nope")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: no agreement 'nope'\n"


def test_db_commands_upgrade_report_and_downgrade_the_schema(
    tracker: CliRunner, db_url: str
) -> None:
    engine = make_engine(db_url)
    try:
        assert run(tracker, "db", "current").stdout == "none (empty database)\n"
        assert run(tracker, "db", "upgrade").stdout == (
            f"database {label(db_url)} at revision 0006 (head)\n"
        )
        assert run(tracker, "db", "upgrade").exit_code == 0  # idempotent
        assert run(tracker, "db", "current").stdout == "0006 (head)\n"
        assert current_revision(engine) == "0006"

        down = run(tracker, "db", "downgrade")

        assert down.stdout == f"database {label(db_url)} at revision none (empty database)\n"
        assert inspect(engine).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()


def test_an_unknown_revision_is_an_error_not_a_traceback(tracker: CliRunner) -> None:
    result = run(tracker, "db", "upgrade", "zzz")
    assert result.exit_code == 1
    assert result.stderr == "Error: Can't locate revision identified by 'zzz'\n"


def test_import_through_the_library_and_the_cli_agree_on_origin(
    tracker: CliRunner, db_url: str, tmp_path: Path
) -> None:
    # The CLI is a thin shell: what it stores is what import_agreements stores.
    write(tmp_path / "in", "a.yaml", agreement_yaml("a"))
    run(tracker, "db", "upgrade")
    engine = make_engine(db_url)
    report = import_agreements(engine, load_paths([tmp_path / "in"]), origin="import", now=NOW)
    engine.dispose()

    result = run(tracker, "import", str(tmp_path / "in"))

    assert report.added == ["a"]
    assert result.stdout == (
        f"imported 1 agreement into {label(db_url)} (0 added, 0 updated, 1 unchanged)\n"
    )
