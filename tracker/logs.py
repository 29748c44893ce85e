"""Logging: one line per event, ``key=value`` (default) or JSON.

An event is logged by name, with its fields passed as structured data:
``log.info("reminder.delivery", extra=fields(id=3, outcome="sent"))``. The fields travel on
the record (``record.fields``), never pre-formatted into the message, so each formatter emits
them in its own way: :class:`KeyValueFormatter` as ``reminder.delivery id=3 outcome=sent``
(greppable without a log pipeline), :class:`JsonFormatter` as real JSON keys
(``{"event": "reminder.delivery", "id": 3, "outcome": "sent", ...}``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, date, datetime
from typing import Any

_CONFIGURED_MARK = "_tracker_handler"
#: The LogRecord attribute that carries an event's fields (``extra={"fields": ...}``: one
#: attribute, so a field called ``name`` or ``message`` cannot clash with the record's own).
FIELDS_ATTRIBUTE = "fields"


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: the event's fields (None values are dropped)."""
    return {FIELDS_ATTRIBUTE: {k: v for k, v in values.items() if v is not None}}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    found = getattr(record, FIELDS_ATTRIBUTE, None)
    return found if isinstance(found, dict) else {}


def _text(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime | date) else str(value)
    if text == "" or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def render(record: logging.LogRecord) -> str:
    """The event as one ``name key=value ...`` line (values with spaces or quotes are
    JSON-quoted): what :class:`KeyValueFormatter` writes after its time, level and logger."""
    parts = [record.getMessage()]
    parts += [f"{k}={_text(v)}" for k, v in fields_of(record).items()]
    return " ".join(parts)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = f"{moment} level={record.levelname.lower()} logger={record.name} {render(record)}"
        if record.exc_info:
            # Keep the event on one line: the traceback's lines are joined, not dropped.
            line += " exc=" + json.dumps(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in fields_of(record).items():
            # The record's own keys win: a field cannot forge the level or the time.
            data.setdefault(key, _json_value(value))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Send the tracker's logs to stderr, one line per event. Idempotent: calling it again
    replaces the handler it installed (never one installed by someone else)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _CONFIGURED_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _CONFIGURED_MARK, True)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # APScheduler logs every job run at INFO ("Running job ..."), twice per tick: noise;
    # and warns each time a run is skipped because the previous tick is still running, which
    # is exactly what max_instances=1 is for.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO on every start; the migration lines
    # ("Running upgrade ...") come from alembic.runtime.migration and stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
