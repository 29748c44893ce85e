"""The Typer application, its global options and the one top-level error handler.

Exit codes (SPEC 3): 0 ok, 1 a failure the user can fix (``Error: ...`` on stderr), 2 a usage
error. A traceback is printed only with ``--verbose``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from tracker.errors import TrackerError
from tracker.settings import Settings, get_settings

app = typer.Typer(
    name="tracker",
    help="Track international agreements and never miss a notice deadline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help, as click writes it: Typer's rich panels show a "<bool>" placeholder
    # after every flag (--verbose, --help), which takes no value.
    rich_markup_mode=None,
)


@dataclass
class State:
    config: Path | None = None
    verbose: bool = False

    def settings(self, **overrides: object) -> Settings:
        return get_settings(self.config, overrides=overrides)


STATE = State()


@app.callback()
def _global_options(
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="TRACKER_CONFIG", help="Configuration file (YAML)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
) -> None:
    STATE.config = config
    STATE.verbose = verbose


def fail(message: str) -> typer.Exit:
    """Print ``Error: message`` on stderr and return the exit to raise (code 1)."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=1)


def main() -> None:
    """Console-script entry point: usage errors exit 2 (Typer's standalone mode), the
    tracker's own errors exit 1 with ``Error: ...``, anything else too unless ``--verbose``."""
    try:
        app()
    except TrackerError as exc:
        if STATE.verbose:
            raise
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if STATE.verbose:
            raise
        typer.echo(
            f"Error: unexpected {type(exc).__name__}: {exc} (run with --verbose for details)",
            err=True,
        )
        sys.exit(1)
