"""iCalendar output for deadlines: the ``/calendar.ics`` feed, ``--format ics`` and the
attachment of reminder emails all come from here, so a deadline has one UID everywhere.

Output is deterministic: the same deadlines give byte-identical calendars (no "now" stamp
unless one is passed; ``DTSTAMP`` is derived from the deadline itself), so clients and caches
see no change when nothing changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta

from icalendar import Calendar, vDuration

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


def _escaped(value: str) -> str:
    """A TEXT value escaped as ``icalendar``'s ``vText`` escapes it (RFC 5545 3.3.11; the
    order matters: backslashes first, any line break becomes ``\\n``). Written out because
    building a ``vText`` cost more than the rest of an event."""
    return (
        value.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _line(name: str, value: str) -> str:
    """One content line, escaped and folded exactly as ``icalendar`` writes it."""
    return _folded(f"{name}:{_escaped(value)}")


#: Longest piece of a folded line, in UTF-8 octets (RFC 5545 3.1: 75 with the leading space
#: of a continuation; icalendar counts 74 without it).
FOLD_OCTETS = 74


def _folded(line: str) -> str:
    """``line`` folded as ``icalendar``'s ``Contentline.to_ical`` folds it, plus CRLF.

    Each piece is the longest run of characters of at most :data:`FOLD_OCTETS` octets (at
    least one character); a piece that would end in a backslash or caret (the start of an
    escape), and is longer than one character, leaves that character to the next piece.
    The library does this one character at a time, which was most of the time of a feed;
    this measures whole pieces. tests/unit/test_feed_text.py holds the two equal.
    """
    n = len(line)
    if n <= FOLD_OCTETS and len(line.encode("utf-8")) <= FOLD_OCTETS:
        return line + "\r\n"
    pieces: list[str] = []
    i = 0
    while True:
        k = min(FOLD_OCTETS, n - i)
        size = len(line[i : i + k].encode("utf-8"))
        while size > FOLD_OCTETS:
            k -= 1
            size -= len(line[i + k].encode("utf-8"))
        if i + k >= n:
            pieces.append(line[i:])
            return "\r\n ".join(pieces) + "\r\n"
        if k > 1 and line[i + k - 1] in "\\^":
            k -= 1
        pieces.append(line[i : i + k])
        i += k


def _ymd(day: date) -> str:
    # Not strftime: it does not pad years before 1000 on every platform.
    return f"{day.year:04}{day.month:02}{day.day:02}"


@functools.lru_cache(maxsize=256)
def _duration(trigger: timedelta) -> str:
    text: bytes = vDuration(trigger).to_ical()  # type: ignore[no-untyped-call]
    return text.decode("ascii")


def event_text(d: Deadline, *, alarms: Sequence[timedelta] = ()) -> str:
    """One all-day ``VEVENT`` for a deadline: ``SUMMARY`` says what happens or what is due
    (:func:`tracker.domain.wording.headline`), the description holds the title, explanation,
    source and weekday note, ``CATEGORIES`` the kind and the action (and an expiry's
    outcome), ``X-TRACKER-ACTION``/``X-TRACKER-OUTCOME`` the same for scripts; one
    ``VALARM`` (``ACTION:DISPLAY``) per trigger in ``alarms``.

    Written as text, in the order and with the escaping and folding ``icalendar`` gives a
    component (its canonical properties first, then the others sorted by name): building
    one ``icalendar.Event`` cost about 0.4 ms, which made a 5,000-event feed take two
    seconds. ``tests/support/ical_reference.py`` keeps the component-built version, and a
    property test holds the two byte for byte.
    """
    day = _ymd(d.date)
    summary = headline(d)
    lines = [d.title, d.explanation]
    if d.source:
        lines.append(f"Source: {d.source}")
    if d.weekday_note:
        lines.append(d.weekday_note)
    categories = [d.kind.value, d.action.value]
    if d.outcome is not None:
        categories.append(d.outcome.value)
    parts = [
        "BEGIN:VEVENT\r\n",
        _line("SUMMARY", summary),
        f"DTSTART;VALUE=DATE:{day}\r\n",
    ]
    if d.date < date.max:  # without DTEND an all-day event lasts its one day (RFC 5545 3.6.1)
        parts.append(f"DTEND;VALUE=DATE:{_ymd(d.date + timedelta(days=1))}\r\n")
    # DTSTAMP must be present; deriving it from the date keeps the output reproducible.
    parts.append(f"DTSTAMP:{day}T000000Z\r\n")
    parts.append(_line("UID", deadline_uid(d.agreement, d.kind.value, d.date, d.party)))
    # A list value: each item escaped, the commas between them not.
    parts.append(_folded("CATEGORIES:" + ",".join(map(_escaped, categories))))
    parts.append(_line("DESCRIPTION", "\n".join(lines)))
    parts.append("TRANSP:TRANSPARENT\r\n")
    parts.append(_line("X-TRACKER-ACTION", d.action.value))
    if d.outcome is not None:
        parts.append(_line("X-TRACKER-OUTCOME", d.outcome.value))
    alarm_summary = _line("DESCRIPTION", summary)
    for trigger in alarms:
        parts += [
            "BEGIN:VALARM\r\nACTION:DISPLAY\r\n",
            alarm_summary,
            f"TRIGGER:{_duration(trigger)}\r\nEND:VALARM\r\n",
        ]
    parts.append("END:VEVENT\r\n")
    return "".join(parts)


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
    ordered = sorted(
        deadlines, key=lambda d: (d.date, deadline_uid(d.agreement, d.kind.value, d.date, d.party))
    )
    events = "".join(event_text(d, alarms=alarms(d) if alarms else ()) for d in ordered)
    head = bytes(cal.to_ical())
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    return head[: -len(end)] + events.encode("utf-8") + end
