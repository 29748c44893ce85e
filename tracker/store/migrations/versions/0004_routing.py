"""Routing, escalations, digests and one-click acknowledgement.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

``reminders.purpose`` (``reminder``, ``escalation`` or ``digest``) joins the reminder's
unique key, so an escalation and a reminder of the same offset on the same channel are two
rows; rows planned before this revision are reminders. ``acknowledgements`` records who
acknowledged which deadline and when.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KEY = ["agreement_id", "deadline_kind", "deadline_date", "party", "offset", "channel"]


def upgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=20), nullable=False, server_default="reminder")
        )
        batch.drop_constraint("uq_reminder_key", type_="unique")
        batch.create_unique_constraint("uq_reminder_key", [*_OLD_KEY, "purpose"])
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=False),
        sa.Column("deadline_kind", sa.String(length=30), nullable=False),
        sa.Column("deadline_date", sa.Date(), nullable=False),
        sa.Column("party", sa.String(length=100), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "agreement_id", "deadline_kind", "deadline_date", "party", name="uq_acknowledgement"
        ),
    )
    op.create_index("ix_acknowledgements_agreement_id", "acknowledgements", ["agreement_id"])


def downgrade() -> None:
    op.drop_index("ix_acknowledgements_agreement_id", table_name="acknowledgements")
    op.drop_table("acknowledgements")
    op.execute("DELETE FROM reminders WHERE purpose <> 'reminder'")
    with op.batch_alter_table("reminders") as batch:
        batch.drop_constraint("uq_reminder_key", type_="unique")
        batch.create_unique_constraint("uq_reminder_key", _OLD_KEY)
        batch.drop_column("purpose")
