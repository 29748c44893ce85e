"""Every deadline says what it asks of the reader (action) and an expiry what happens there
(outcome): renews for another term, or ends."""

from __future__ import annotations

from datetime import date

from tests.unit.domain.test_rules import GSOMIA_RULE, agreement, notice
from tracker.domain.deadline import Action, Deadline, DeadlineKind
from tracker.domain.rules import compute_deadlines


def rows(found: list[Deadline]) -> list[tuple[str, str, str, str | None]]:
    return [(d.date.isoformat(), d.kind.value, d.action.value, d.outcome) for d in found]


def test_a_renewing_expiry_renews_and_its_notice_deadline_asks_to_act_by() -> None:
    # GSOMIA Art. 21(3): one-year terms, 90 days' notice.
    found = compute_deadlines(
        agreement([dict(GSOMIA_RULE)]),
        as_of=date(2020, 8, 7),
        start=date(2020, 8, 1),
        end=date(2020, 12, 31),
    )
    assert rows(found) == [
        ("2020-08-24", "notice_deadline", "act_by", None),
        ("2020-11-22", "expiry", "info", "renews"),
    ]


def test_the_last_term_under_max_renewals_ends_and_a_timely_notice_replaces_the_expiry() -> None:
    capped = {**GSOMIA_RULE, "max_renewals": 1, "notice_window": "6 months"}
    found = compute_deadlines(
        agreement([capped]), as_of=date(2017, 1, 1), start=date(2017, 1, 1), end=date(2019, 1, 1)
    )
    assert rows(found) == [
        ("2017-05-22", "notice_window_opens", "act_from", None),
        ("2017-08-24", "notice_deadline", "act_by", None),
        ("2017-11-22", "expiry", "info", "renews"),
        ("2018-11-22", "expiry", "info", "ends"),
    ]
    ended = compute_deadlines(
        agreement([dict(GSOMIA_RULE)], events=[notice("2019-08-23", "KR")]),
        as_of=date(2019, 9, 1),
        start=date(2019, 9, 1),
        end=date(2020, 12, 31),
    )
    assert rows(ended) == [("2019-11-22", "termination", "info", None)]


def test_a_fixed_term_ends_at_its_expiry_and_an_earliest_notice_asks_to_act_from() -> None:
    found = compute_deadlines(
        agreement(
            [
                {"kind": "fixed_term", "expires": "2030-06-30", "notice": "6 months"},
                {"kind": "withdrawal", "notice": "1 year", "earliest_notice": "2029-01-01"},
            ]
        ),
        as_of=date(2028, 1, 1),
        start=date(2028, 1, 1),
        end=date(2031, 1, 1),
    )
    assert rows(found) == [
        ("2029-01-01", "earliest_notice", "act_from", None),
        ("2029-12-30", "notice_deadline", "act_by", None),
        ("2030-06-30", "expiry", "info", "ends"),
    ]


def test_every_kind_has_an_action_and_the_json_object_carries_action_and_outcome() -> None:
    assert {
        kind.value: Deadline("a", "t", kind, date(2020, 1, 1), 0, "").action
        for kind in DeadlineKind
    } == {
        "notice_deadline": Action.ACT_BY,
        "notice_window_opens": Action.ACT_FROM,
        "earliest_notice": Action.ACT_FROM,
        "expiry": Action.INFO,
        "termination": Action.INFO,
        "withdrawal_effective": Action.INFO,
        "membership_ended": Action.INFO,
        "survival_ends": Action.INFO,
        "recurring": Action.INFO,
        "milestone": Action.INFO,
    }
    (expiry,) = compute_deadlines(
        agreement([dict(GSOMIA_RULE)]),
        as_of=date(2020, 8, 7),
        start=date(2020, 11, 22),
        end=date(2020, 11, 22),
    )
    data = expiry.to_dict()
    assert (data["action"], data["outcome"]) == ("info", "renews")
    assert Deadline.from_dict(data).to_dict() == data
