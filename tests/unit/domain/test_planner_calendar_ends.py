"""Simulating the reminder plan at the ends of the calendar (0001-01-01 and 9999-12-31).

The command line asks only for days in 1900..2199, but the planner is a library function: a
valid agreement must simulate without OverflowError on any day. A reminder whose day (or
instant) would fall before year 1 or after 9999 does not exist; nothing else is lost.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tracker.domain.agreement import Agreement
from tracker.domain.planner import ReminderPolicy, Simulated, simulate
from tracker.settings import Settings

# A monthly report from the first month of the calendar, and renewals up to 9999.
EDGE: dict[str, Any] = {
    "version": 1,
    "id": "edge",
    "title": "Edge",
    "parties": ["KR", "JP"],
    "rules": [
        {
            "kind": "auto_renewal",
            "first_expiry": "9990-12-31",
            "renewal_term": "1 year",
            "notice": "1 day",
        },
        {"kind": "recurring", "label": "report", "first": "0001-01-31", "every": "1 month"},
    ],
}


def settings(**overrides: Any) -> ReminderPolicy:
    return Settings.model_validate(
        {"reminders": ["90 days", "0 days"], "agreements_dir": None, **overrides}
    ).reminder_policy()


def sent(planned: list[Simulated]) -> list[tuple[str, str, str, str]]:
    return [
        (s.day.isoformat(), s.key.deadline_kind, s.key.deadline_date.isoformat(), s.key.offset)
        for s in planned
    ]


def test_simulating_the_last_days_of_the_calendar_plans_them_and_stops_at_9999_12_31() -> None:
    edge = Agreement.model_validate(EDGE)
    planned, failed = simulate([edge], settings(), start=date(9999, 12, 29), end=date(9999, 12, 31))
    assert failed == {}
    assert sent(planned) == [
        ("9999-12-30", "notice_deadline", "9999-12-30", "0 days"),
        ("9999-12-31", "expiry", "9999-12-31", "0 days"),
        ("9999-12-31", "recurring", "9999-12-31", "0 days"),
    ]


def test_simulating_the_first_months_skips_reminders_that_would_fall_before_year_1() -> None:
    edge = Agreement.model_validate(EDGE)
    planned, failed = simulate([edge], settings(), start=date(1, 1, 1), end=date(1, 5, 1))
    assert failed == {}
    # 90 days before the reports of January, February and March is before the calendar
    # begins: those reminders do not exist. The first one that does is for April's.
    assert sent(planned) == [
        ("0001-01-30", "recurring", "0001-04-30", "90 days"),
        ("0001-01-31", "recurring", "0001-01-31", "0 days"),
        ("0001-02-28", "recurring", "0001-02-28", "0 days"),
        ("0001-03-02", "recurring", "0001-05-31", "90 days"),
        ("0001-03-31", "recurring", "0001-03-31", "0 days"),
        ("0001-04-01", "recurring", "0001-06-30", "90 days"),
        ("0001-04-30", "recurring", "0001-04-30", "0 days"),
    ]


def test_a_reminder_whose_instant_falls_before_year_1_in_utc_is_left_out() -> None:
    # 09:00 on 0001-01-01 in Auckland (local mean time, UTC+11:39) is the evening of a day
    # before the calendar in UTC; the year after, it is an ordinary morning.
    report = {
        **EDGE,
        "timezone": "Pacific/Auckland",
        "rules": [
            {"kind": "recurring", "label": "report", "first": "0001-01-01", "every": "1 year"}
        ],
    }
    planned, failed = simulate(
        [Agreement.model_validate(report)],
        settings(send_time="09:00"),
        start=date(1, 1, 1),
        end=date(2, 1, 1),
    )
    assert failed == {}
    assert sent(planned) == [
        ("0001-10-03", "recurring", "0002-01-01", "90 days"),
        ("0002-01-01", "recurring", "0002-01-01", "0 days"),
    ]
