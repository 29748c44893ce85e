"""Logging: one line per event, ``key=value`` (default) or JSON.

Events are logged as ``log.info(event("reminder.delivery", id=3, outcome="sent"))``: the
message is the event name followed by its fields, so a line can be grepped by name and field
without a log pipeline, and :class:`JsonFormatter` can split it back into keys.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_CONFIGURED_MARK = "_tracker_handler"


def _value(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text == "" or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def event(name: str, **fields: Any) -> str:
    """``name key=value ...``; values with spaces or quotes are JSON-quoted; None is dropped."""
    parts = [name]
    parts += [f"{k}={_value(v)}" for k, v in fields.items() if v is not None]
    return " ".join(parts)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = (
            f"{moment} level={record.levelname.lower()} logger={record.name} {record.getMessage()}"
        )
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
            "message": record.getMessage(),
        }
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
