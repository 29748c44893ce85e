"""SQLModel tables. Every instant is stored as UTC and read back as an aware UTC datetime.

``party`` columns hold ``""`` rather than NULL for "no party" because NULLs are distinct in
unique constraints on both SQLite and PostgreSQL, and the reminder key must be unique.
"""

from __future__ import annotations

import datetime as datetime_module
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Text, TypeDecorator, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlmodel import Column, Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class AgreementRow(SQLModel, table=True):
    """A validated agreement and where it came from (a file, or the API)."""

    __tablename__ = "agreements"

    id: str = Field(primary_key=True, max_length=100)
    title: str = Field(sa_column=Column(Text, nullable=False))
    # The validated document as JSON (Agreement.model_dump(mode="json")).
    document: str = Field(sa_column=Column(Text, nullable=False))
    # The text as written (YAML), for export and for error messages.
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    origin: str = Field(max_length=10)  # "file" | "api"
    path: str | None = Field(default=None, max_length=1000)
    sha256: str = Field(max_length=64)
    tags: str = Field(default="", max_length=2000)  # ",tag1,tag2," for LIKE filters
    revision: int = Field(default=1)
    updated_at: datetime | None = utc_column(nullable=False)


class EventRow(SQLModel, table=True):
    """Recorded events, mirrored from the document for querying."""

    __tablename__ = "events"
    # A query as of another day than the materialised one finds the agreements with an
    # event between the two days in one range scan.
    __table_args__ = (Index("ix_events_date", "date", "agreement_id"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: str = Field(foreign_key="agreements.id", index=True, ondelete="CASCADE")
    date: date
    type: str = Field(max_length=30)
    party: str = Field(default="", max_length=100)
    note: str | None = Field(default=None, sa_column=Column(Text))


class DeadlineRow(SQLModel, table=True):
    """Deadlines materialised over the planning horizon as of the last planning run.

    Queries for "as of today" read this table through indexes; a query with another
    ``as_of`` recomputes from the documents, since events after that day must be ignored.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("agreement_id", "kind", "date", "party", name="uq_deadline_key"),
        # The query order: a page of the next 100 deadlines reads 100 index entries, and
        # counting a date range never touches the table.
        Index("ix_deadlines_order", "date", "agreement_id", "kind", "party"),
        # A query for some kinds counts and pages through this one.
        Index("ix_deadlines_kind_date", "kind", "date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: str = Field(foreign_key="agreements.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=30)
    date: date
    party: str = Field(default="", max_length=100)
    title: str = Field(sa_column=Column(Text, nullable=False))
    label: str | None = Field(default=None, sa_column=Column(Text))
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    source: str | None = Field(default=None, sa_column=Column(Text))
    weekday_note: str | None = Field(default=None, sa_column=Column(Text))
    tags: str = Field(default="", max_length=2000)
    outcome: str | None = Field(default=None, max_length=10)


class ReminderRow(SQLModel, table=True):
    """The outbox: one row per (agreement, kind, date, party, offset, channel, purpose).

    ``purpose`` is ``reminder``, ``escalation`` (``offset`` is its ``when_left``) or
    ``digest`` (``agreement_id`` holds the digest's name, ``deadline_date`` its scheduled day,
    ``deadline_json`` the list it sends).

    A dispatcher claims a due row by setting ``status='sending'``, ``claimed_by`` and
    ``lease_until`` in one transaction; a row whose lease expired is claimable again, so a
    process that dies mid-send loses nothing. ``webhook_id`` is derived from the key and is
    therefore stable across retries and restarts.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint(
            "agreement_id",
            "deadline_kind",
            "deadline_date",
            "party",
            "offset",
            "channel",
            "purpose",
            name="uq_reminder_key",
        ),
        Index("ix_reminders_claim", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: str = Field(max_length=100, index=True)
    deadline_kind: str = Field(max_length=30)
    deadline_date: date
    party: str = Field(default="", max_length=100)
    offset: str = Field(max_length=40)  # canonical duration text, e.g. "30 days"
    channel: str = Field(max_length=100)
    purpose: str = Field(
        default="reminder", max_length=20, sa_column_kwargs={"server_default": "reminder"}
    )
    webhook_id: str = Field(max_length=64, unique=True)
    due_at: datetime | None = utc_column(nullable=False, index=True)
    status: str = Field(default="pending", max_length=20)
    reason: str | None = Field(default=None, max_length=200)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = utc_column(nullable=False)
    lease_until: datetime | None = utc_column()
    claimed_by: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_status_code: int | None = None
    sent_at: datetime | None = utc_column()
    acknowledged_at: datetime | None = utc_column()
    acknowledged_by: str | None = Field(default=None, max_length=200)
    # Snapshot of the deadline object (SPEC 2.4) at planning time: the payload to send.
    deadline_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = utc_column(nullable=False)
    updated_at: datetime | None = utc_column(nullable=False)


class AcknowledgementRow(SQLModel, table=True):
    """Who acknowledged a deadline, and when: the first acknowledgement is kept. The planner
    plans no further reminders or escalations for a deadline listed here."""

    __tablename__ = "acknowledgements"
    __table_args__ = (
        UniqueConstraint(
            "agreement_id", "deadline_kind", "deadline_date", "party", name="uq_acknowledgement"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: str = Field(max_length=100, index=True)
    deadline_kind: str = Field(max_length=30)
    deadline_date: date
    party: str = Field(default="", max_length=100)
    acknowledged_at: datetime | None = utc_column(nullable=False)
    acknowledged_by: str = Field(default="", max_length=200)
    via: str = Field(max_length=20)  # link | api


class DeliveryAttemptRow(SQLModel, table=True):
    """One try to deliver one reminder, whatever its outcome."""

    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    reminder_id: int = Field(foreign_key="reminders.id", index=True, ondelete="CASCADE")
    attempt: int
    channel: str = Field(max_length=100)
    started_at: datetime | None = utc_column(nullable=False)
    duration_ms: float = 0.0
    outcome: str = Field(max_length=20)  # sent | retrying | dead | disabled
    status_code: int | None = None
    detail: str | None = Field(default=None, sa_column=Column(Text))  # SMTP reply, response
    error: str | None = Field(default=None, sa_column=Column(Text))
    worker: str | None = Field(default=None, max_length=200)


class ChannelStateRow(SQLModel, table=True):
    """A channel disabled by a permanent signal (HTTP 410), shared by all replicas."""

    __tablename__ = "channel_state"

    name: str = Field(primary_key=True, max_length=100)
    disabled: bool = False
    disabled_at: datetime | None = utc_column()
    reason: str | None = Field(default=None, sa_column=Column(Text))


class DeadlineHorizonRow(SQLModel, table=True):
    """What ``deadlines`` holds for one agreement: computed as of ``as_of`` for
    ``start``..``end``. A query reads ``deadlines`` only when this covers it; an agreement
    that changed has no horizon row until it is materialised again.

    ``error`` is set when the agreement's deadlines could not be computed: it then has no
    rows in ``deadlines``, and readers report it (by id, with this text) next to the others.
    """

    __tablename__ = "deadline_horizons"
    # One index per bound: the coverage check reads min/max of each through an index, so it
    # costs the same with 100 agreements or 100,000.
    __table_args__ = (
        Index("ix_deadline_horizons_as_of", "as_of"),
        Index("ix_deadline_horizons_start", "start"),
        Index("ix_deadline_horizons_end", "end"),
        # Readers look up the failed ones on every answer; there are few or none.
        Index(
            "ix_deadline_horizons_failed",
            "agreement_id",
            sqlite_where=text("error IS NOT NULL"),
            postgresql_where=text("error IS NOT NULL"),
        ),
    )

    agreement_id: str = Field(
        primary_key=True, max_length=100, foreign_key="agreements.id", ondelete="CASCADE"
    )
    as_of: date
    start: date
    end: date
    error: str | None = Field(default=None, sa_column=Column(Text))


class DeadlineCountRow(SQLModel, table=True):
    """How many stored deadlines fall on each day, by kind and by tag (``""``: every
    agreement, whatever its tags).

    The exact ``count`` of a query without an agreement filter and with at most one tag is
    a sum over at most a window's days of this table (a few thousand rows at most) instead
    of a scan of every matching deadline (39,000 rows for 90 days at 100,000 agreements).
    Kept in step with ``deadlines`` by triggers (migration 0006), in the same transaction as
    every insert, update and delete of deadline rows, whoever writes them.
    """

    __tablename__ = "deadline_counts"

    # Text: a tag stored by an older version may be longer than today's limit.
    tag: str = Field(sa_column=Column(Text, primary_key=True))
    # ``datetime.date``: a field named ``date`` with a default cannot be annotated ``date``.
    date: datetime_module.date = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=30)
    n: int


class DeadlineTagRow(SQLModel, table=True):
    """One row per stored deadline and tag of its agreement, in the order queries list
    deadlines: the deadlines of one tag are a range of the primary key, where the ``tags``
    column could only be searched with ``LIKE`` row by row (a page at offset 2,000 of one tag
    read 7,400 rows). Kept by the same triggers as ``deadline_counts``."""

    __tablename__ = "deadline_tags"

    tag: str = Field(sa_column=Column(Text, primary_key=True))
    date: datetime_module.date = Field(primary_key=True)
    agreement_id: str = Field(primary_key=True, max_length=100)
    kind: str = Field(primary_key=True, max_length=30)
    party: str = Field(primary_key=True, max_length=100)


class DataVersionRow(SQLModel, table=True):
    """One row (``id`` 1): a number raised by every transaction that writes agreements,
    their events or their stored deadlines (:func:`tracker.store.counts.bump_version`).

    Facts about the whole data set that cost a scan (does every agreement have stored
    deadlines covering a window; how many agreements carry a tag; which tags exist) are
    remembered by each process for one version: the next write changes the version and
    they are read again, so they are never stale.
    """

    __tablename__ = "data_version"

    id: int = Field(primary_key=True)
    # Starts at the creation time in microseconds, so that a table created again (a
    # downgrade and upgrade) never repeats numbers a running process has seen.
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
