"""iCalendar output for deadlines: the ``/calendar.ics`` feed, ``--format ics`` and the
attachment of reminder emails all come from here, so a deadline has one UID everywhere.

Output is deterministic: the same deadlines give byte-identical calendars (no "now" stamp
unless one is passed; ``DTSTAMP`` is derived from the deadline itself), so clients and caches
see no change when nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vDuration

from tracker.domain.deadline import Deadline
from tracker.domain.wording import headline

#: The alarms of a deadline: each a trigger relative to the event's start (see
#: :func:`tracker.domain.alarms.alarm_triggers`).
Alarms = Callable[[Deadline], Sequence[timedelta]]

PRODID = "-//treaty-tracker//deadlines//EN"
UID_DOMAIN = "treaty-tracker"
#: How often a subscribed client should poll the feed.
REFRESH_INTERVAL = timedelta(hours=6)


def deadline_uid(agreement: str, kind: str, day: date, party: str | None) -> str:
    """Stable UID of one deadline: the same deadline keeps it across recomputations."""
    return f"{agreement}.{kind}.{day.isoformat()}.{party or 'all'}@{UID_DOMAIN}"


def deadline_event(d: Deadline, *, alarms: Sequence[timedelta] = ()) -> Event:
    """One all-day ``VEVENT`` for a deadline: ``SUMMARY`` says what happens or what is due
    (:func:`tracker.domain.wording.headline`), the description holds the title, explanation,
    source and weekday note, ``CATEGORIES`` the kind and the action (and an expiry's
    outcome), ``X-TRACKER-ACTION``/``X-TRACKER-OUTCOME`` the same for scripts; one
    ``VALARM`` (``ACTION:DISPLAY``) per trigger in ``alarms``."""
    event = Event()
    event.add("uid", deadline_uid(d.agreement, d.kind.value, d.date, d.party))
    # DTSTAMP must be present; deriving it from the date keeps the output reproducible.
    event.add("dtstamp", datetime(d.date.year, d.date.month, d.date.day, tzinfo=UTC))
    event.add("dtstart", d.date)
    if d.date < date.max:  # without DTEND an all-day event lasts its one day (RFC 5545 3.6.1)
        event.add("dtend", d.date + timedelta(days=1))
    summary = headline(d)
    event.add("summary", summary)
    lines = [d.title, d.explanation]
    if d.source:
        lines.append(f"Source: {d.source}")
    if d.weekday_note:
        lines.append(d.weekday_note)
    event.add("description", "\n".join(lines))
    categories = [d.kind.value, d.action.value]
    if d.outcome is not None:
        categories.append(d.outcome.value)
    event.add("categories", categories)
    event.add("x-tracker-action", d.action.value)
    if d.outcome is not None:
        event.add("x-tracker-outcome", d.outcome.value)
    event.add("transp", "TRANSPARENT")
    for trigger in alarms:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", trigger)
        event.add_component(alarm)
    return event


def build_calendar(
    deadlines: Iterable[Deadline],
    *,
    name: str = "Treaty deadlines",
    method: str | None = None,
    errors: Iterable[tuple[str, str]] = (),
    alarms: Alarms | None = None,
) -> bytes:
    """A ``VCALENDAR`` with one all-day event per deadline, sorted by date then UID.

    ``method`` is ``PUBLISH`` for email attachments; the subscription feed omits it.
    ``errors`` are (agreement id, why) of agreements whose deadlines are missing: each
    becomes an ``X-TRACKER-ERROR`` property of the calendar (an RFC 5545 x-prop, which
    calendar clients ignore and a person or script reading the feed can find).
    ``alarms`` gives each deadline's ``VALARM`` triggers (none without it).
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", vDuration(REFRESH_INTERVAL), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    for agreement, detail in errors:
        cal.add("x-tracker-error", f"{agreement}: {detail}")
    events = [deadline_event(d, alarms=alarms(d) if alarms else ()) for d in deadlines]
    events.sort(key=lambda e: (e.decoded("dtstart"), str(e["uid"])))
    for event in events:
        cal.add_component(event)
    return bytes(cal.to_ical())
