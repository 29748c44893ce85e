"""Named queries of a metrics scrape: reminders by status, attempts by channel, and the
nearest upcoming deadlines, read in one connection so that a scrape sees one moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tracker.store.engine import database_errors
from tracker.store.tables import DeadlineRow, DeliveryAttemptRow, ReminderRow

SENT_OUTCOME = "sent"
#: An attempt being sent right now has not failed (yet).
IN_FLIGHT_OUTCOME = "in_flight"


@dataclass(frozen=True)
class ChannelAttempts:
    channel: str
    attempts: int
    failures: int


@dataclass(frozen=True)
class UpcomingDeadline:
    agreement: str
    kind: str
    date: date
    party: str


@dataclass(frozen=True)
class Counts:
    """What one scrape reads from the database."""

    reminders_by_status: dict[str, int]
    attempts_by_channel: list[ChannelAttempts]
    upcoming: list[UpcomingDeadline]


def read_counts(engine: Engine, *, from_day: date, limit: int) -> Counts:
    """Reminders by status, delivery attempts and failed ones by channel, and the ``limit``
    deadlines nearest to ``from_day`` (inclusive). Any database failure is a
    :class:`tracker.errors.DatabaseError`: a scrape reports it instead of failing."""
    status = col(ReminderRow.status)
    channel = col(DeliveryAttemptRow.channel)
    failed = col(DeliveryAttemptRow.outcome).not_in([SENT_OUTCOME, IN_FLIGHT_OUTCOME])
    upcoming = (
        select(
            col(DeadlineRow.agreement_id),
            col(DeadlineRow.kind),
            col(DeadlineRow.date),
            col(DeadlineRow.party),
        )
        .where(col(DeadlineRow.date) >= from_day)
        .order_by(col(DeadlineRow.date), col(DeadlineRow.agreement_id))
        .limit(limit)
    )
    with database_errors(), engine.connect() as connection:
        by_status = connection.execute(select(status, func.count()).group_by(status)).all()
        by_channel = connection.execute(
            select(channel, func.count(), func.sum(case((failed, 1), else_=0))).group_by(channel)
        ).all()
        deadlines = connection.execute(upcoming).all()
    return Counts(
        reminders_by_status={name: int(n) for name, n in by_status},
        attempts_by_channel=[
            ChannelAttempts(name, int(total), int(failures or 0))
            for name, total, failures in by_channel
        ],
        upcoming=[UpcomingDeadline(a, k, d, p or "") for a, k, d, p in deadlines],
    )
