"""Reminder planning: deadlines in, reminders (and what to do with existing ones) out.

Pure code. Nothing here reads the clock, a database or the network; the caller passes ``now``
(an aware instant) and the reminders already stored, and gets back a :class:`Plan`, a value
that says which reminders to create and which stored ones to cancel or skip, each with a
:class:`PlanReason`. The store applies it; the log and ``tracker reminders`` show the reasons.

Rules (SPEC 5 and 6):

* A reminder is (agreement, deadline kind, deadline date, party, offset, channel). For every
  deadline up to ``now + planning_horizon`` there is one per offset (the agreement's
  ``reminders`` or the configured ones) per channel (the agreement's ``channels`` or the
  configured ``default_channels``), for the deadline kinds ``reminder_kinds`` allows.
* It is due at ``send_time`` local time in the agreement's zone (else the configured
  ``timezone``) on ``deadline date − offset``, stored as aware UTC. Across a DST change the
  wall-clock time is kept (09:00 stays 09:00 local, so the UTC instant moves by an hour). A
  local time that does not exist (inside the spring-forward gap, e.g. 02:30 in Berlin on the
  last Sunday of March) resolves to the same wall-clock time read with the offset in force
  *before* the gap (``fold=0``), i.e. one hour later on the wall clock once the clocks jumped
  (02:30 CET = 03:30 CEST). An ambiguous time (the repeated autumn hour) takes its first
  occurrence (``fold=0``, still summer time). Both choices are deterministic.
* Missed reminders: when reminders' times have passed (the service was down, or the deadline
  was just added), per deadline and channel only the most recent missed one is sent, and only
  if the deadline is still ahead (its date >= today in the agreement's zone). Earlier missed
  ones, and every missed one of a deadline already past, become ``skipped``.
* A stored reminder whose deadline no longer follows from the agreement (a timely notice ended
  the renewals, an event or rule was edited, the agreement was removed) becomes ``cancelled``.
  Agreements whose deadlines could not be computed this time are left alone.
* A deadline that someone acknowledged gets no new reminders either.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline
from tracker.domain.durations import Duration, shift, shift_within
from tracker.domain.reminder import FINAL_STATUSES, ReminderStatus
from tracker.settings import Settings

#: Length of the random-looking part of a webhook id ("msg_" + this many base32 characters;
#: 26 characters carry 130 bits, as many as the ids in the Standard Webhooks examples).
WEBHOOK_ID_CHARS = 26


class PlanReason(StrEnum):
    """Why a reminder was created or changed; stored in the row's ``reason`` and logged."""

    SCHEDULED = "scheduled"  # new, due in the future
    MISSED_LATEST = "missed_latest"  # its time passed; the most recent for its deadline: send now
    MISSED_SUPERSEDED = "missed_superseded"  # its time passed and a later one covers it
    DEADLINE_PASSED = "deadline_passed"  # its time passed and so did its deadline
    DEADLINE_GONE = "deadline_gone"  # the deadline no longer follows from the agreement
    AGREEMENT_GONE = "agreement_gone"  # the agreement was removed
    ACKNOWLEDGED = "acknowledged"  # someone acknowledged the deadline


@dataclass(frozen=True, slots=True, order=True)
class ReminderKey:
    """The unique key of a reminder, as stored (party ``""`` when none)."""

    agreement: str
    deadline_kind: str
    deadline_date: date
    party: str
    offset: str  # canonical duration text, e.g. "30 days"
    channel: str

    @property
    def deadline_key(self) -> tuple[str, str, date, str]:
        return (self.agreement, self.deadline_kind, self.deadline_date, self.party)

    def webhook_id(self) -> str:
        """``msg_`` + 26 base32 characters of SHA-256 of the key: the same id on every retry,
        restart and replica, so receivers can use it as their idempotency key."""
        text = "|".join(
            (
                self.agreement,
                self.deadline_kind,
                self.deadline_date.isoformat(),
                self.party,
                self.offset,
                self.channel,
            )
        )
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return "msg_" + base64.b32encode(digest).decode("ascii").lower()[:WEBHOOK_ID_CHARS]


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """A reminder that follows from a deadline, with the status to store when it is new."""

    key: ReminderKey
    due_at: datetime  # aware UTC
    deadline: Deadline
    status: ReminderStatus = ReminderStatus.PENDING
    reason: PlanReason = PlanReason.SCHEDULED

    @property
    def webhook_id(self) -> str:
        return self.key.webhook_id()

    def deadline_json(self) -> str:
        return json.dumps(self.deadline.to_dict(), sort_keys=True)


@dataclass(frozen=True, slots=True)
class StoredReminder:
    """What the planner needs to know about a reminder already in the outbox."""

    id: int
    key: ReminderKey
    status: ReminderStatus
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """A stored reminder moving to ``status`` (cancelled or skipped), and why."""

    id: int
    key: ReminderKey
    status: ReminderStatus
    reason: PlanReason
    detail: str

    @property
    def reason_text(self) -> str:
        return f"{self.reason.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of planning: rows to insert (new keys only) and stored rows to change."""

    new: list[PlannedReminder] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def due_instant(day: date, send_time: time, zone: ZoneInfo) -> datetime:
    """``send_time`` on ``day`` in ``zone`` as aware UTC (see the module doc for DST gaps)."""
    local = datetime.combine(day, send_time).replace(tzinfo=zone, fold=0)
    return local.astimezone(UTC)


def _due_within(day: date, send_time: time, zone: ZoneInfo) -> datetime | None:
    """:func:`due_instant`, or None when that instant lies outside the calendar in UTC."""
    try:
        return due_instant(day, send_time, zone)
    except OverflowError:
        return None


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def _zone_of(agreement: Agreement | None, settings: Settings) -> ZoneInfo:
    return ZoneInfo((agreement.timezone if agreement else None) or settings.timezone)


def reminders_for(
    deadline: Deadline, agreement: Agreement | None, settings: Settings
) -> list[tuple[ReminderKey, datetime]]:
    """Every (key, due instant) a deadline yields, before any decision about the past."""
    if not settings.reminder_kind_allowed(deadline.kind.value):
        return []
    offsets: Sequence[Duration] = (
        agreement.reminders if agreement and agreement.reminders is not None else settings.reminders
    )
    channels = agreement.channels if agreement and agreement.channels else settings.default_channels
    zone = _zone_of(agreement, settings)
    out = []
    # Equal offsets written differently ("1 week", "7 days") are one reminder.
    for offset in dict.fromkeys(offsets):
        day = shift_within(deadline.date, offset, times=-1)
        due = _due_within(day, settings.send_time, zone) if day is not None else None
        if due is None:
            continue  # before year 1 or after 9999: no such moment, so no such reminder
        for channel in dict.fromkeys(channels):
            key = ReminderKey(
                deadline.agreement,
                deadline.kind.value,
                deadline.date,
                deadline.party or "",
                offset.canonical(),
                channel,
            )
            out.append((key, due))
    return out


def plan_reminders(
    deadlines: Iterable[Deadline],
    agreements: Mapping[str, Agreement],
    stored: Iterable[StoredReminder],
    settings: Settings,
    *,
    now: datetime,
    failed: frozenset[str] = frozenset(),
) -> Plan:
    """Reconcile the reminders that follow from ``deadlines`` with the ``stored`` ones.

    ``deadlines`` must cover at least ``[yesterday (UTC), now + planning_horizon]`` for every
    agreement in ``agreements``, so that a deadline still "today" in a zone behind UTC is seen
    (deadlines further ahead are ignored here; stored reminders of earlier deadlines are
    skipped when their time has passed, cancelled otherwise). ``failed``
    names agreements whose deadlines could not be computed: their stored reminders are kept
    as they are. Returns a :class:`Plan`; applying it twice changes nothing the second time.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    horizon_end = local_today(now, ZoneInfo("UTC")) + timedelta(days=1)
    horizon_end = shift(horizon_end, settings.planning_horizon)
    known_channels = settings.all_channels()
    problems: list[str] = []

    by_key: dict[ReminderKey, StoredReminder] = {}
    acknowledged_deadlines: set[tuple[str, str, date, str]] = set()
    for row in stored:
        by_key[row.key] = row
        if row.status == ReminderStatus.ACKNOWLEDGED:
            acknowledged_deadlines.add(row.key.deadline_key)

    wanted: dict[ReminderKey, tuple[datetime, Deadline]] = {}
    for deadline in deadlines:
        if deadline.date > horizon_end:
            continue
        agreement = agreements.get(deadline.agreement)
        for key, due in reminders_for(deadline, agreement, settings):
            if key.channel not in known_channels:
                problems.append(
                    f"agreement {key.agreement}: channel {key.channel!r} is not configured"
                )
                continue
            wanted[key] = (due, deadline)

    # The missed rule looks at every reminder of a (deadline, channel), stored or new, whose
    # time has passed and that was never attempted; the latest one may go out.
    missed: dict[tuple[tuple[str, str, date, str], str], list[tuple[datetime, ReminderKey]]] = (
        defaultdict(list)
    )
    for key, (due, _deadline) in wanted.items():
        seen = by_key.get(key)
        never_tried = seen is None or seen.status == ReminderStatus.PENDING
        if due <= now and never_tried:
            missed[(key.deadline_key, key.channel)].append((due, key))
    latest: set[ReminderKey] = set()
    superseded: dict[ReminderKey, ReminderKey] = {}
    passed: set[ReminderKey] = set()
    for (deadline_key, _channel), items in missed.items():
        items.sort()
        agreement = agreements.get(deadline_key[0])
        today = local_today(now, _zone_of(agreement, settings))
        if deadline_key[2] < today:
            passed.update(k for _, k in items)
            continue
        last = items[-1][1]
        latest.add(last)
        for _, key in items[:-1]:
            superseded[key] = last

    new: list[PlannedReminder] = []
    changes: list[Change] = []
    unchanged = 0
    for key in sorted(wanted):
        due, deadline = wanted[key]
        existing = by_key.get(key)
        if existing is None:
            if key.deadline_key in acknowledged_deadlines:
                new.append(
                    PlannedReminder(
                        key, due, deadline, ReminderStatus.ACKNOWLEDGED, PlanReason.ACKNOWLEDGED
                    )
                )
            elif key in passed:
                new.append(
                    PlannedReminder(
                        key, due, deadline, ReminderStatus.SKIPPED, PlanReason.DEADLINE_PASSED
                    )
                )
            elif key in superseded:
                new.append(
                    PlannedReminder(
                        key, due, deadline, ReminderStatus.SKIPPED, PlanReason.MISSED_SUPERSEDED
                    )
                )
            elif key in latest:
                new.append(
                    PlannedReminder(
                        key, due, deadline, ReminderStatus.PENDING, PlanReason.MISSED_LATEST
                    )
                )
            else:
                new.append(PlannedReminder(key, due, deadline))
            continue
        if key in passed:
            changes.append(
                Change(
                    existing.id,
                    key,
                    ReminderStatus.SKIPPED,
                    PlanReason.DEADLINE_PASSED,
                    f"deadline {key.deadline_date} passed before it was sent",
                )
            )
        elif key in superseded:
            changes.append(
                Change(
                    existing.id,
                    key,
                    ReminderStatus.SKIPPED,
                    PlanReason.MISSED_SUPERSEDED,
                    f"missed; the {superseded[key].offset} reminder covers it",
                )
            )
        else:
            unchanged += 1

    for key, row in by_key.items():
        if key in wanted or row.status in FINAL_STATUSES or key.agreement in failed:
            continue
        if key.agreement not in agreements:
            changes.append(
                Change(
                    row.id,
                    key,
                    ReminderStatus.CANCELLED,
                    PlanReason.AGREEMENT_GONE,
                    f"agreement {key.agreement} was removed",
                )
            )
        elif key.deadline_date > horizon_end:
            # Planned under a longer horizon; still valid, and a shorter horizon is no reason
            # to forget a reminder.
            unchanged += 1
        else:
            changes.append(_vanished(row, key, agreements, settings, now=now))
    return Plan(new=new, changes=changes, unchanged=unchanged, problems=sorted(set(problems)))


def _vanished(
    row: StoredReminder,
    key: ReminderKey,
    agreements: Mapping[str, Agreement],
    settings: Settings,
    *,
    now: datetime,
) -> Change:
    """A stored reminder that no longer follows from its agreement.

    Its deadline either no longer exists (cancelled), or still exists but no longer wants this
    offset, channel or kind (cancelled too: configuration changed what is wanted).
    """
    agreement = agreements.get(key.agreement)
    today = local_today(now, _zone_of(agreement, settings))
    if key.deadline_date < today and row.due_at <= now:
        return Change(
            row.id,
            key,
            ReminderStatus.SKIPPED,
            PlanReason.DEADLINE_PASSED,
            f"deadline {key.deadline_date} passed before it was sent",
        )
    return Change(
        row.id,
        key,
        ReminderStatus.CANCELLED,
        PlanReason.DEADLINE_GONE,
        f"{key.deadline_kind} on {key.deadline_date} no longer follows from {key.agreement}",
    )


@dataclass(frozen=True, slots=True)
class Simulated:
    """A reminder that would go out on ``day`` (its local date in the agreement's zone)."""

    day: date
    key: ReminderKey
    due_at: datetime
    deadline: Deadline


def simulate(
    agreements: Sequence[Agreement], settings: Settings, *, start: date, end: date
) -> tuple[list[Simulated], dict[str, str]]:
    """Every reminder a continuously running service would send from ``start`` to ``end``
    (inclusive), each once, deciding each day with the deadlines as of that day (so events
    recorded later are not yet known). Returns the reminders in sending order and the
    agreements whose rules failed (id -> error). Sends and stores nothing.
    """
    from tracker.domain.rules import compute_deadlines

    known_channels = settings.all_channels()
    seen: set[ReminderKey] = set()
    out: list[Simulated] = []
    failed: dict[str, str] = {}
    for agreement in agreements:
        offsets = agreement.reminders if agreement.reminders is not None else settings.reminders
        # Only deadlines within the longest offset of a day can have a reminder on that day.
        lead = max((o.approx_days() for o in offsets), default=0.0)
        lead_days = int(lead) + 2
        zone = _zone_of(agreement, settings)
        # By ordinal, so that the last day of the calendar is a day like any other.
        for ordinal in range(start.toordinal(), end.toordinal() + 1):
            day = date.fromordinal(ordinal)
            ahead = date.fromordinal(min(ordinal + lead_days, date.max.toordinal()))
            try:
                deadlines = compute_deadlines(agreement, as_of=day, start=day, end=ahead)
            except Exception as exc:
                failed[agreement.id] = f"{type(exc).__name__}: {exc}"
                break
            for deadline in deadlines:
                for key, due in reminders_for(deadline, agreement, settings):
                    if key in seen or key.channel not in known_channels:
                        continue
                    if due.astimezone(zone).date() == day:
                        seen.add(key)
                        out.append(Simulated(day, key, due, deadline))
    out.sort(key=lambda s: (s.due_at, s.key))
    return out, failed
