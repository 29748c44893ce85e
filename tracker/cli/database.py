"""Commands that write or manage the database: ``import``, ``export``, ``db ...``.

Every command here applies pending migrations first (``upgrade``), so a fresh database just
works, except ``db downgrade``, which would otherwise undo its own work.

``tracker import`` stores agreements with origin ``import``: a one-off load that stays
editable through the API (unlike agreements synced from the watched ``agreements_dir``, origin
``file``, which are read-only there). A file in the watched folder with the same id takes such
an agreement over.

The application layer, and with it the database stack, is imported inside the commands:
``tracker`` loads every command module at start, and ``tracker validate`` should not pay for
it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.app import STATE, app, fail
from tracker.cli.progress import file_progress
from tracker.errors import DatabaseError, TrackerError, ValidationFailed

if TYPE_CHECKING:
    from tracker.app.context import Context

db_app = typer.Typer(help="Manage the database schema (migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@contextmanager
def open_database(*, migrate: bool = True) -> Iterator[Context]:
    """The configured database, migrated to the newest schema unless ``migrate`` is False.
    Failures (unreachable server, locked file, unknown revision, a conflict) become
    ``Error: ...`` and exit 1."""
    from tracker.app.context import opened
    from tracker.app.status import database_label

    settings = STATE.settings()
    try:
        with opened(settings, migrate=migrate) as context:
            yield context
    except DatabaseError as exc:
        database = database_label(settings.database_url)
        raise fail(f"database {database}: {exc.kind}: {exc.message}") from None
    except TrackerError as exc:  # e.g. a conflict, an unknown revision
        raise fail(str(exc)) from None


def print_file_errors(exc: ValidationFailed) -> typer.Exit:
    for error in exc.errors:
        typer.echo(str(error), err=True)
    return typer.Exit(code=1)


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Agreement files or folders.", show_default=False)
    ],
) -> None:
    """Validate agreement files and store them in the database, all or none."""
    from tracker.app import agreements
    from tracker.loader import load_paths

    try:
        # Validated before the database is opened: a bad batch touches nothing at all.
        with file_progress("Reading") as progress:
            loaded = load_paths(
                paths,
                known_channels=frozenset(STATE.settings().channel_names()),
                progress=progress,
            )
    except ValidationFailed as exc:
        raise print_file_errors(exc) from None
    with open_database() as context:
        try:
            report = agreements.import_loaded(context, loaded, now=datetime.now(UTC))
        except ValidationFailed as exc:  # deadlines that cannot be computed: nothing stored
            raise print_file_errors(exc) from None
    summary = f"{len(report.added)} added, {len(report.updated)} updated"
    if report.unchanged:
        summary += f", {len(report.unchanged)} unchanged"
    noun = "agreement" if report.total == 1 else "agreements"
    typer.echo(f"imported {report.total} {noun} into {_label()} ({summary})")


def _label() -> str:
    """The configured database, as messages name it (credentials masked)."""
    from tracker.app.status import database_label

    return database_label(STATE.settings().database_url)


def join_documents(texts: list[str]) -> str:
    """One multi-document YAML stream: documents separated by ``---`` lines."""
    parts: list[str] = []
    for text in texts:
        if not text.endswith("\n"):
            text += "\n"
        if parts and not text.startswith("---"):
            parts.append("---\n")
        parts.append(text)
    return "".join(parts)


@app.command("export")
def export_command(
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="Agreement ids (default: all).", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write one <id>.yaml per agreement into this folder."),
    ] = None,
) -> None:
    """Print agreements as YAML (documents separated by ---), or write them into a folder."""
    from tracker.app import agreements

    with open_database() as context:
        exported = agreements.export(context, ids or None)
    if out is None:
        typer.echo(join_documents([text for _, text in exported]), nl=False)
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        with file_progress("Writing") as progress:
            for done, (agreement_id, text) in enumerate(exported, 1):
                (out / f"{agreement_id}.yaml").write_text(text, encoding="utf-8")
                if progress is not None:
                    progress(done, len(exported))
    except OSError as exc:
        raise fail(f"cannot write to {out}: {exc.strerror}") from None
    noun = "agreement" if len(exported) == 1 else "agreements"
    typer.echo(f"exported {len(exported)} {noun} to {out}")


def describe_revision(revision: str | None) -> str:
    from tracker.app.database import head_revision

    if revision is None:
        return "none (empty database)"
    return f"{revision} (head)" if revision == head_revision() else revision


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from tracker.app import database

    with open_database(migrate=False) as context:
        reached = database.upgrade(context, revision)
        typer.echo(f"database {_label()} at revision {describe_revision(reached)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision; 'base' removes every table.")
    ] = "base",
) -> None:
    """Revert migrations down to REVISION (default: base, an empty database)."""
    from tracker.app import database

    with open_database(migrate=False) as context:
        reached = database.downgrade(context, revision)
        typer.echo(f"database {_label()} at revision {describe_revision(reached)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    from tracker.app import database

    with open_database(migrate=False) as context:
        typer.echo(describe_revision(database.current_revision(context)))
