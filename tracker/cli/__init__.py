"""The ``tracker`` command. Commands live in modules by what they touch:

* :mod:`tracker.cli.files`: validate, deadlines, explain, schema (agreement files, no database)
* :mod:`tracker.cli.database`: import, export, db upgrade
* :mod:`tracker.cli.reminders`: reminders, simulate
* :mod:`tracker.cli.serve`: serve
"""

from __future__ import annotations

import importlib

from tracker.cli.app import app, main

for _module in ("files", "database", "reminders", "serve"):
    try:
        importlib.import_module(f"tracker.cli.{_module}")
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != f"tracker.cli.{_module}":
            raise

__all__ = ["app", "main"]
