"""The installed ``tracker`` command: validate, deadlines, explain, schema (SPEC 3).

Each test runs the console script in a subprocess from an empty working directory, so no
configuration file of the checkout is read; the database, when used, is a temporary SQLite file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest

from tests.conftest import SEEDS_DIR

TRACKER = str(Path(sys.executable).with_name("tracker"))
DATA = Path(__file__).resolve().parent.parent / "data"
GOOD = DATA / "good"
DEADLINE_FIELDS = [
    "agreement", "title", "kind", "date", "party", "label", "days_left", "explanation",
    "source", "action", "outcome", "weekday_note",
]  # fmt: skip
ACCEPTANCE = ["--as-of", "2020-08-07", "--within", "120d"]
needs_seeds = pytest.mark.skipif(
    not (SEEDS_DIR / "kr-jp-gsomia.yaml").exists(), reason="seeds/kr-jp-gsomia.yaml not written yet"
)


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run ``tracker ARGS`` in an empty folder with a private SQLite database URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'tracker.db'}"
    env.pop("COLUMNS", None)
    workdir = tmp_path / "work"
    workdir.mkdir()

    def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TRACKER, *map(str, args)], cwd=workdir, env=env, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip

    return _run


def deadlines_json(run, *args: str | Path) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = run("deadlines", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def pick(rows: Sequence[dict[str, object]], agreement: str) -> list[tuple[object, object, object]]:
    return [(r["kind"], r["date"], r["days_left"]) for r in rows if r["agreement"] == agreement]


# --- validate --------------------------------------------------------------------------------


def test_validate_reports_the_number_of_valid_agreements_and_exits_0(run) -> None:  # type: ignore[no-untyped-def]
    result = run("validate", GOOD, DATA / "duplicate-ids" / "one" / "gsomia-copy.yaml")
    assert (result.returncode, result.stdout, result.stderr) == (0, "2 agreements valid\n", "")


@needs_seeds
def test_validate_passes_on_the_seeds(run) -> None:  # type: ignore[no-untyped-def]
    count = len(list(SEEDS_DIR.glob("*.yaml"))) + len(list(SEEDS_DIR.glob("*.yml")))
    result = run("validate", SEEDS_DIR)
    assert (result.returncode, result.stdout) == (0, f"{count} agreements valid\n"), result.stderr


def test_validate_prints_every_error_on_stderr_one_per_line_and_exits_1(run) -> None:  # type: ignore[no-untyped-def]
    bad = DATA / "bad-multiple-errors.yaml"
    result = run("validate", GOOD, bad, DATA / "bad-duration.yaml")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith(f"{bad}:1:1: version: unsupported format version 3")
    assert lines[-1] == (
        f"{DATA / 'bad-duration.yaml'}:10:5: rules[0].notice: '90 dais' is not a duration "
        "(examples: '90 days', 'P3M')"
    )
    assert "Traceback" not in result.stderr


def test_validate_of_a_folder_without_agreement_files_fails(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("validate", empty)
    assert result.returncode == 1
    assert result.stderr == f"Error: no agreement files (*.yaml, *.yml) in {empty}\n"


def test_validate_without_a_path_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("validate")
    assert result.returncode == 2
    assert "Missing argument" in result.stderr


# --- deadlines -------------------------------------------------------------------------------


def test_acceptance_gsomia_notice_deadline_from_a_fixture(run) -> None:  # type: ignore[no-untyped-def]
    # SPEC 1: in August 2020 the next deadline was 24 August, 17 days after 7 August.
    rows = deadlines_json(run, "--agreements", GOOD, *ACCEPTANCE)
    assert pick(rows, "kr-jp-gsomia") == [
        ("notice_deadline", "2020-08-24", 17),
        ("expiry", "2020-11-22", 107),
    ]
    assert rows[0]["explanation"] == "expiry 2020-11-22 − 90 days = 2020-08-24"
    assert list(rows[0]) == DEADLINE_FIELDS


@needs_seeds
def test_acceptance_gsomia_notice_deadline_from_the_seeds(run) -> None:  # type: ignore[no-untyped-def]
    rows = deadlines_json(run, "--agreements", SEEDS_DIR, *ACCEPTANCE)
    gsomia = pick(rows, "kr-jp-gsomia")
    assert ("notice_deadline", "2020-08-24", 17) in gsomia
    assert ("expiry", "2020-11-22", 107) in gsomia
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)  # type: ignore[type-var]
    assert all("2020-08-07" <= str(r["date"]) <= "2020-12-05" for r in rows)


def test_from_and_to_are_inclusive(run) -> None:  # type: ignore[no-untyped-def]
    window = ["--as-of", "2020-08-07", "--from", "2020-08-24", "--to", "2020-11-22"]
    rows = deadlines_json(run, "-a", GOOD, *window)
    assert [r["date"] for r in rows] == ["2020-08-24", "2020-11-22"]
    rows = deadlines_json(run, "-a", GOOD, "--as-of", "2020-08-07", "--from", "2020-08-25",
                          "--to", "2020-11-21")  # fmt: skip
    assert rows == []


def test_the_default_window_is_one_year_from_as_of(run) -> None:  # type: ignore[no-untyped-def]
    rows = deadlines_json(run, "-a", GOOD, "--as-of", "2020-08-24")
    assert [r["date"] for r in rows] == ["2020-08-24", "2020-11-22", "2021-08-24"]
    assert rows[0]["days_left"] == 0


def test_kind_agreement_and_tag_filters_narrow_the_list(run) -> None:  # type: ignore[no-untyped-def]
    base = ["-a", GOOD, *ACCEPTANCE]
    assert [r["kind"] for r in deadlines_json(run, *base, "--kind", "expiry")] == ["expiry"]
    assert len(deadlines_json(run, *base, "--agreement", "kr-jp-gsomia")) == 2
    assert deadlines_json(run, *base, "--tag", "trade") == []
    assert len(deadlines_json(run, *base, "--tag", "trade", "--tag", "security")) == 2


def test_an_unknown_agreement_id_is_an_error_listing_the_known_ones(run) -> None:  # type: ignore[no-untyped-def]
    result = run("deadlines", "-a", GOOD, "--agreement", "nope")
    assert result.returncode == 1
    assert result.stderr == "Error: no agreement 'nope' (known: kr-jp-gsomia)\n"


def test_csv_output_has_a_header_row_and_the_same_rows_as_json(run) -> None:  # type: ignore[no-untyped-def]
    result = run("deadlines", "-a", GOOD, *ACCEPTANCE, "--format", "csv")
    assert result.returncode == 0, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames == DEADLINE_FIELDS
    rows = list(reader)
    assert [(r["kind"], r["date"], r["days_left"]) for r in rows] == [
        ("notice_deadline", "2020-08-24", "17"),
        ("expiry", "2020-11-22", "107"),
    ]
    # An expiry happens by itself (info): the note only names the day.
    assert (rows[1]["action"], rows[1]["outcome"], rows[1]["weekday_note"]) == (
        "info",
        "renews",
        "Sunday",
    )


def test_ics_output_is_a_calendar_with_one_all_day_event_per_deadline(run) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [TRACKER, "deadlines", "-a", str(GOOD), *ACCEPTANCE, "--format", "ics"],
        capture_output=True, timeout=60, env={**os.environ, "TRACKER_DATABASE_URL": "sqlite://"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    calendar = icalendar.Calendar.from_ical(result.stdout)
    starts = sorted(e.decoded("dtstart") for e in calendar.walk("VEVENT"))
    assert starts == [date(2020, 8, 24), date(2020, 11, 22)]


def test_the_table_is_plain_text_when_piped(run) -> None:  # type: ignore[no-untyped-def]
    result = run("deadlines", "-a", GOOD, *ACCEPTANCE)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Date", "Day", "Days", "left", "Kind", "Agreement", "Party",
                                "Label", "Note"]  # fmt: skip
    assert lines[2].split()[:5] == ["2020-08-24", "Mon", "17", "notice_deadline", "kr-jp-gsomia"]
    assert lines[3].endswith(" Sunday")
    assert all(line == line.rstrip() for line in lines)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--as-of", "2020-02-30"], "'2020-02-30' is not a date"),
        (["--from", "tomorrow"], "'tomorrow' is not a date"),
        (["--kind", "deadline"], "unknown kind 'deadline'"),
        (["--to", "2021-01-01", "--within", "90 days"], "give --to or --within, not both"),
        (["--within", "90 dais"], "'90 dais' is not a duration"),
        (["--format", "xml"], "'xml' is not one of"),
        (["--from", "2021-01-01", "--to", "2020-01-01"], "ends (2020-01-01) before it starts"),
    ],
)
def test_bad_option_values_are_usage_errors(run, args: list[str], complaint: str) -> None:  # type: ignore[no-untyped-def]
    result = run("deadlines", "-a", GOOD, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert complaint in " ".join(result.stderr.replace("│", " ").split())
    assert "Traceback" not in result.stderr


def test_invalid_agreement_files_stop_deadlines_with_every_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("deadlines", "-a", GOOD, "-a", DATA / "bad-date.yaml")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{DATA / 'bad-date.yaml'}:8:5: rules[0].expires:")


def test_without_agreements_an_empty_database_says_what_to_do(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("deadlines")
    assert result.returncode == 1
    # The message names the database it read, as an absolute path.
    assert result.stderr == (
        f"Error: the database sqlite:///{tmp_path / 'tracker.db'} is empty; run `tracker import "
        "seeds` or pass --agreements seeds\n"
    )
    assert not (tmp_path / "tracker.db").exists()  # reading never creates the database


def test_without_agreements_the_database_is_read(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tracker.loader import load_paths
    from tracker.store.engine import make_engine
    from tracker.store.migrate import upgrade
    from tracker.store.repository import import_agreements

    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    upgrade(engine)
    import_agreements(engine, load_paths([GOOD]), origin="import",
                      now=datetime(2020, 8, 1, tzinfo=UTC))  # fmt: skip
    engine.dispose()
    rows = deadlines_json(run, *ACCEPTANCE)
    assert pick(rows, "kr-jp-gsomia") == [
        ("notice_deadline", "2020-08-24", 17),
        ("expiry", "2020-11-22", 107),
    ]


def test_a_broken_configuration_is_an_error_without_traceback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "tracker.yaml"
    config.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    result = run("--config", config, "deadlines", "-a", GOOD)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr


# --- explain and schema ----------------------------------------------------------------------


def test_explain_shows_rules_sources_events_status_and_the_arithmetic(run) -> None:  # type: ignore[no-untyped-def]
    result = run("explain", "kr-jp-gsomia", "-a", GOOD, "--as-of", "2020-08-07")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "Korea–Japan General Security of Military Information Agreement (GSOMIA)",
        "Parties: KR, JP",
        "time zone Asia/Seoul",
        "Tags: security, japan, korea",
        "Status as of 2020-08-07: in force",
        "Source: Art. 21(3) <https://example.org/gsomia-text>",
        "“... automatically extended annually thereafter unless either Party notifies ...”",
        "2019-08-23 notice_given (KR)",
        "2023-03-21 notice_withdrawn (KR): dated after 2020-08-07; not counted",
        "2020-08-24 Mon  17 days  notice_deadline",
        "expiry 2020-11-22 − 90 days = 2020-08-24",
        "Note: Sunday\n",
    ):
        assert expected in out, expected


def test_explain_as_json_is_a_dict_with_the_deadline_objects(run) -> None:  # type: ignore[no-untyped-def]
    result = run("explain", "kr-jp-gsomia", "-a", GOOD, "--as-of", "2020-08-07", "-f", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["agreement"]["id"] == "kr-jp-gsomia"
    assert report["as_of"] == "2020-08-07"
    assert report["rules"][0]["cite"] == "Art. 21(3)"
    assert [e["counted"] for e in report["events"]] == [True, True, False]
    assert report["deadlines"][0]["date"] == "2020-08-24"
    assert list(report["deadlines"][0]) == DEADLINE_FIELDS


def test_explain_of_an_unknown_id_exits_1_naming_the_known_ones(run) -> None:  # type: ignore[no-untyped-def]
    result = run("explain", "kr-jp", "-a", GOOD)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "Error: no agreement 'kr-jp' (known: kr-jp-gsomia)\n"


def test_schema_prints_the_json_schema(run) -> None:  # type: ignore[no-untyped-def]
    result = run("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "rules" in schema["required"]
    assert result.stdout.startswith('{\n  "$schema"')


@pytest.mark.parametrize(
    ("as_of", "window", "cell"),
    [
        ("2020-08-20", ["--from", "2019-11-01", "--to", "2019-12-01"], "\x1b[31m     -272\x1b[0m"),
        ("2020-08-20", ["--within", "7d"], "\x1b[1m        4\x1b[0m"),
        ("2020-08-01", ["--within", "30d"], "\x1b[33m       23\x1b[0m"),
    ],
    ids=["overdue-red", "within-a-week-bold", "within-a-month-yellow"],
)
def test_days_left_are_coloured_in_a_terminal(  # type: ignore[no-untyped-def]
    run, as_of: str, window: list[str], cell: str
) -> None:
    result = subprocess.run(
        [TRACKER, "deadlines", "-a", str(GOOD), "--as-of", as_of, *window],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "FORCE_COLOR": "1", "COLUMNS": "160"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert cell in result.stdout


def test_a_narrow_terminal_gets_one_line_per_deadline_with_the_details_below() -> None:
    result = subprocess.run(
        [TRACKER, "deadlines", "-a", str(GOOD), *ACCEPTANCE],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2020-08-24 Mon    17 days  notice_deadline  kr-jp-gsomia",
        "2020-11-22 Sun   107 days  expiry           kr-jp-gsomia",
        "                           Sunday",
    ]


def test_validate_refuses_dates_past_9999_that_it_used_to_call_valid(run) -> None:  # type: ignore[no-untyped-def]
    # Before, these passed validate and then crashed every reader computing their deadlines.
    names = ["bad-notice-before-year-1.yaml", "bad-milestone-after-year-9999.yaml",
             "bad-term-after-year-9999.yaml"]  # fmt: skip
    result = run("validate", *(DATA / name for name in names))
    span = "the tracker computes dates from 0001-01-01 to 9999-12-31 only"
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"{DATA / names[0]}:8:5: rules[0].notice: expiry 0001-01-01 − 90 days falls before "
        f"0001-01-01: {span}",
        f"{DATA / names[1]}:9:5: rules[0].after: in force 9999-01-01 + 200 years falls after "
        f"9999-12-31: {span}",
        f"{DATA / names[2]}:8:5: rules[0].term: start 9999-01-01 + 200 years falls after "
        f"9999-12-31: {span}",
    ]


def test_validate_refuses_a_5000_digit_integer_without_a_traceback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad-huge-integer.yaml"
    path.write_text((DATA / "bad-huge-integer.yaml").read_text().replace(
        "123456789012345678901234567890", "9" * 5000), encoding="utf-8")  # fmt: skip
    result = run("validate", path)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"{path}:10:19: rules[0].max_renewals: a number with 5,000 digits is too large: "
        "no field takes more than 15 digits\n",
    )


def test_validate_checks_channel_names_against_the_configuration_in_force(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    path = DATA / "bad-unknown-channel.yaml"
    config = tmp_path / "work" / "tracker.yaml"
    config.write_text(
        "channels:\n  desk-email: {type: email, to: [desk@example.org]}\n", encoding="utf-8"
    )
    result = run("--config", config, "validate", path)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"{path}:8:24: channels[1]: 'ops-webhok' is not a channel of the configuration in "
        "force (defined: desk-email, log)\n",
    )
    config.write_text(
        "channels:\n"
        "  desk-email: {type: email, to: [desk@example.org]}\n"
        "  ops-webhok: {type: log}\n",
        encoding="utf-8",
    )
    result = run("--config", config, "validate", path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "1 agreement valid\n", "")
