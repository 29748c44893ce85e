"""``deadlines --agreements`` answered by the worker processes that read the files
(tracker.files.answer) gives exactly what reading in one process and computing there gives:
the same document (CSV and JSON), the same warnings, the same errors and exit codes, and a
cache that never serves a stale agreement.

The folders here are small; the thresholds that keep small folders in one process are lowered
so that the workers answer (two of them, whatever the machine's cores)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.support.agreements import agreement_yaml, write
from tracker.app.deadlines import Window, compute
from tracker.cli import app
from tracker.cli import files as cli_files
from tracker.cli.render import (
    DEADLINE_FIELDS,
    csv_document,
    deadline_csv_rows,
    deadline_json_items,
    deadlines_csv,
    deadlines_json,
    json_document,
    spreadsheet_safe,
)
from tracker.domain import rules as rules_module
from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, DeadlineKind, Outcome
from tracker.errors import ValidationFailed
from tracker.files import answer as answer_module
from tracker.files import read as read_module
from tracker.files.answer import Question, answer
from tracker.loader import load_paths

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
DATA = ROOT / "tests" / "data"
WINDOW = Window(as_of=date(2020, 8, 7), start=date(2000, 1, 1), end=date(2049, 12, 31))
OPTIONS = ["--as-of", "2020-08-07", "--from", "2000-01-01", "--to", "2049-12-31"]
FORMATS = {"csv": (deadline_csv_rows, csv_document), "json": (deadline_json_items, json_document)}
#: The agreement whose rules the engine is made to fail on, and what the command says of it.
FAILING = "gen-07"
WHY = "deadlines cannot be computed: ValueError: the engine cannot compute this one"


@pytest.fixture(autouse=True)
def two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two worker processes for any number of files."""
    monkeypatch.setattr(read_module, "_workers", lambda count: 2)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The seeds (every rule kind, events, parties), and 60 generated agreements with other
    notice periods and tags, in sub-folders: files in every cache shard."""
    root = tmp_path / "agreements"
    shutil.copytree(SEEDS, root / "seeds", ignore=shutil.ignore_patterns("*.md"))
    for i in range(60):
        text = agreement_yaml(
            f"gen-{i:02d}",
            title=f"Generated {i}",
            notice=f"{30 + i} days",
            tags="security" if i % 3 else "trade",
        )
        write(root / f"group-{i % 4}", f"gen-{i:02d}.yaml", text)
    return root


def reference(
    folder: Path,
    output: str,
    *,
    kinds: frozenset[str] = frozenset(),
    tags: frozenset[str] = frozenset(),
) -> tuple[str, dict[str, str]]:
    """The document and failures computed the ordinary way: the loader, then one ``compute``
    over every chosen agreement, then the whole document formatted at once."""
    agreements = [item.agreement for item in load_paths([folder])]
    chosen = [a for a in agreements if not tags or set(a.tags) & tags]
    found, failed = compute(chosen, WINDOW)
    found = [d for d in found if not kinds or d.kind.value in kinds]
    # The listing's order spelt out here (stable: a deadline's equals keep the engine's order).
    found.sort(key=lambda d: (d.date, d.agreement, d.kind.value, d.party or ""))
    return (plain_csv(found) if output == "csv" else plain_json(found)), failed


def plain_csv(deadlines: list[Deadline]) -> str:
    """CSV as it was written before rows were formatted one by one: a DictWriter over
    ``to_dict``, each value through ``spreadsheet_safe``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=DEADLINE_FIELDS, lineterminator="\n")
    writer.writeheader()
    for d in deadlines:
        writer.writerow({k: spreadsheet_safe(v) for k, v in d.to_dict().items()})
    return out.getvalue()


def plain_json(deadlines: list[Deadline]) -> str:
    """JSON as it was written before items were formatted one by one."""
    return json.dumps([d.to_dict() for d in deadlines], indent=2, ensure_ascii=False)


@pytest.mark.parametrize("count", [0, 1, 2, None])
def test_rows_and_items_formatted_one_by_one_make_the_plain_documents(count: int | None) -> None:
    agreements = [item.agreement for item in load_paths([SEEDS])]
    found, failed = compute(agreements, WINDOW)
    assert failed == {} and len(found) > 200
    found = found[:count]
    assert deadlines_csv(found) == csv_document(deadline_csv_rows(found)) == plain_csv(found)
    assert deadlines_json(found) == json_document(deadline_json_items(found)) == plain_json(found)


def test_formatting_keeps_line_breaks_quotes_formulas_and_non_ascii() -> None:
    tricky = Deadline(
        agreement="x",
        title='=HYPERLINK("a")\nsecond line, "quoted"',
        kind=DeadlineKind.EXPIRY,
        date=date(2025, 1, 2),
        days_left=-3,
        explanation="München → Genève\r\n\ttab",
        party="+KR",
        label="-1",
        source="@src",
        weekday_note=None,
        outcome=Outcome.ENDS,
    )
    found = [tricky, tricky]
    assert csv_document(deadline_csv_rows(found)) == plain_csv(found)
    assert json_document(deadline_json_items(found)) == plain_json(found)


def question(output: str, **kwargs: Any) -> Question:
    rows, _ = FORMATS[output]
    fields: dict[str, Any] = {
        "kinds": frozenset(),
        "tags": frozenset(),
        "channels": None,
        "use_cache": True,
    }
    fields.update(kwargs)
    return Question(compute=partial(compute, window=WINDOW), format=rows, **fields)


def answered(folder: Path, output: str, **kwargs: Any) -> tuple[str, dict[str, str]] | None:
    result = answer([folder], question(output, **kwargs))
    if result is None:
        return None
    _, document = FORMATS[output]
    return document(result.items), result.failed


@pytest.fixture
def failing_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The engine fails on :data:`FAILING` (in the workers too: the pool forks them from this
    process, see :func:`forked_pool`)."""
    real = rules_module._evaluate

    def evaluate(agreement: Agreement, *args: Any) -> Any:
        if agreement.id == FAILING:
            raise ValueError("the engine cannot compute this one")
        return real(agreement, *args)

    monkeypatch.setattr(rules_module, "_evaluate", evaluate)
    yield


@pytest.fixture(autouse=True)
def forked_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers forked from the test process, so that they see what a test patched."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    monkeypatch.setattr(
        read_module,
        "_pool",
        lambda workers: ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork")
        ),
    )


# --- the document -------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["csv", "json"])
@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"kinds": frozenset({"notice_deadline", "expiry"})},
        {"tags": frozenset({"trade"})},
    ],
    ids=["all", "kinds", "tags"],
)
def test_the_workers_give_the_single_process_document(
    folder: Path, output: str, filters: dict[str, frozenset[str]]
) -> None:
    expected = reference(folder, output, **filters)
    assert expected[0].count("gen-") > 100  # deadlines of many agreements, interleaved by date
    assert len(answer_module._tasks(list(read_module.Scan([folder]).files()))) >= 8

    assert answered(folder, output, **filters) == expected  # cold: every file parsed
    assert answered(folder, output, **filters) == expected  # warm: every file from the cache
    assert answered(folder, output, **filters, use_cache=False) == expected


def test_an_agreement_whose_rules_fail_is_reported_and_the_others_listed(
    folder: Path, failing_rules: None
) -> None:
    document, failed = reference(folder, "csv")
    assert failed == {FAILING: WHY}
    assert f"\n{FAILING}," not in document

    assert answered(folder, "csv") == (document, failed)
    assert answered(folder, "csv") == (document, failed)


# --- file errors --------------------------------------------------------------------------


def loader_errors(*args: Any, **kwargs: Any) -> list[str]:
    """The errors raised by ``*args`` (every error, as the command prints them)."""
    with pytest.raises(ValidationFailed) as raised:
        args[0](*args[1:], **kwargs)
    return [str(error) for error in raised.value.errors]


def damage(folder: Path, how: str) -> None:
    if how == "bad file":
        shutil.copy(DATA / "bad-date.yaml", folder / "group-1")
    elif how == "duplicate id":
        shutil.copy(folder / "group-1" / "gen-01.yaml", folder / "group-2" / "gen-01.yaml")
    elif how == "unknown channel":
        text = agreement_yaml("gen-05") + "channels: [ops-webhok]\n"
        write(folder / "group-1", "gen-05.yaml", text)
    else:  # all three, and a valid file whose id is not its name
        for each in ("bad file", "duplicate id", "unknown channel"):
            damage(folder, each)
        write(folder / "group-0", "misnamed.yaml", agreement_yaml("gen-99"))


DAMAGES = ["bad file", "duplicate id", "unknown channel", "all"]


@pytest.mark.parametrize("how", DAMAGES)
def test_file_errors_are_the_loaders_word_for_word(folder: Path, how: str) -> None:
    damage(folder, how)
    channels = frozenset({"log"})
    expected = loader_errors(load_paths, [folder], known_channels=channels)
    assert expected  # the loader refuses the folder

    asked = question("csv", channels=channels)
    assert loader_errors(answer, [folder], asked) == expected  # cold
    assert loader_errors(answer, [folder], asked) == expected  # warm
    no_cache = question("csv", channels=channels, use_cache=False)
    assert loader_errors(answer, [folder], no_cache) == expected


def test_files_that_no_longer_fail_when_reported_send_the_command_the_ordinary_way(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    damage(folder, "bad file")
    # The loader finds nothing wrong with the files concerned: they changed since read.
    monkeypatch.setattr(read_module, "report_errors", lambda *args: None)
    assert answer([folder], question("csv")) is None


def test_a_missing_path_sends_the_command_the_ordinary_way(folder: Path) -> None:
    assert answer([folder, folder / "nowhere"], question("csv")) is None


# --- the cache ----------------------------------------------------------------------------


def test_the_workers_fill_the_cache_and_never_serve_a_stale_agreement(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = answered(folder, "csv")
    assert first is not None and "Generated 3," in first[0]

    def refuse(*args: Any) -> None:
        raise AssertionError("parsed, when the cache holds the file")

    with monkeypatch.context() as patch:
        patch.setattr(read_module, "_parse_one", refuse)
        assert answered(folder, "csv") == first

    write(folder / "group-3", "gen-03.yaml", agreement_yaml("gen-03", title="Renamed three"))
    changed = answered(folder, "csv")
    assert changed is not None
    assert "Generated 3," not in changed[0] and "Renamed three," in changed[0]
    assert changed == reference(folder, "csv")


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("TRACKER_CONFIG", raising=False)
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    return CliRunner()


def both_ways(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[Result, Result, bool]:
    """The command with the workers' path, then the ordinary way; whether the workers
    answered (their path returned True, or raised the command's exit after printing)."""
    calls: list[str] = []
    real = cli_files.answer_in_workers

    def spy(*a: Any, **k: Any) -> bool:
        calls.append("called")
        answered = real(*a, **k)
        calls.append(f"returned {answered}")
        return answered

    with monkeypatch.context() as patch:
        patch.setattr(cli_files, "answer_in_workers", spy)
        workers = runner.invoke(app, ["deadlines", *args])
    with monkeypatch.context() as patch:
        patch.setattr(cli_files, "answer_in_workers", lambda *a, **k: False)
        ordinary = runner.invoke(app, ["deadlines", *args])
    return workers, ordinary, calls in (["called"], ["called", "returned True"])


def outcome(result: Result) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("output", ["csv", "json"])
def test_the_command_prints_warns_and_exits_the_same_way(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    failing_rules: None,
    output: str,
) -> None:
    workers, ordinary, answered = both_ways(
        runner, monkeypatch, "--agreements", str(folder), *OPTIONS, "--format", output
    )
    assert answered
    assert outcome(workers) == outcome(ordinary)
    assert workers.exit_code == 1
    assert workers.stderr == (
        f"warning: {FAILING}: {WHY}\n"
        "Error: 1 agreement could not be computed (see the warnings above)\n"
    )
    expected, _ = reference(folder, output)
    assert workers.stdout == expected + ("\n" if output == "json" else "")


@pytest.mark.parametrize("how", DAMAGES)
def test_the_command_reports_file_errors_as_the_loader_does(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, folder: Path, how: str
) -> None:
    damage(folder, how)
    workers, ordinary, answered = both_ways(
        runner, monkeypatch, "--agreements", str(folder), *OPTIONS, "--format", "csv"
    )
    assert answered
    assert outcome(workers) == outcome(ordinary)
    assert workers.exit_code == 1 and workers.stdout == ""
    errors = loader_errors(load_paths, [folder], known_channels=frozenset({"log"}))
    assert workers.stderr == "".join(f"{error}\n" for error in errors)
