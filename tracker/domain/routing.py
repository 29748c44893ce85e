"""Who gets which reminder: routes, escalations and digest schedules (pure values and rules).

Nothing here reads the clock or the configuration; ``Settings`` builds these values and the
planner (:mod:`tracker.domain.planner`) and the digest job apply them.

Routes work like Alertmanager's: an ordered list, each with a ``match`` and ``channels``.

* A route matches a deadline when every key it gives matches (across keys: all); a key
  matches when any of its values does (within a key: any). ``tags`` match the agreement's
  tags, ``kinds`` the deadline's kind, ``parties`` the deadline's party or, for a deadline of
  no one party, any of the agreement's parties, ``agreements`` the agreement id. A route
  without keys matches every deadline (a catch-all).
* Routes are tried in order; the first matching route decides, unless it says
  ``continue: true``, in which case the next matching routes add their channels too.
* An agreement's own ``channels`` win over every route; a deadline no route matches goes to
  ``default_channels``.

Escalations add reminders on other channels for ``act_by`` deadlines only, at ``when_left``
before the deadline; an acknowledgement of the deadline cancels them (the planner treats them
like any reminder of that deadline).

Digest schedules are ``"MON 08:00"`` (weekly, on that weekday) or ``"daily 08:00"``, read in
the configured zone. A digest occurrence is identified by its name and its local day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Action, Deadline
from tracker.domain.durations import Duration

#: Schedule weekday names, Monday first (``date.weekday()`` order).
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
DAILY = "daily"
_SCHEDULE = re.compile(r"^\s*(?P<day>[A-Za-z]+)\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*$")


class Purpose(StrEnum):
    """What a row of the outbox is for; part of its unique key."""

    REMINDER = "reminder"
    ESCALATION = "escalation"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Match:
    """The conditions of a route or an escalation; an empty key is not a condition."""

    tags: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    parties: frozenset[str] = frozenset()
    agreements: frozenset[str] = frozenset()

    def matches(self, deadline: Deadline, agreement: Agreement | None) -> bool:
        if self.kinds and deadline.kind.value not in self.kinds:
            return False
        if self.agreements and deadline.agreement not in self.agreements:
            return False
        if self.tags and not self.tags.intersection(agreement.tags if agreement else ()):
            return False
        if self.parties:
            if deadline.party:
                parties: Iterable[str] = (deadline.party,)
            else:
                parties = agreement.parties if agreement else ()
            if not self.parties.intersection(parties):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of ``routes``: where matching deadlines' reminders go."""

    match: Match
    channels: tuple[str, ...]
    continue_: bool = False


@dataclass(frozen=True, slots=True)
class Escalation:
    """One entry of ``escalations``: at ``when_left`` before an unacknowledged ``act_by``
    deadline that ``match`` accepts, ``channels`` are reminded too."""

    match: Match
    when_left: Duration
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Routed:
    """A channel a deadline's reminders go to, and which setting sent them there
    (``agreement``, ``routes[0]``, ``default_channels``, ``escalations[1]``)."""

    channel: str
    via: str


def route(
    deadline: Deadline,
    agreement: Agreement | None,
    routes: Sequence[Route],
    default: Sequence[str],
) -> list[Routed]:
    """The channels of a deadline's reminders, in order, each once (see the module doc)."""
    if agreement is not None and agreement.channels:
        return [Routed(c, "agreement") for c in dict.fromkeys(agreement.channels)]
    out: dict[str, Routed] = {}
    matched = False
    for index, candidate in enumerate(routes):
        if not candidate.match.matches(deadline, agreement):
            continue
        matched = True
        for channel in candidate.channels:
            out.setdefault(channel, Routed(channel, f"routes[{index}]"))
        if not candidate.continue_:
            break
    if not matched:
        return [Routed(c, "default_channels") for c in dict.fromkeys(default)]
    return list(out.values())


def escalations_for(
    deadline: Deadline, agreement: Agreement | None, escalations: Sequence[Escalation]
) -> list[tuple[Duration, Routed]]:
    """(when_left, channel) of every escalation of an ``act_by`` deadline; an equal
    (when_left, channel) pair from two entries is one escalation (the first names it)."""
    if deadline.action != Action.ACT_BY:
        return []
    out: dict[tuple[Duration, str], Routed] = {}
    for index, escalation in enumerate(escalations):
        if not escalation.match.matches(deadline, agreement):
            continue
        for channel in escalation.channels:
            out.setdefault(
                (escalation.when_left, channel), Routed(channel, f"escalations[{index}]")
            )
    return [(when_left, routed) for (when_left, _), routed in out.items()]


# --- digests ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a digest goes out: every day (``weekday`` None) or one weekday, at ``at`` local
    time."""

    weekday: int | None
    at: time

    def __str__(self) -> str:
        day = DAILY if self.weekday is None else WEEKDAYS[self.weekday]
        return f"{day} {self.at:%H:%M}"


def parse_schedule(text: str) -> Schedule:
    """``"MON 08:00"`` (any case, MON..SUN) or ``"daily 08:00"``; ValueError otherwise."""
    found = _SCHEDULE.match(text)
    expected = "expected 'daily HH:MM' or a weekday and a time such as 'MON 08:00'"
    if found is None:
        raise ValueError(f"{text!r} is not a schedule ({expected})")
    day = found.group("day").upper()
    hour, minute = int(found.group("hour")), int(found.group("minute"))
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r}: {hour:02d}:{minute:02d} is not a time of day")
    if day == DAILY.upper():
        return Schedule(None, time(hour, minute))
    if day not in WEEKDAYS:
        raise ValueError(f"{text!r}: {found.group('day')!r} is not a weekday ({expected})")
    return Schedule(WEEKDAYS.index(day), time(hour, minute))


@dataclass(frozen=True, slots=True)
class DigestSpec:
    """One entry of ``digests``: ``channel`` gets, on ``schedule``, every deadline that
    ``match`` accepts in the coming ``within``."""

    name: str
    channel: str
    schedule: Schedule
    within: Duration
    match: Match


def occurrence_today(schedule: Schedule, *, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The scheduled instant of today (the local day of ``now`` in ``zone``) if the schedule
    has one today and it is not later than ``now``; else None.

    Only today's occurrence is ever due: a digest missed while the service was down is sent
    when it starts the same day, never a day late (the next one comes on schedule). A local
    time inside a spring-forward gap resolves as reminders do (``fold=0``).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    today = now.astimezone(zone).date()
    if schedule.weekday is not None and today.weekday() != schedule.weekday:
        return None
    moment = datetime.combine(today, schedule.at).replace(tzinfo=zone, fold=0)
    return moment if moment <= now else None


def digest_window(day: date, within: Duration) -> tuple[date, date]:
    """The days a digest of ``day`` lists: ``day`` to ``day + within`` inclusive (months
    and years by calendar: ``1 month`` from 31 January ends on the last day of February)."""
    from tracker.domain.durations import shift

    return day, shift(day, within)


def digest_entries(
    deadlines: Iterable[Deadline],
    agreements: dict[str, Agreement],
    spec: DigestSpec,
    *,
    day: date,
) -> list[Deadline]:
    """The deadlines a digest of ``day`` lists: those ``spec.match`` accepts within its
    window, ordered by date (then agreement, kind, party), ``days_left`` counted from ``day``."""
    first, last = digest_window(day, spec.within)
    chosen = [
        d
        for d in deadlines
        if first <= d.date <= last and spec.match.matches(d, agreements.get(d.agreement))
    ]
    chosen.sort(key=lambda d: (d.date, d.agreement, d.kind.value, d.party or ""))
    return [replace(d, days_left=(d.date - day).days) for d in chosen]
