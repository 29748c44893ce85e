"""Reminder planning: deadlines in, reminders (and what to do with existing ones) out.

Pure code. Nothing here reads the clock, a database, the network or the configuration; the
caller passes ``now`` (an aware instant), the reminders already stored and a
:class:`ReminderPolicy` (what the configuration says, built by
``Settings.reminder_policy()``), and gets back a :class:`Plan`, a value that says which
reminders to create and which stored ones to cancel or skip, each with a :class:`PlanReason`.
The store applies it; the log and ``tracker reminders`` show the reasons.

Rules (SPEC 5 and 6):

* A reminder is (agreement, deadline kind, deadline date, party, offset, channel, purpose).
  For every deadline up to ``now + planning_horizon`` there is one per offset (the
  agreement's ``reminders`` or the configured ones) per channel (the agreement's
  ``channels``, else the channels the configured ``routes`` choose, else
  ``default_channels``: :func:`tracker.domain.routing.route`), for the deadline kinds
  ``reminder_kinds`` allows. ``act_by`` deadlines also get one escalation (purpose
  ``escalation``, offset ``when_left``) per channel of each matching ``escalations`` entry.
* Changing routes re-plans: stored reminders of a channel no longer routed are cancelled
  (reason ``not_routed``), the newly routed channels get new rows, and a key already stored
  is never inserted again, so nothing is sent twice.
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
* A deadline that someone acknowledged (``acknowledged``, or a stored row with that status)
  gets no new reminders or escalations either: new rows are stored as ``acknowledged``.
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
from tracker.domain.routing import Escalation, Purpose, Route, escalations_for, route

#: Length of the random-looking part of a webhook id ("msg_" + this many base32 characters;
#: 26 characters carry 130 bits, as many as the ids in the Standard Webhooks examples).
WEBHOOK_ID_CHARS = 26


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """The configuration the planner reads, as one value (``Settings.reminder_policy()``).

    ``offsets`` and ``channels`` apply to agreements that name none of their own; ``kinds``
    are the deadline kinds that get reminders (None: all); ``known_channels`` are the
    channels that can deliver (the configured ones and the built-in ``log``); ``zone`` is the
    zone of agreements without a ``timezone``; ``horizon`` is how far ahead reminders are
    planned.
    """

    offsets: tuple[Duration, ...]
    channels: tuple[str, ...]
    known_channels: frozenset[str]
    kinds: frozenset[str] | None
    send_time: time
    zone: ZoneInfo
    horizon: Duration
    routes: tuple[Route, ...] = ()
    escalations: tuple[Escalation, ...] = ()

    def kind_allowed(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def zone_of(self, agreement: Agreement | None) -> ZoneInfo:
        """The agreement's own zone, else the configured one."""
        if agreement is not None and agreement.timezone:
            return ZoneInfo(agreement.timezone)
        return self.zone


class PlanReason(StrEnum):
    """Why a reminder was created or changed; stored in the row's ``reason`` and logged."""

    SCHEDULED = "scheduled"  # new, due in the future
    MISSED_LATEST = "missed_latest"  # its time passed; the most recent for its deadline: send now
    MISSED_SUPERSEDED = "missed_superseded"  # its time passed and a later one covers it
    DEADLINE_PASSED = "deadline_passed"  # its time passed and so did its deadline
    DEADLINE_GONE = "deadline_gone"  # the deadline no longer follows from the agreement
    AGREEMENT_GONE = "agreement_gone"  # the agreement was removed
    ACKNOWLEDGED = "acknowledged"  # someone acknowledged the deadline
    NOT_ROUTED = "not_routed"  # the deadline stays, but no longer wants this offset or channel


@dataclass(frozen=True, slots=True, order=True)
class ReminderKey:
    """The unique key of a reminder, as stored (party ``""`` when none). ``purpose`` is
    ``reminder`` or ``escalation`` (an escalation's ``offset`` is its ``when_left``)."""

    agreement: str
    deadline_kind: str
    deadline_date: date
    party: str
    offset: str  # canonical duration text, e.g. "30 days"
    channel: str
    purpose: str = Purpose.REMINDER.value

    @property
    def deadline_key(self) -> tuple[str, str, date, str]:
        return (self.agreement, self.deadline_kind, self.deadline_date, self.party)

    def webhook_id(self) -> str:
        """``msg_`` + 26 base32 characters of SHA-256 of the key: the same id on every retry,
        restart and replica, so receivers can use it as their idempotency key. (The purpose
        joins the hashed text only when it is not ``reminder``, so ids of reminders planned
        before escalations existed stay what they were.)"""
        parts = [
            self.agreement,
            self.deadline_kind,
            self.deadline_date.isoformat(),
            self.party,
            self.offset,
            self.channel,
        ]
        if self.purpose != Purpose.REMINDER.value:
            parts.append(self.purpose)
        text = "|".join(parts)
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


def reminders_for(
    deadline: Deadline, agreement: Agreement | None, policy: ReminderPolicy
) -> list[tuple[ReminderKey, datetime, str]]:
    """Every (key, due instant, why this channel) a deadline yields, before any decision
    about the past: its reminders on the routed channels, then its escalations."""
    if not policy.kind_allowed(deadline.kind.value):
        return []
    offsets: Sequence[Duration] = (
        agreement.reminders if agreement and agreement.reminders is not None else policy.offsets
    )
    routed = route(deadline, agreement, policy.routes, policy.channels)
    zone = policy.zone_of(agreement)
    out = []
    # Equal offsets written differently ("1 week", "7 days") are one reminder.
    wanted = [(offset, r, Purpose.REMINDER) for offset in dict.fromkeys(offsets) for r in routed]
    wanted += [
        (when_left, r, Purpose.ESCALATION)
        for when_left, r in escalations_for(deadline, agreement, policy.escalations)
    ]
    for offset, routed_to, purpose in wanted:
        day = shift_within(deadline.date, offset, times=-1)
        due = _due_within(day, policy.send_time, zone) if day is not None else None
        if due is None:
            continue  # before year 1 or after 9999: no such moment, so no such reminder
        key = ReminderKey(
            deadline.agreement,
            deadline.kind.value,
            deadline.date,
            deadline.party or "",
            offset.canonical(),
            routed_to.channel,
            purpose.value,
        )
        out.append((key, due, routed_to.via))
    return out


#: A deadline's identity in reminder keys: (agreement, kind, date, party).
_DeadlineKey = tuple[str, str, date, str]


def plan_reminders(
    deadlines: Iterable[Deadline],
    agreements: Mapping[str, Agreement],
    stored: Iterable[StoredReminder],
    policy: ReminderPolicy,
    *,
    now: datetime,
    failed: frozenset[str] = frozenset(),
    acknowledged: Iterable[tuple[str, str, date, str]] = (),
) -> Plan:
    """Reconcile the reminders that follow from ``deadlines`` with the ``stored`` ones.

    ``deadlines`` must cover at least ``[yesterday (UTC), now + policy.horizon]`` for every
    agreement in ``agreements``, so that a deadline still "today" in a zone behind UTC is seen
    (deadlines further ahead are ignored here; stored reminders of earlier deadlines are
    skipped when their time has passed, cancelled otherwise). ``failed``
    names agreements whose deadlines could not be computed: their stored reminders are kept
    as they are. ``acknowledged`` names deadlines (agreement, kind, date, party) someone
    acknowledged. Returns a :class:`Plan`; applying it twice changes nothing the second time.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    horizon_end = shift(local_today(now, ZoneInfo("UTC")) + timedelta(days=1), policy.horizon)
    by_key: dict[ReminderKey, StoredReminder] = {}
    done: set[_DeadlineKey] = set(acknowledged)
    for row in stored:
        by_key[row.key] = row
        if row.status == ReminderStatus.ACKNOWLEDGED:
            done.add(row.key.deadline_key)
    wanted, problems = _wanted(deadlines, agreements, policy, horizon_end)
    missed = _decide_missed(wanted, by_key, agreements, policy, now=now)
    new, changes, unchanged = _reconcile_wanted(wanted, by_key, done, missed)
    orphan_changes, orphans_unchanged = _reconcile_orphans(
        by_key, wanted, agreements, policy, now=now, failed=failed, horizon_end=horizon_end
    )
    return Plan(
        new=new,
        changes=changes + orphan_changes,
        unchanged=unchanged + orphans_unchanged,
        problems=sorted(set(problems)),
    )


def _wanted(
    deadlines: Iterable[Deadline],
    agreements: Mapping[str, Agreement],
    policy: ReminderPolicy,
    horizon_end: date,
) -> tuple[dict[ReminderKey, tuple[datetime, Deadline]], list[str]]:
    """Every reminder the deadlines up to ``horizon_end`` call for (key -> due instant and
    deadline), and a problem for each one on a channel that is not configured."""
    wanted: dict[ReminderKey, tuple[datetime, Deadline]] = {}
    problems: list[str] = []
    for deadline in deadlines:
        if deadline.date > horizon_end:
            continue
        agreement = agreements.get(deadline.agreement)
        for key, due, _via in reminders_for(deadline, agreement, policy):
            if key.channel not in policy.known_channels:
                problems.append(
                    f"agreement {key.agreement}: channel {key.channel!r} is not configured"
                )
                continue
            wanted[key] = (due, deadline)
    return wanted, problems


@dataclass(slots=True)
class _Missed:
    """What the missed rule decided for reminders whose time has passed unsent."""

    latest: set[ReminderKey] = field(default_factory=set)  # send now
    superseded: dict[ReminderKey, ReminderKey] = field(default_factory=dict)  # -> the latest
    passed: set[ReminderKey] = field(default_factory=set)  # their deadline passed too


def _decide_missed(
    wanted: Mapping[ReminderKey, tuple[datetime, Deadline]],
    by_key: Mapping[ReminderKey, StoredReminder],
    agreements: Mapping[str, Agreement],
    policy: ReminderPolicy,
    *,
    now: datetime,
) -> _Missed:
    """The missed rule: it looks at every reminder of a (deadline, channel), stored or new,
    whose time has passed and that was never attempted; the latest one may go out."""
    # Escalations are grouped apart: a missed reminder never stands in for an escalation.
    groups: dict[tuple[_DeadlineKey, str, str], list[tuple[datetime, ReminderKey]]] = defaultdict(
        list
    )
    for key, (due, _deadline) in wanted.items():
        seen = by_key.get(key)
        never_tried = seen is None or seen.status == ReminderStatus.PENDING
        if due <= now and never_tried:
            groups[(key.deadline_key, key.channel, key.purpose)].append((due, key))
    missed = _Missed()
    for (deadline_key, _channel, _purpose), items in groups.items():
        items.sort()
        today = local_today(now, policy.zone_of(agreements.get(deadline_key[0])))
        if deadline_key[2] < today:
            missed.passed.update(k for _, k in items)
            continue
        last = items[-1][1]
        missed.latest.add(last)
        for _, key in items[:-1]:
            missed.superseded[key] = last
    return missed


def _reconcile_wanted(
    wanted: Mapping[ReminderKey, tuple[datetime, Deadline]],
    by_key: Mapping[ReminderKey, StoredReminder],
    acknowledged: set[_DeadlineKey],
    missed: _Missed,
) -> tuple[list[PlannedReminder], list[Change], int]:
    """New rows for wanted reminders not stored yet (none for a deadline someone
    acknowledged), changes for stored ones the missed rule skips, and how many stored ones
    stay as they are."""
    new: list[PlannedReminder] = []
    changes: list[Change] = []
    unchanged = 0
    for key in sorted(wanted):
        due, deadline = wanted[key]
        existing = by_key.get(key)
        if existing is None:
            status, reason = _new_status(key, acknowledged, missed)
            new.append(PlannedReminder(key, due, deadline, status, reason))
            continue
        change = _missed_change(existing, missed)
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    return new, changes, unchanged


def _new_status(
    key: ReminderKey, acknowledged: set[_DeadlineKey], missed: _Missed
) -> tuple[ReminderStatus, PlanReason]:
    """The status and reason of a reminder row about to be created."""
    if key.deadline_key in acknowledged:
        return ReminderStatus.ACKNOWLEDGED, PlanReason.ACKNOWLEDGED
    if key in missed.passed:
        return ReminderStatus.SKIPPED, PlanReason.DEADLINE_PASSED
    if key in missed.superseded:
        return ReminderStatus.SKIPPED, PlanReason.MISSED_SUPERSEDED
    if key in missed.latest:
        return ReminderStatus.PENDING, PlanReason.MISSED_LATEST
    return ReminderStatus.PENDING, PlanReason.SCHEDULED


def _missed_change(existing: StoredReminder, missed: _Missed) -> Change | None:
    """The change the missed rule makes to a stored reminder that is still wanted, if any."""
    key = existing.key
    if key in missed.passed:
        return Change(
            existing.id,
            key,
            ReminderStatus.SKIPPED,
            PlanReason.DEADLINE_PASSED,
            f"deadline {key.deadline_date} passed before it was sent",
        )
    if key in missed.superseded:
        return Change(
            existing.id,
            key,
            ReminderStatus.SKIPPED,
            PlanReason.MISSED_SUPERSEDED,
            f"missed; the {missed.superseded[key].offset} reminder covers it",
        )
    return None


def _reconcile_orphans(
    by_key: Mapping[ReminderKey, StoredReminder],
    wanted: Mapping[ReminderKey, tuple[datetime, Deadline]],
    agreements: Mapping[str, Agreement],
    policy: ReminderPolicy,
    *,
    now: datetime,
    failed: frozenset[str],
    horizon_end: date,
) -> tuple[list[Change], int]:
    """Changes for open stored reminders that are no longer wanted, and how many of them stay
    (those of agreements that failed this time, or planned under a longer horizon)."""
    changes: list[Change] = []
    unchanged = 0
    still = {key.deadline_key for key in wanted}
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
            changes.append(_vanished(row, agreements, policy, now=now, still=still))
    return changes, unchanged


def _vanished(
    row: StoredReminder,
    agreements: Mapping[str, Agreement],
    policy: ReminderPolicy,
    *,
    now: datetime,
    still: set[_DeadlineKey],
) -> Change:
    """A stored reminder that no longer follows from its agreement.

    Its deadline either no longer exists (cancelled), or still exists (it is in ``still``)
    but no longer wants this offset, channel or kind (cancelled too, reason ``not_routed``:
    the configuration or the agreement changed what is wanted).
    """
    key = row.key
    today = local_today(now, policy.zone_of(agreements.get(key.agreement)))
    if key.deadline_date < today and row.due_at <= now:
        return Change(
            row.id,
            key,
            ReminderStatus.SKIPPED,
            PlanReason.DEADLINE_PASSED,
            f"deadline {key.deadline_date} passed before it was sent",
        )
    if key.deadline_key in still:
        return Change(
            row.id,
            key,
            ReminderStatus.CANCELLED,
            PlanReason.NOT_ROUTED,
            f"the {key.offset} {key.purpose} of {key.deadline_kind} on {key.deadline_date} "
            f"no longer goes to {key.channel}",
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
    via: str = "default_channels"  # which setting chose the channel (see routing.Routed)


def simulate(
    agreements: Sequence[Agreement], policy: ReminderPolicy, *, start: date, end: date
) -> tuple[list[Simulated], dict[str, str]]:
    """Every reminder a continuously running service would send from ``start`` to ``end``
    (inclusive), each once, deciding each day with the deadlines as of that day (so events
    recorded later are not yet known). Returns the reminders in sending order and the
    agreements whose rules failed (id -> error). Sends and stores nothing.
    """
    from tracker.domain.rules import compute_deadlines

    seen: set[ReminderKey] = set()
    out: list[Simulated] = []
    failed: dict[str, str] = {}
    for agreement in agreements:
        offsets = agreement.reminders if agreement.reminders is not None else policy.offsets
        # Only deadlines within the longest offset of a day can have a reminder on that day.
        lead = max((o.approx_days() for o in offsets), default=0.0)
        lead_days = int(lead) + 2
        zone = policy.zone_of(agreement)
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
                for key, due, via in reminders_for(deadline, agreement, policy):
                    if key in seen or key.channel not in policy.known_channels:
                        continue
                    if due.astimezone(zone).date() == day:
                        seen.add(key)
                        out.append(Simulated(day, key, due, deadline, via))
    out.sort(key=lambda s: (s.due_at, s.key))
    return out, failed
