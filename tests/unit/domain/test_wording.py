"""The headline: what a deadline means, in the words every reader sees."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.deadline import Deadline, DeadlineKind, Outcome
from tracker.domain.wording import days_phrase, headline

GSOMIA = "Korea–Japan General Security of Military Information Agreement (GSOMIA)"


def d(
    kind: DeadlineKind,
    explanation: str = "",
    *,
    title: str = GSOMIA,
    party: str | None = None,
    label: str | None = None,
    outcome: Outcome | None = None,
) -> Deadline:
    return Deadline(
        "x", title, kind, date(2027, 8, 24), 0, explanation, party, label, outcome=outcome
    )


@pytest.mark.parametrize(
    ("deadline", "words"),
    [
        # GSOMIA Art. 21(3): ninety days before the expiry of 22 November.
        (
            d(DeadlineKind.NOTICE_DEADLINE, "expiry 2027-11-22 − 90 days = 2027-08-24"),
            "Last day to give notice: GSOMIA (expiry 2027-11-22)",
        ),
        (
            d(
                DeadlineKind.EXPIRY,
                "first expiry 2017-11-22 + 10 × 1 year = 2027-11-22",
                outcome=Outcome.RENEWS,
            ),
            "GSOMIA renews for 1 year",
        ),
        # The first term's expiry names no step: the words leave the term out.
        (
            d(DeadlineKind.EXPIRY, "first expiry 2017-11-22", outcome=Outcome.RENEWS),
            "GSOMIA renews",
        ),
        (
            d(DeadlineKind.EXPIRY, "expires 2026-02-05", title="New START", outcome=Outcome.ENDS),
            "New START expires",
        ),
        (
            d(DeadlineKind.NOTICE_WINDOW_OPENS, "expiry 2027-11-22 − 6 months = 2027-05-22"),
            "First day to give notice: GSOMIA (expiry 2027-11-22)",
        ),
        # Paris Agreement Art. 28: the US notice of 2025-01-27 took effect on 2026-01-27.
        (
            d(DeadlineKind.WITHDRAWAL_EFFECTIVE, title="Paris Agreement", party="US"),
            "US withdrawal from the Paris Agreement takes effect",
        ),
        (
            d(DeadlineKind.EARLIEST_NOTICE, title="Paris Agreement", party="US"),
            "First day US may give notice of withdrawal: Paris Agreement",
        ),
        (
            d(DeadlineKind.EARLIEST_NOTICE, title="North Atlantic Treaty"),
            "First day to give notice of withdrawal: North Atlantic Treaty",
        ),
        (d(DeadlineKind.TERMINATION), "GSOMIA ends (notice given)"),
        (
            d(DeadlineKind.MEMBERSHIP_ENDED, title="Statute of the Council of Europe", party="RU"),
            "RU membership of the Statute of the Council of Europe ends",
        ),
        (
            d(DeadlineKind.SURVIVAL_ENDS, title="The INF Treaty"),
            "Surviving obligations of The INF Treaty end",
        ),
        (
            d(DeadlineKind.RECURRING, title="NPT", label="review  conference"),
            "Review conference: NPT",
        ),
        # A notice date the engine did not count from an expiry: its label says what it secures.
        (
            d(DeadlineKind.NOTICE_DEADLINE, "day 06-30", title="DK–FR", label="for 2009-01-01"),
            "Last day to give notice: DK–FR (for 2009-01-01)",
        ),
    ],
)
def test_the_headline_says_what_happens_or_what_is_due(deadline: Deadline, words: str) -> None:
    assert headline(deadline) == words


def test_days_phrase_says_passed_never_overdue() -> None:
    assert [days_phrase(n) for n in (-3, -1, 0, 1, 17)] == [
        "passed 3 days ago",
        "passed 1 day ago",
        "today",
        "in 1 day",
        "in 17 days",
    ]
