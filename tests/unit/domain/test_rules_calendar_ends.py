"""The engine at the ends of the calendar (0001-01-01 and 9999-12-31): a valid agreement
computes over any window without an error, and open-ended series stop at 9999-12-31."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.unit.domain.test_rules import agreement, notice
from tracker.domain import workdays
from tracker.domain.deadline import DeadlineKind
from tracker.domain.durations import last_index_within, parse_duration, shift
from tracker.domain.explain import explain_agreement
from tracker.domain.rules import compute_deadlines, evaluate

D = date.fromisoformat
WIDEST = (date.min, date.max)


def kinds_and_dates(rows: list[Any]) -> list[tuple[str, str]]:
    return [(d.kind.value, d.date.isoformat()) for d in rows]


def test_a_renewal_series_stops_at_the_end_of_the_calendar() -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "9990-11-22",
                "renewal_term": "1 year",
                "notice": "90 days",
                "notice_window": "1 year",
            }
        ]
    )
    found = compute_deadlines(pact, as_of=D("9999-01-01"), start=D("9999-01-01"), end=date.max)
    # The term after it would expire on 10000-11-22: it does not exist, nor does the window
    # for it that would open on 9999-11-22.
    assert kinds_and_dates(found) == [("notice_deadline", "9999-08-24"), ("expiry", "9999-11-22")]


def test_the_widest_window_computes_every_term_up_to_9999() -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "2017-11-22",
                "renewal_term": "1 year",
                "notice": "90 days",
            }
        ]
    )
    found = compute_deadlines(pact, as_of=date.min, start=date.min, end=date.max)
    expiries = [d.date for d in found if d.kind == DeadlineKind.EXPIRY]
    assert (len(expiries), expiries[0], expiries[-1]) == (7983, D("2017-11-22"), D("9999-11-22"))


def test_a_recurring_rule_stops_at_the_end_of_the_calendar() -> None:
    pact = agreement(
        [{"kind": "recurring", "label": "report", "first": "9999-10-31", "every": "1 month"}]
    )
    found = compute_deadlines(pact, as_of=date.min, start=D("9999-12-01"), end=date.max)
    assert kinds_and_dates(found) == [("recurring", "9999-12-31")]
    wide = compute_deadlines(pact, as_of=date.min, start=date.min, end=date.max)
    assert kinds_and_dates(wide) == [
        ("recurring", "9999-10-31"),
        ("recurring", "9999-11-30"),
        ("recurring", "9999-12-31"),
    ]


@pytest.mark.parametrize("step", ["P1M1D", "P2M29D", "P11M30D", "P1Y1D"])
def test_steps_with_days_near_the_end_find_the_same_dates_as_stepping_through_the_terms(
    step: str,
) -> None:
    # Month-and-day steps find their first term from an estimate, which near 9999-12-31 can
    # reach past the calendar; the answer must still be exact.
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "2000-01-31",
                "renewal_term": step,
                "notice": "10 days",
            },
            {"kind": "recurring", "label": "review", "first": "2000-01-31", "every": step},
        ]
    )
    duration = parse_duration(step)
    terms = []
    k = last_index_within(D("2000-01-31"), duration)
    while k >= 0 and (term := shift(D("2000-01-31"), duration, times=k)) >= D("9998-01-01"):
        terms.append(term)
        k -= 1
    for back in range(0, 400, 7):
        day = date.fromordinal(date.max.toordinal() - back)
        expected = sorted(
            [("expiry", t.isoformat()) for t in terms if t >= day]
            + [("recurring", t.isoformat()) for t in terms if t >= day]
            + [
                ("notice_deadline", n.isoformat())
                for t in terms
                if (n := shift(t, parse_duration("10 days"), times=-1)) >= day
            ]
        )
        found = compute_deadlines(pact, as_of=day, start=day, end=date.max)
        assert sorted(kinds_and_dates(found)) == expected, day


def test_a_notice_whose_term_would_end_after_9999_has_no_effect_and_says_why() -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "9999-06-01",
                "renewal_term": "1 year",
                "notice": "90 days",
            }
        ],
        events=[notice("9999-12-01", "KR")],
    )
    result = evaluate(pact, as_of=date.max, start=date.min, end=date.max)
    assert result.findings == {
        0: "the term it would end expires after 9999-12-31, beyond the dates the tracker can "
        "compute; no effect"
    }
    assert result.end is None


def test_a_late_notice_whose_next_term_is_after_9999_has_no_effect_and_says_why() -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "9999-06-01",
                "renewal_term": "1 year",
                "notice": "90 days",
            }
        ],
        events=[notice("9999-05-01", "KR")],
    )
    result = evaluate(pact, as_of=date.max, start=date.min, end=date.max)
    assert result.findings == {
        0: "late: notice given 9999-05-01 by KR came after the deadline 9999-03-03 for the term "
        "expiring 9999-06-01; the next term expires after 9999-12-31, beyond the dates the "
        "tracker can compute; no effect"
    }


def test_a_survival_period_past_9999_after_a_termination_by_notice_is_left_out() -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "9999-06-01",
                "renewal_term": "1 year",
                "notice": "90 days",
            },
            {"kind": "survival", "period": "1 year"},
        ],
        events=[notice("9999-01-04", "KR")],
    )
    found = compute_deadlines(pact, as_of=date.max, start=date.min, end=date.max)
    assert kinds_and_dates(found) == [
        ("notice_deadline", "9999-03-03"),
        ("termination", "9999-06-01"),
    ]


def test_an_extension_that_moves_the_final_expiry_past_9999_leaves_the_series_open() -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "2020-01-01",
                "renewal_term": "1 year",
                "notice": "90 days",
                "max_renewals": 5,
            }
        ],
        events=[{"date": "2020-06-01", "type": "extended", "until": "9998-06-01"}],
    )
    result = evaluate(pact, as_of=D("2021-01-01"), start=D("9998-01-01"), end=date.max)
    assert (kinds_and_dates(result.deadlines), result.end) == (
        [
            ("notice_deadline", "9998-03-03"),
            ("expiry", "9998-06-01"),
            ("notice_deadline", "9999-03-03"),
            ("expiry", "9999-06-01"),
        ],
        None,
    )


def test_an_extension_on_a_day_whose_term_ends_after_9999_is_ignored_and_says_why() -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "9999-06-01",
                "renewal_term": "1 year",
                "notice": "90 days",
            }
        ],
        events=[{"date": "9999-12-20", "type": "extended", "until": "9999-12-30"}],
    )
    result = evaluate(pact, as_of=date.max, start=date.min, end=date.max)
    assert result.findings == {0: "the current term expires after 9999-12-31; ignored"}


@pytest.mark.parametrize(
    ("start", "end"), [WIDEST, (D("9999-12-31"), date.max), (date.min, D("0001-01-01"))]
)
def test_notice_dates_near_the_ends_of_the_calendar_compute(start: date, end: date) -> None:
    pact = agreement(
        [
            {
                "kind": "auto_renewal",
                "first_expiry": "0001-04-01",
                "renewal_term": "1 year",
                "notice": "90 days",
                "notice_window": "P3M",
            },
            {"kind": "fixed_term", "expires": "9999-12-31", "notice": "200 years"},
            {
                "kind": "withdrawal",
                "notice": "6 months",
                "effective": "first_of_next_month",
                "earliest_notice": "0001-01-01",
            },
            {"kind": "milestone", "label": "last day", "date": "9999-12-31"},
        ],
        events=[notice("9999-05-31", "KR")],
    )
    for as_of in (start, end):
        compute_deadlines(pact, as_of=as_of, start=start, end=end)


def test_explain_near_9999_cuts_its_two_years_short() -> None:
    pact = agreement([{"kind": "milestone", "label": "last day", "date": "9999-12-31"}])
    explanation = explain_agreement(pact, as_of=D("9999-06-01"))
    assert kinds_and_dates(explanation.deadlines) == [("milestone", "9999-12-31")]


def test_a_holiday_on_the_first_day_of_the_calendar_gets_a_note_without_a_day_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No holiday calendar reaches back to year 1 today; one that did must not break the note.
    monkeypatch.setattr(
        workdays, "_holiday", lambda day, countries: ("New Year", "KR") if day.year == 1 else None
    )
    workdays._note.cache_clear()
    try:
        assert workdays.weekday_note(date.min, ["KR"]) == (
            "New Year (KR public holiday); no working day before it in the calendar"
        )
    finally:
        workdays._note.cache_clear()
