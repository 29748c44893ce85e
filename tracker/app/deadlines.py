"""Deadlines in a window: the one window resolution both doors use, and the queries.

A window is inclusive at both ends: ``from`` (default ``as_of``) to ``to``, or to ``from +
within``, or by default to ``from + 1 year``. ``as_of`` decides which events count and what
``days_left`` means. Days outside :data:`EARLIEST_DAY`..:data:`LATEST_DAY` are refused (they
are typos, and they keep the arithmetic away from the ends of the calendar, where a reminder
before year 1 or a look-ahead past 9999 cannot be represented), and so is a window longer
than :data:`MAX_WINDOW_DAYS`.

:class:`WindowError` says what is wrong in words and names the field at fault by its neutral
name (``as_of``, ``from``, ``to``, ``within``); each door phrases it with its own names
(``query.from`` for the API, ``--from`` for the command line).

The database is imported only by :func:`query`, so that commands working on agreement files
alone start without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, listing_order
from tracker.domain.durations import DurationParseError, parse_duration, shift
from tracker.errors import TrackerError, failure_detail

if TYPE_CHECKING:
    from tracker.app.context import Context
    from tracker.store.deadlines import AgreementFailure, Cache, DeadlinePage

__all__ = [
    "AgreementFailure",
    "Cache",
    "DeadlinePage",
    "Window",
    "WindowError",
    "WindowProblem",
    "check_day",
    "compute",
    "query",
    "resolve_window",
]

DEFAULT_WINDOW = parse_duration("1 year")
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
#: The longest window one query may ask for.
MAX_WINDOW_DAYS = 366 * 50


class WindowProblem(StrEnum):
    DAY_OUT_OF_RANGE = "day_out_of_range"
    BAD_DURATION = "bad_duration"
    TOO_LONG = "too_long"
    TO_AND_WITHIN = "to_and_within"
    ENDS_BEFORE_START = "ends_before_start"


class WindowError(TrackerError):
    """A window that cannot be answered. ``field`` is the neutral name of the value at fault
    (None when it is the window as a whole); ``start``/``end`` are set for
    ``ENDS_BEFORE_START``."""

    def __init__(
        self,
        problem: WindowProblem,
        message: str,
        *,
        field: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
        self.field = field
        self.start = start
        self.end = end


@dataclass(frozen=True)
class Window:
    as_of: date
    start: date
    end: date


def check_day(value: date | None, field: str) -> None:
    """WindowError unless ``value`` (when given) lies within the days the tracker answers for."""
    if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
        raise WindowError(
            WindowProblem.DAY_OUT_OF_RANGE,
            f"{value.isoformat()} is outside {EARLIEST_DAY}..{LATEST_DAY}",
            field=field,
        )


def _end_within(first: date, within: str | None) -> date:
    try:
        duration = parse_duration(within) if within is not None else DEFAULT_WINDOW
    except DurationParseError as exc:
        raise WindowError(WindowProblem.BAD_DURATION, str(exc), field="within") from None
    if duration.approx_days() > MAX_WINDOW_DAYS:
        raise WindowError(
            WindowProblem.TOO_LONG,
            f"a window may be at most {MAX_WINDOW_DAYS} days long",
            field="within",
        )
    end = shift(first, duration)
    check_day(end, "within")
    return end


def resolve_window(
    *, as_of: date, start: date | None, end: date | None, within: str | None
) -> Window:
    """The inclusive window a query asks for, or WindowError saying what is wrong."""
    for value, field in ((as_of, "as_of"), (start, "from"), (end, "to")):
        check_day(value, field)
    if end is not None and within is not None:
        raise WindowError(WindowProblem.TO_AND_WITHIN, "give either 'to' or 'within', not both")
    first = start or as_of
    last = end if end is not None else _end_within(first, within)
    if last < first:
        raise WindowError(
            WindowProblem.ENDS_BEFORE_START,
            f"the window ends ({last.isoformat()}) before it starts ({first.isoformat()})",
            start=first,
            end=last,
        )
    if (last - first).days > MAX_WINDOW_DAYS:
        raise WindowError(
            WindowProblem.TOO_LONG, f"a window may be at most {MAX_WINDOW_DAYS} days long"
        )
    return Window(as_of=as_of, start=first, end=last)


def query(
    context: Context,
    window: Window,
    *,
    agreement: Sequence[str] = (),
    kind: Sequence[str] = (),
    tag: Sequence[str] = (),
    limit: int | None = None,
    offset: int = 0,
    cache: Cache | None = None,
) -> DeadlinePage:
    """The stored agreements' deadlines in ``window``, sorted by (date, agreement, kind,
    party): one page, the number of all matches, and the agreements in scope whose deadlines
    cannot be computed. ``cache`` (e.g. the API's memo) may answer instead of the database."""
    from tracker.store.deadlines import query_deadlines

    return query_deadlines(
        context.engine,
        as_of=window.as_of,
        start=window.start,
        end=window.end,
        agreement=agreement,
        kind=kind,
        tag=tag,
        limit=limit,
        offset=offset,
        cache=cache,
    )


def compute(
    agreements: Sequence[Agreement], window: Window
) -> tuple[list[Deadline], dict[str, str]]:
    """The deadlines of ``agreements`` (from files, or read from the database) in
    ``window``, sorted as a query sorts them; an agreement whose rules fail is reported
    (id -> why) and left out, never hiding the others'."""
    from tracker.domain.rules import compute_all

    found: list[Deadline] = []
    failed: dict[str, str] = {}
    try:
        # All at once first: one call and one sort instead of one per agreement (a tenth of
        # the engine's time at 100,000 agreements). The same list as one by one: sorted by
        # the same fields, and deadlines equal in all of them stay in the engine's order.
        found = compute_all(agreements, as_of=window.as_of, start=window.start, end=window.end)
        found.sort(key=listing_order)
        return found, failed
    except Exception:
        found = []  # one of them fails: each on its own, to name it and keep the others
    for agreement in agreements:
        try:
            found.extend(
                compute_all([agreement], as_of=window.as_of, start=window.start, end=window.end)
            )
        except Exception as exc:
            failed[agreement.id] = failure_detail(exc)
    found.sort(key=listing_order)
    return found, failed
