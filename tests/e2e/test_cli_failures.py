"""The installed ``tracker`` command facing hostile or broken data: an agreement whose
deadlines cannot be computed (stored by an older version, or in a file to import), and text
that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tests.e2e.test_cli_files import TRACKER
from tests.support.agreements import (
    BROKEN_ID,
    LIMIT_MESSAGE,
    STORED_DETAIL,
    agreement_yaml,
    store_like_an_older_version,
    write,
)
from tracker.store.engine import make_engine, session_scope
from tracker.store.repository import list_agreement_rows

Run = Callable[..., subprocess.CompletedProcess[str]]
WINDOW = ["--as-of", "2020-08-07", "--within", "120d"]
BROKEN_FILE = f"""\
version: 1
id: {BROKEN_ID}
title: Broken Pact
parties: [AA, BB]
rules:
  - kind: fixed_term
    expires: 0001-01-01
    notice: 90 days
"""


@pytest.fixture
def run(tmp_path: Path, db_url: str) -> Run:
    """``tracker ARGS`` in a subprocess, in an empty folder, on SQLite and PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_DATABASE_URL"] = db_url
    env.pop("COLUMNS", None)
    workdir = tmp_path / "work"
    workdir.mkdir()

    def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TRACKER, *map(str, args)], cwd=workdir, env=env, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip

    return _run


def stored_ids(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        # A refused import may stop before it creates the tables: nothing stored either way.
        if not inspect(engine).has_table("agreements"):
            return []
        with session_scope(engine) as session:
            return [row.id for row in list_agreement_rows(session)]
    finally:
        engine.dispose()


def test_deadlines_from_the_database_list_the_others_warn_of_the_broken_one_and_exit_1(
    run: Run, db_url: str, tmp_path: Path
) -> None:
    good = write(tmp_path / "in", "kr-jp-gsomia.yaml", agreement_yaml("kr-jp-gsomia"))
    assert run("import", good).returncode == 0
    clean = run("deadlines", *WINDOW, "--format", "json")
    engine = make_engine(db_url)
    try:
        store_like_an_older_version(engine)
    finally:
        engine.dispose()

    result = run("deadlines", *WINDOW, "--format", "json")

    assert result.returncode == 1
    assert result.stdout == clean.stdout
    assert json.loads(result.stdout) != []
    assert result.stderr == (
        f"warning: {BROKEN_ID}: {STORED_DETAIL}\n"
        "Error: 1 agreement could not be computed (see the warnings above)\n"
    )
    explained = run("explain", BROKEN_ID)
    assert (explained.returncode, explained.stdout) == (1, "")
    assert explained.stderr == f"Error: agreement '{BROKEN_ID}': {STORED_DETAIL}\n"


def test_import_of_a_file_whose_deadlines_cannot_be_computed_stores_nothing(
    run: Run, db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    write(folder, "a-good.yaml", agreement_yaml("a-good"))
    broken = write(folder, f"{BROKEN_ID}.yaml", BROKEN_FILE)

    result = run("import", folder)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"{broken}:8:5: {LIMIT_MESSAGE}\n"
    assert stored_ids(db_url) == []


def test_csv_text_cells_that_a_spreadsheet_would_run_get_a_quote_and_numbers_stay_numbers(
    run: Run, tmp_path: Path
) -> None:
    hostile = write(
        tmp_path / "in",
        "hostile.yaml",
        """\
version: 1
id: hostile
title: "=HYPERLINK(\\"https://evil.example\\",\\"click\\")"
parties: [AA, BB]
sources:
  - cite: "@SUM(1+1)"
rules:
  - kind: milestone
    label: "+cmd|' /C calc'!A0"
    date: 2020-08-01
    source: "@SUM(1+1)"
  - kind: milestone
    label: "-2+3"
    date: 2020-08-10
  - kind: milestone
    label: plain
    date: 2020-08-13
""",
    )

    result = run("deadlines", "-a", hostile, "--as-of", "2020-08-07", "--from", "2020-07-01",
                 "--to", "2020-08-31", "--format", "csv")  # fmt: skip

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    title = '\'=HYPERLINK("https://evil.example","click")'
    assert [(r["title"], r["label"], r["days_left"], r["source"]) for r in rows] == [
        (title, "'+cmd|' /C calc'!A0", "-6", "'@SUM(1+1)"),
        (title, "'-2+3", "3", ""),
        (title, "plain", "6", ""),
    ]
    # The negative number is written bare, so a spreadsheet reads it as the number -6.
    assert "\n'=HYPERLINK" not in result.stdout
    assert ",-6," in result.stdout
