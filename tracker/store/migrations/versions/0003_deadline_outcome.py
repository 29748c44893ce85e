"""Materialised deadlines carry the outcome of an expiry (the agreement renews or ends).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Deadlines materialised before this revision have no outcome; they are forgotten here (with
their horizons), so the service materialises every agreement again when it starts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deadlines") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=10), nullable=True))
    op.execute("DELETE FROM deadlines")
    op.execute("DELETE FROM deadline_horizons")


def downgrade() -> None:
    with op.batch_alter_table("deadlines") as batch:
        batch.drop_column("outcome")
