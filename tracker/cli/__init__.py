"""The ``tracker`` command. Commands live in modules by what they touch:

* :mod:`tracker.cli.files`: validate, deadlines, explain, schema (agreement files, no database)
* :mod:`tracker.cli.database`: import, export, db upgrade/downgrade/current
* :mod:`tracker.cli.reminders`: reminders, simulate, enable-channel
* :mod:`tracker.cli.operate`: status, test-channel
* :mod:`tracker.cli.serve`: serve

Importing a module registers its commands on :data:`tracker.cli.app.app`.
"""

from __future__ import annotations

import importlib

from tracker.cli.app import app, main

# In this order: `tracker --help` lists the file commands first, the service last.
for _module in ("files", "database", "reminders", "operate", "serve"):
    importlib.import_module(f"tracker.cli.{_module}")

__all__ = ["app", "main"]
