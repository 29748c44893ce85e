"""Materialised deadlines remember an agreement whose deadlines could not be computed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

``deadline_horizons.error`` holds why (readers report it next to the other agreements'
deadlines); a partial index finds the few such rows without scanning every agreement's.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FAILED = sa.text("error IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("deadline_horizons") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    op.create_index(
        "ix_deadline_horizons_failed",
        "deadline_horizons",
        ["agreement_id"],
        sqlite_where=_FAILED,
        postgresql_where=_FAILED,
    )


def downgrade() -> None:
    op.drop_index("ix_deadline_horizons_failed", table_name="deadline_horizons")
    with op.batch_alter_table("deadline_horizons") as batch:
        batch.drop_column("error")
