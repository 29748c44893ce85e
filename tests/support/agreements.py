"""Small agreement files for store, sync and CLI tests (the format's simplest real shape)."""

from __future__ import annotations


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
