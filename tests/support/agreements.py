"""Small agreement files for store, sync and CLI tests (the format's simplest real shape)."""

from __future__ import annotations

from pathlib import Path


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
