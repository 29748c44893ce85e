"""Days of the year (``MM-DD``) and the yearly arithmetic of notice clauses (format 1.1).

A :class:`MonthDay` is a day that recurs every year: ``06-30`` is 30 June. ``02-29`` is refused:
a day that exists only every fourth year cannot anchor a yearly clause (no treaty counts to it,
and "the next 29 February" would be up to eight years away). Every other day exists in every
year, so the arithmetic below never clamps:

* :meth:`MonthDay.on_or_after` is the first such day on or after a date (the date itself when
  it is that day): 06-30 on or after 2008-06-30 = 2008-06-30, after 2008-07-01 = 2009-06-30.
* :meth:`MonthDay.after` is the first such day strictly after a date: 01-01 after 2008-06-30 =
  2009-01-01, after 2009-01-01 = 2010-01-01.

Both raise :class:`OverflowError` when the day would fall after 9999-12-31.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: Days in each month of a common year (02-29 is refused, so February has 28).
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_TEXT = re.compile(r"^(\d{2})-(\d{2})$")

#: An ECMA-262 pattern for exactly the month-days accepted (no 02-29, no 04-31).
MONTH_DAY_PATTERN = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
MONTH_DAY_EXAMPLES = "examples: '06-30', '01-01'"


@dataclass(frozen=True, slots=True, order=True)
class MonthDay:
    """A day of the year, ``MM-DD`` (never 02-29)."""

    month: int
    day: int

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    def words(self) -> str:
        """``1 January``, ``30 June``: how explanations name the day."""
        return f"{self.day} {_MONTH_NAMES[self.month - 1]}"

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)

    def on_or_after(self, day: date) -> date:
        """The first such day on or after ``day`` (``day`` itself when it is one)."""
        this_year = date(day.year, self.month, self.day)
        return this_year if this_year >= day else self._next_year(day.year)

    def after(self, day: date) -> date:
        """The first such day strictly after ``day``."""
        this_year = date(day.year, self.month, self.day)
        return this_year if this_year > day else self._next_year(day.year)

    def _next_year(self, year: int) -> date:
        if year >= 9999:
            raise OverflowError("the day falls after 9999-12-31")
        return date(year + 1, self.month, self.day)


def parse_month_day(text: object) -> MonthDay:
    """``MM-DD`` → :class:`MonthDay`; a :class:`ValueError` with a message for a YAML author."""
    if isinstance(text, MonthDay):
        return text
    if not isinstance(text, str) or _TEXT.match(text.strip()) is None:
        raise ValueError(f"{text!r} is not a day of the year (MM-DD; {MONTH_DAY_EXAMPLES})")
    month, day = (int(part) for part in text.strip().split("-"))
    if month == 2 and day == 29:
        raise ValueError(
            "'02-29' is not allowed: a yearly day must exist every year (write '02-28' or '03-01')"
        )
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise ValueError(f"{text!r} is not a day of the year (MM-DD; {MONTH_DAY_EXAMPLES})")
    return MonthDay(month, day)


def _validate(value: Any) -> MonthDay:
    try:
        return parse_month_day(value)
    except ValueError as exc:
        raise PydanticCustomError("month_day", "{message}", {"message": str(exc)}) from None


#: Pydantic field type for a day of the year.
MonthDayField = Annotated[
    MonthDay,
    PlainValidator(_validate),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A day of the year, MM-DD (not 02-29).",
            "pattern": f"^{MONTH_DAY_PATTERN}$",
            "examples": ["06-30", "01-01"],
        }
    ),
]
