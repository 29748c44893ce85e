"""Commands that write or manage the database: ``import``, ``export``, ``db ...``.

Every command here applies pending migrations first (``upgrade``), so a fresh database just
works, except ``db downgrade``, which would otherwise undo its own work.

``tracker import`` stores agreements with origin ``import``: a one-off load that stays
editable through the API (unlike agreements synced from the watched ``agreements_dir``, origin
``file``, which are read-only there). A file in the watched folder with the same id takes such
an agreement over.

The database stack (SQLAlchemy, alembic) is imported inside the commands: ``tracker`` loads
every command module at start, and ``tracker validate`` should not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.app import STATE, app, fail
from tracker.errors import TrackerError, ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

db_app = typer.Typer(help="Manage the database schema (migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@contextmanager
def open_database(*, migrate: bool = True) -> Iterator[Engine]:
    """The configured database, migrated to the newest schema unless ``migrate`` is False.
    Database failures (unreachable server, locked file) become ``Error: ...`` and exit 1."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from tracker.store.engine import make_engine
    from tracker.store.migrate import upgrade

    engine = make_engine(STATE.settings().database_url)
    try:
        if migrate:
            upgrade(engine)
        yield engine
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        raise fail(f"database error: {type(exc).__name__}: {detail}") from None
    except (TrackerError, CommandError) as exc:  # e.g. a conflict, an unknown revision
        raise fail(str(exc)) from None
    finally:
        engine.dispose()


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
    """Validate agreement files and store them, all or none (SPEC 3)."""
    from tracker.loader import load_paths
    from tracker.store.repository import ORIGIN_IMPORT, import_agreements

    try:
        # Validated before the database is opened: a bad batch touches nothing at all.
        loaded = load_paths(paths)
    except ValidationFailed as exc:
        raise print_file_errors(exc) from None
    from tracker.domain.durations import shift
    from tracker.store.deadlines import Horizon

    settings = STATE.settings()
    now = datetime.now(UTC)
    today = settings.today(now)
    horizon = Horizon(as_of=today, end=shift(today, settings.planning_horizon))
    with open_database() as engine:
        try:
            report = import_agreements(
                engine, loaded, origin=ORIGIN_IMPORT, now=now, horizon=horizon
            )
        except ValidationFailed as exc:  # deadlines that cannot be computed: nothing stored
            raise print_file_errors(exc) from None
    summary = f"{len(report.added)} added, {len(report.updated)} updated"
    if report.unchanged:
        summary += f", {len(report.unchanged)} unchanged"
    noun = "agreement" if report.total == 1 else "agreements"
    typer.echo(f"imported {report.total} {noun} ({summary})")


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
    from tracker.store.repository import export_agreements

    with open_database() as engine:
        exported = export_agreements(engine, ids or None)
    if out is None:
        typer.echo(join_documents([text for _, text in exported]), nl=False)
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for agreement_id, text in exported:
            (out / f"{agreement_id}.yaml").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write to {out}: {exc.strerror}") from None
    noun = "agreement" if len(exported) == 1 else "agreements"
    typer.echo(f"exported {len(exported)} {noun} to {out}")


def describe_revision(revision: str | None) -> str:
    from tracker.store.migrate import head_revision

    if revision is None:
        return "none (empty database)"
    return f"{revision} (head)" if revision == head_revision() else revision


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from tracker.store.migrate import current_revision, upgrade

    with open_database(migrate=False) as engine:
        upgrade(engine, revision)
        typer.echo(f"database at revision {describe_revision(current_revision(engine))}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision; 'base' removes every table.")
    ] = "base",
) -> None:
    """Revert migrations down to REVISION (default: base, an empty database)."""
    from tracker.store.migrate import current_revision, downgrade

    with open_database(migrate=False) as engine:
        downgrade(engine, revision)
        typer.echo(f"database at revision {describe_revision(current_revision(engine))}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    from tracker.store.migrate import current_revision

    with open_database(migrate=False) as engine:
        typer.echo(describe_revision(current_revision(engine)))
