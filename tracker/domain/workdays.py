"""Working days: is a deadline day a weekend or a public holiday of one of the parties?

A deadline that falls on a day when ministries are closed is still the deadline (treaty texts
count calendar days), but a desk officer needs to know when to act instead.
:func:`weekday_note` says so in one sentence, following what the date asks (its ``action``):

- ``act_by`` (the last day to do something): the last working day **before** it;
- ``act_from`` (the first day something may be done): the first working day **on or after**
  it, never a day before (a notice given then would be premature);
- ``info`` (something happens by itself): only the day is named.

A *working day* is Monday to Friday and not a public holiday of any party that is an ISO 3166-1
alpha-2 code known to the ``holidays`` package. Organisation parties (``EU``, ``UNESCO``,
``Euratom``) have no national calendar and are ignored. Holiday names are in English.

Holiday calendars are built once per (country, year) and notes are memoised per
(day, countries), because the engine asks for a note for every deadline it computes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache, lru_cache

import holidays

from tracker.domain.deadline import Action

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ONE_DAY = timedelta(days=1)
#: A calendar that cannot be built (a year outside the package's range) counts as no holidays.
_EMPTY: dict[date, str] = {}


@lru_cache(maxsize=1)
def _supported() -> frozenset[str]:
    return frozenset(code for code in holidays.list_supported_countries() if len(code) == 2)


@lru_cache(maxsize=4096)
def _countries(parties: tuple[str, ...]) -> tuple[str, ...]:
    """The parties that have a national holiday calendar, in the order given."""
    supported = _supported()
    return tuple(p for p in parties if p in supported)


@cache
def _calendar(country: str, year: int) -> dict[date, str]:
    """Public holidays of ``country`` in ``year`` (date → English name), built once."""
    try:
        # Some calendars (India's) only know their movable feasts for 2001-2035 and warn
        # outside it; the fixed-date holidays they still return are the best we have, and a
        # warning per year would only be noise (and an error under pytest's -W error).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = holidays.country_holidays(country, years=year, language="en_US")
    except (NotImplementedError, KeyError, ValueError):
        return _EMPTY
    # A plain dict: HolidayBase.__contains__ parses and may lazily add years, which is slow.
    return {day: str(name) for day, name in table.items() if day.year == year}


def _holiday(day: date, countries: tuple[str, ...]) -> tuple[str, str] | None:
    """(name, country) of the first party holiday on ``day``, or None."""
    for country in countries:
        name = _calendar(country, day.year).get(day)
        if name is not None:
            return name, country
    return None


def is_working_day(day: date, parties: Sequence[str]) -> bool:
    """True on Monday to Friday when no party with a national calendar has a public holiday."""
    return day.weekday() < 5 and _holiday(day, _countries(tuple(parties))) is None


def _reason(day: date, countries: tuple[str, ...]) -> str | None:
    """Why ``day`` is not a working day ("Sunday", "Chuseok (KR public holiday)"), or None."""
    weekday = day.weekday()
    if weekday >= 5:
        return _WEEKDAYS[weekday]
    found = _holiday(day, countries)
    if found is None:
        return None
    name, country = found
    return f"{name} ({country} public holiday)"


def _working(day: date, countries: tuple[str, ...]) -> bool:
    return day.weekday() < 5 and _holiday(day, countries) is None


@lru_cache(maxsize=65536)
def _note(day: date, countries: tuple[str, ...], action: Action = Action.ACT_BY) -> str | None:
    reason = _reason(day, countries)
    if reason is None:
        return None
    if action is Action.INFO:
        return reason
    # Bounded: no calendar has more than a few consecutive non-working days.
    step, edge = (_ONE_DAY, date.max) if action is Action.ACT_FROM else (-_ONE_DAY, date.min)
    other = day
    while True:
        if other == edge:
            where = "after" if action is Action.ACT_FROM else "before"
            return f"{reason}; no working day {where} it in the calendar"
        other += step
        if _working(other, countries):
            break
    day_name = _WEEKDAYS[other.weekday()]
    if action is Action.ACT_FROM:
        return f"{reason}; first working day after is {day_name} {other.isoformat()}"
    return f"{reason}; last working day before is {day_name} {other.isoformat()}"


def party_countries(parties: Sequence[str]) -> tuple[str, ...]:
    """The parties with a national holiday calendar (for :func:`note_for_countries`)."""
    return _countries(tuple(parties))


def note_for_countries(
    day: date, countries: tuple[str, ...], action: Action = Action.ACT_BY
) -> str | None:
    """:func:`weekday_note` for parties already reduced by :func:`party_countries`.

    The engine reduces an agreement's parties once and then asks for every deadline.
    """
    if not countries and day.weekday() < 5:
        return None
    return _note(day, countries, action)


def weekday_note(day: date, parties: Sequence[str], action: Action = Action.ACT_BY) -> str | None:
    """A note when ``day`` is not a working day for the parties, else None; what it advises
    follows ``action`` (see the module docstring).

    ``act_by``: ``"Saturday; last working day before is Friday 2019-08-23"`` for a weekend;
    ``"Chuseok (KR public holiday); last working day before is Wednesday 2019-09-11"`` for a
    public holiday of a party (2019-09-12, the day before Chuseok, was a holiday too). The
    weekend wins when a holiday falls on a Saturday or Sunday. The "last working day before"
    skips weekends and every party's holidays.

    ``act_from``: ``"Sunday; first working day after is Monday 1969-08-25"`` (North Atlantic
    Treaty, earliest notice 1969-08-24); ``info``: ``"Sunday"``. Across a month or year end
    the advised day is simply the next or previous calendar day that is a working day
    (Sunday 2023-12-31 → Tuesday 2024-01-02 in a country where 1 January is a holiday); leap
    days are ordinary days.
    """
    countries = _countries(tuple(parties))
    if not countries and day.weekday() < 5:
        return None
    return _note(day, countries, action)
