"""Small agreement files for store, sync and CLI tests (the format's simplest real shape)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def agreement_yaml(
    agreement_id: str,
    *,
    title: str = "Test agreement",
    tags: str = "security",
    notice: str = "90 days",
    events: str = "",
) -> str:
    """A GSOMIA-like annual auto-renewal; the leading comment checks that export keeps the
    text as written. ``events`` is appended verbatim (an ``events:`` block or nothing)."""
    return f"""\
# {agreement_id}: written by hand
version: 1
id: {agreement_id}
title: {title}
parties: [KR, JP]
tags: [{tags}]
rules:
  - kind: auto_renewal
    first_expiry: 2017-11-22
    renewal_term: 1 year
    notice: {notice}
{events}"""


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name`` (creating the folder) and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# An agreement whose deadlines the engine cannot compute: a fixed term expiring on 0001-01-01
# with 90 days' notice (the notice deadline would fall before year 1).
BROKEN_ID = "pz"
BROKEN: dict[str, Any] = {
    "version": 1,
    "id": BROKEN_ID,
    "title": "Broken Pact",
    "parties": ["AA", "BB"],
    "tags": ["test"],
    "rules": [{"kind": "fixed_term", "expires": "0001-01-01", "notice": "90 days"}],
}
# What the loader says about it: such a date is refused when a document is read, so a write
# gets this message (with the file's or body's line and column in front).
LIMIT_MESSAGE = (
    "rules[0].notice: expiry 0001-01-01 − 90 days falls before 0001-01-01: "
    "the tracker computes dates from 0001-01-01 to 9999-12-31 only"
)
# A row an older version stored without that check fails when its document is read back,
# and readers report it with this reason.
STORED_DETAIL = f"its stored document is no longer valid: {LIMIT_MESSAGE}"


def store_like_an_older_version(engine: Engine) -> None:
    """Insert the broken agreement's row directly, as a version without today's checks
    stored it through the API."""
    from tracker.store.engine import session_scope
    from tracker.store.tables import AgreementRow

    document = json.dumps({**BROKEN, "events": [], "sources": []})
    with session_scope(engine) as session:
        session.add(
            AgreementRow(
                id=BROKEN_ID,
                title=BROKEN["title"],
                document=document,
                source_text=document,
                origin="api",
                path=None,
                sha256="0" * 64,
                tags=",test,",
                revision=1,
                updated_at=datetime(2026, 8, 7, tzinfo=UTC),
            )
        )
