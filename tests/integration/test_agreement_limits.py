"""Whatever validation admits, every table holds whole, on SQLite and on PostgreSQL.

PostgreSQL enforces VARCHAR widths and refuses NUL characters; SQLite does neither. The limits
in tracker.domain.agreement are chosen so that a document at every limit at once is stored,
materialised and planned on both backends, value for value (issue 8, item 3).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Engine

from tests.integration.test_dispatch import make_settings
from tracker.domain import agreement as limits
from tracker.domain.durations import parse_duration
from tracker.loader import MAX_FILE_BYTES, load_text
from tracker.service import Service
from tracker.store import reminders as outbox
from tracker.store.deadlines import materialize_deadlines, query_deadlines
from tracker.store.engine import session_scope
from tracker.store.repository import get_agreement, get_agreement_row, import_agreements
from tracker.store.tables import AgreementRow, DeadlineRow, EventRow, ReminderRow

NOW = datetime(2030, 1, 1, tzinfo=UTC)
PARTY = "P" * limits.MAX_PARTY_CHARS
CHANNELS = [f"{i}" * limits.MAX_CHANNEL_CHARS for i in range(limits.MAX_CHANNELS)]
TAGS = [f"{i:02d}" + "t" * (limits.MAX_TAG_CHARS - 2) for i in range(limits.MAX_TAGS)]
AGREEMENT_ID = "a" * 100


def at_every_limit() -> str:
    """One JSON document with every text at its longest and every list at its longest,
    except the lists of sources and events: all of them at full length would not fit in
    MAX_FILE_BYTES, so a few carry the longest texts."""
    long_source = {
        "cite": "C" * limits.MAX_CITE_CHARS,
        "url": "https://example.org/" + "u" * (limits.MAX_URL_CHARS - 20),
        "quote": "“Quoted”\ttext,\nover lines. " * (limits.MAX_QUOTE_CHARS // 27),
    }
    document = {
        "version": 1,
        "id": AGREEMENT_ID,
        "title": "Ü" * limits.MAX_TITLE_CHARS,
        "parties": ["KR", "JP", PARTY, *(f"X{i}" for i in range(limits.MAX_PARTIES - 3))],
        "in_force": "2000-01-01",
        "timezone": "Asia/Seoul",
        "tags": TAGS,
        "sources": [long_source, *({"cite": f"Art. {i}"} for i in range(limits.MAX_SOURCES - 1))],
        "rules": [
            {"kind": "withdrawal", "notice": "30 days", "label": "L" * limits.MAX_LABEL_CHARS},
            {
                "kind": "recurring",
                "label": "R" * limits.MAX_LABEL_CHARS,
                "first": "2030-01-05",
                "every": "1 week",
                "source": "C" * limits.MAX_CITE_CHARS,
            },
            *(
                {"kind": "milestone", "label": f"m{i}", "date": "2030-03-01"}
                for i in range(limits.MAX_RULES - 2)
            ),
        ],
        "events": [
            {
                "date": "2029-12-20",
                "type": "notice_given",
                "party": PARTY,
                "note": "N" * limits.MAX_NOTE_CHARS,
            },
            *(
                {"date": "2001-01-01", "type": "notice_suspended", "party": PARTY}
                for _ in range(limits.MAX_EVENTS - 1)
            ),
        ],
        "reminders": [f"{i} days" for i in range(limits.MAX_REMINDERS)],
        "channels": CHANNELS,
    }
    text = json.dumps(document, ensure_ascii=False)
    assert len(text.encode()) < MAX_FILE_BYTES
    return text


def test_an_agreement_at_every_limit_is_stored_materialised_and_planned_whole(
    db_url: str, engine: Engine
) -> None:
    loaded = load_text(at_every_limit(), name="limits.json", content_type="application/json")
    import_agreements(engine, [loaded], origin="import", now=NOW)
    assert get_agreement(engine, AGREEMENT_ID) == loaded.agreement
    with session_scope(engine) as session:
        stored_tags = get_agreement_row(session, AGREEMENT_ID).tags
    assert stored_tags == "," + ",".join(TAGS) + ","

    today = NOW.date()
    materialize_deadlines(engine, as_of=today, end=date(2030, 3, 31))
    found = query_deadlines(engine, as_of=today, start=today, end=date(2030, 3, 31))[0]
    withdrawal = [d for d in found if d.kind.value == "withdrawal_effective"]
    assert [(d.date, d.party, d.label) for d in withdrawal] == [
        (date(2030, 1, 19), PARTY, "L" * limits.MAX_LABEL_CHARS)
    ]

    settings = make_settings(
        db_url,
        "http://127.0.0.1:9/hook",
        channels={name: {"type": "log"} for name in CHANNELS},
        planning_horizon="30 days",
    )
    report = Service(settings, engine=engine).replan(now=NOW)
    assert report.failed == {}
    rows = outbox.list_reminders(engine)
    assert len(rows) == report.inserted
    assert {
        (r.party, r.channel, r.offset) for r in rows if r.deadline_kind == "withdrawal_effective"
    } == {
        (PARTY, channel, parse_duration(f"{days} days").canonical())
        for channel in CHANNELS
        for days in range(limits.MAX_REMINDERS)
    }


def test_every_column_that_holds_document_text_is_at_least_as_wide_as_its_limit() -> None:
    def width(table: type[Any], column: str) -> int:
        length: int = table.__table__.c[column].type.length  # type: ignore[attr-defined]
        return length

    ids = 100  # ID_PATTERN: at most 100 characters
    tags = limits.MAX_TAGS * (limits.MAX_TAG_CHARS + 1) + 1  # ",tag,tag,...,"
    offsets = len("200 years 11 months 99999 days")  # the longest canonical offset
    needed = {
        (AgreementRow, "id"): ids,
        (AgreementRow, "tags"): tags,
        (DeadlineRow, "tags"): tags,
        (EventRow, "party"): limits.MAX_PARTY_CHARS,
        (DeadlineRow, "party"): limits.MAX_PARTY_CHARS,
        (ReminderRow, "party"): limits.MAX_PARTY_CHARS,
        (ReminderRow, "channel"): limits.MAX_CHANNEL_CHARS,
        (ReminderRow, "agreement_id"): ids,
        (ReminderRow, "offset"): offsets,
    }
    too_narrow = [
        f"{table.__tablename__}.{column}: {width(table, column)} < {need}"  # type: ignore[attr-defined]
        for (table, column), need in needed.items()
        if width(table, column) < need
    ]
    assert too_narrow == []
