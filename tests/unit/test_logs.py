"""Structured logs: the fields of an event reach each formatter as data, not as text."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

from tracker.logs import JsonFormatter, KeyValueFormatter, fields, render


def _record(event: str, **values: object) -> logging.LogRecord:
    record = logging.LogRecord("tracker.test", logging.INFO, __file__, 1, event, None, None)
    for key, value in fields(**values).items():
        setattr(record, key, value)
    record.created = datetime(2026, 11, 29, 9, 0, tzinfo=UTC).timestamp()
    return record


def test_json_formatter_emits_each_field_as_its_own_key() -> None:
    record = _record(
        "reminder.delivery",
        id=3,
        outcome="sent",
        deadline=date(2027, 8, 24),
        detail='HTTP 503 "busy"',
        skipped=None,
    )
    assert json.loads(JsonFormatter().format(record)) == {
        "time": "2026-11-29T09:00:00.000+00:00",
        "level": "info",
        "logger": "tracker.test",
        "event": "reminder.delivery",
        "id": 3,
        "outcome": "sent",
        "deadline": "2027-08-24",
        "detail": 'HTTP 503 "busy"',
    }


def test_a_field_cannot_forge_the_records_own_keys() -> None:
    data = json.loads(JsonFormatter().format(_record("x", level="critical", time="never")))
    assert (data["level"], data["time"]) == ("info", "2026-11-29T09:00:00.000+00:00")


def test_key_value_line_quotes_values_with_spaces_or_quotes() -> None:
    record = _record("reminder.delivery", id=3, detail="HTTP 503 busy", empty="", ok="sent")
    assert render(record) == 'reminder.delivery id=3 detail="HTTP 503 busy" empty="" ok=sent'
    assert KeyValueFormatter().format(record) == (
        "2026-11-29T09:00:00.000+00:00 level=info logger=tracker.test " + render(record)
    )
