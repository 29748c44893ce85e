"""The one window resolution both doors use (tracker.app.deadlines.resolve_window)."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.app.deadlines import Window, WindowError, WindowProblem, resolve_window

D = date.fromisoformat
AS_OF = D("2020-08-07")


@pytest.mark.parametrize(
    ("start", "end", "within", "window"),
    [
        # the GSOMIA question of August 2020: what is due in the next 120 days?
        (None, None, "120d", Window(AS_OF, AS_OF, D("2020-12-05"))),
        (None, None, None, Window(AS_OF, AS_OF, D("2021-08-07"))),  # default: one year
        (D("2024-02-29"), None, None, Window(AS_OF, D("2024-02-29"), D("2025-02-28"))),
        (D("2020-01-01"), D("2020-12-31"), None, Window(AS_OF, D("2020-01-01"), D("2020-12-31"))),
        (D("2020-08-07"), D("2020-08-07"), None, Window(AS_OF, AS_OF, AS_OF)),  # one day
        (D("1900-01-01"), D("1950-01-31"), None, Window(AS_OF, D("1900-01-01"), D("1950-01-31"))),
        (D("2199-12-31"), None, "0 days", Window(AS_OF, D("2199-12-31"), D("2199-12-31"))),
    ],
)
def test_a_window_is_inclusive_and_defaults_to_a_year_from_as_of(
    start: date | None, end: date | None, within: str | None, window: Window
) -> None:
    assert resolve_window(as_of=AS_OF, start=start, end=end, within=within) == window


@pytest.mark.parametrize(
    ("as_of", "start", "end", "within", "problem", "field", "message"),
    [
        (D("1899-12-31"), None, None, None, "day_out_of_range", "as_of",
         "1899-12-31 is outside 1900-01-01..2199-12-31"),
        (AS_OF, D("9999-12-01"), None, None, "day_out_of_range", "from",
         "9999-12-01 is outside 1900-01-01..2199-12-31"),
        (AS_OF, None, D("2200-01-01"), None, "day_out_of_range", "to",
         "2200-01-01 is outside 1900-01-01..2199-12-31"),
        (AS_OF, D("2199-06-01"), None, "1 year", "day_out_of_range", "within",
         "2200-06-01 is outside 1900-01-01..2199-12-31"),
        (AS_OF, None, None, "90 dais", "bad_duration", "within",
         "'90 dais' is not a duration (examples: '90 days', 'P3M')"),
        (AS_OF, None, None, "51 years", "too_long", "within",
         "a window may be at most 18300 days long"),
        (AS_OF, D("1950-01-01"), D("2000-03-01"), None, "too_long", None,
         "a window may be at most 18300 days long"),
        (AS_OF, None, D("2020-08-06"), None, "ends_before_start", None,
         "the window ends (2020-08-06) before it starts (2020-08-07)"),
        (AS_OF, None, D("2021-01-01"), "90 days", "to_and_within", None,
         "give either 'to' or 'within', not both"),
    ],
)  # fmt: skip
def test_a_window_the_tracker_does_not_answer_for_is_refused_naming_the_field(
    as_of: date,
    start: date | None,
    end: date | None,
    within: str | None,
    problem: str,
    field: str | None,
    message: str,
) -> None:
    with pytest.raises(WindowError) as caught:
        resolve_window(as_of=as_of, start=start, end=end, within=within)
    assert (caught.value.problem, caught.value.field, caught.value.message) == (
        WindowProblem(problem),
        field,
        message,
    )
