"""Indexes for queries at 100,000 agreements: deadlines by kind and date, events by date.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30

* ``ix_deadlines_kind_date`` (kind, date): a query for some kinds counts and pages its rows
  through this index instead of filtering every row of the date range.
* ``ix_events_date`` (date, agreement_id): a query as of another day than the one the
  deadlines were materialised for looks up the agreements with an event between the two
  days (their stored deadlines may not hold), as one range scan.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deadlines_kind_date", "deadlines", ["kind", "date"])
    op.create_index("ix_events_date", "events", ["date", "agreement_id"])


def downgrade() -> None:
    op.drop_index("ix_events_date", table_name="events")
    op.drop_index("ix_deadlines_kind_date", table_name="deadlines")
