"""Calendar alarms: when a subscribed calendar should remind by itself.

An ``act_by`` or ``act_from`` deadline in the iCalendar feed carries one ``VALARM`` per
reminder offset in force for it (the agreement's ``reminders``, else the configured ones; none
for a kind that ``reminder_kinds`` leaves out), at the configured ``send_time`` of the day the
service itself would remind. ``info`` dates (an expiry, a withdrawal taking effect) ask
nothing of the reader and get no alarm.

A trigger is relative to the all-day event's start (midnight of the deadline day): "90 days"
before 2020-08-24 at 09:00 is ``-P89DT15H``. Months and years are counted on the calendar
from the deadline day, as the planner counts them (6 months before 2024-08-31 is 2024-02-29,
184 days), so the alarm falls on the same day as the service's own reminder; an offset that
would reach before year 1 gives no alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from tracker.domain.deadline import Action, Deadline
from tracker.domain.durations import Duration, shift_within

_ALERTING = frozenset({Action.ACT_BY, Action.ACT_FROM})


def alarm_triggers(
    deadline: Deadline,
    offsets: Sequence[Duration],
    *,
    send_time: time,
    kinds: frozenset[str] | None = None,
) -> list[timedelta]:
    """The ``TRIGGER`` of each alarm of ``deadline``, earliest first: the offsets in force,
    each at ``send_time`` on the day it falls on; none for an ``info`` deadline or a kind
    outside ``kinds`` (None: every kind)."""
    if deadline.action not in _ALERTING:
        return []
    if kinds is not None and deadline.kind.value not in kinds:
        return []
    at = datetime.combine(deadline.date, send_time) - datetime.combine(deadline.date, time())
    triggers: set[timedelta] = set()
    for offset in offsets:
        day = shift_within(deadline.date, offset, times=-1)
        if day is not None:
            triggers.add(timedelta(days=(day - deadline.date).days) + at)
    return sorted(triggers)
