"""The computed deadline: what every output (CLI, API, feed, page, reminder) shows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DeadlineKind(StrEnum):
    NOTICE_DEADLINE = "notice_deadline"
    NOTICE_WINDOW_OPENS = "notice_window_opens"
    EXPIRY = "expiry"
    TERMINATION = "termination"
    EARLIEST_NOTICE = "earliest_notice"
    WITHDRAWAL_EFFECTIVE = "withdrawal_effective"
    SURVIVAL_ENDS = "survival_ends"
    RECURRING = "recurring"
    MILESTONE = "milestone"
    MEMBERSHIP_ENDED = "membership_ended"


class Action(StrEnum):
    """What a deadline asks of its reader; every text shown to a person follows it."""

    ACT_BY = "act_by"  # the last day to do something: advise the last working day before
    ACT_FROM = "act_from"  # the first day something may be done: never advise a day before
    INFO = "info"  # something happens by itself: nothing to do


#: The action of each kind; a kind not listed is ``info``.
ACTION_OF_KIND: dict[DeadlineKind, Action] = {
    DeadlineKind.NOTICE_DEADLINE: Action.ACT_BY,
    DeadlineKind.EARLIEST_NOTICE: Action.ACT_FROM,
    DeadlineKind.NOTICE_WINDOW_OPENS: Action.ACT_FROM,
}


class Outcome(StrEnum):
    """What happens at an ``expiry``: the agreement renews for another term, or ends."""

    RENEWS = "renews"
    ENDS = "ends"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building a Deadline ten times slower (0.41 s against 0.04 s for the 181,000 deadlines of the
# engine benchmark, a fifth of its time). Nothing mutates a Deadline after the engine made it;
# treat it as a value.
@dataclass(slots=True)
class Deadline:
    """One dated consequence of an agreement's rules and events (SPEC 2.4).

    ``days_left`` is counted from the ``as_of`` day the deadline was computed for (negative
    when past). ``explanation`` is one sentence with the arithmetic that produced ``date``;
    ``explain`` output reads it and never recomputes. ``rule`` is the index of the rule that
    produced it (for ``explain``), ``notes`` carries extra findings such as a late notice.
    ``outcome`` is set on ``expiry`` deadlines only (renews or ends there); ``action`` follows
    from ``kind``.
    """

    agreement: str
    title: str
    kind: DeadlineKind
    date: datetime.date
    days_left: int
    explanation: str
    party: str | None = None
    label: str | None = None
    source: str | None = None
    weekday_note: str | None = None
    rule: int | None = None
    notes: tuple[str, ...] = field(default=())
    outcome: Outcome | None = None

    @property
    def action(self) -> Action:
        return ACTION_OF_KIND.get(self.kind, Action.INFO)

    @property
    def key(self) -> tuple[str, str, datetime.date, str]:
        """Identity of a deadline across recomputations: (agreement, kind, date, party)."""
        return (self.agreement, self.kind.value, self.date, self.party or "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deadline:
        """Inverse of :meth:`to_dict` (``days_left`` is kept as given)."""
        return cls(
            agreement=data["agreement"],
            title=data["title"],
            kind=DeadlineKind(data["kind"]),
            date=datetime.date.fromisoformat(data["date"]),
            days_left=int(data["days_left"]),
            explanation=data["explanation"],
            party=data.get("party"),
            label=data.get("label"),
            source=data.get("source"),
            weekday_note=data.get("weekday_note"),
            outcome=Outcome(data["outcome"]) if data.get("outcome") else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of SPEC 2.4 (dates as ISO strings)."""
        return {
            "agreement": self.agreement,
            "title": self.title,
            "kind": self.kind.value,
            "date": self.date.isoformat(),
            "party": self.party,
            "label": self.label,
            "days_left": self.days_left,
            "explanation": self.explanation,
            "source": self.source,
            "action": self.action.value,
            "outcome": self.outcome.value if self.outcome is not None else None,
            "weekday_note": self.weekday_note,
        }


def listing_order(d: Deadline) -> tuple[str, str, str, str]:
    """The order every list of deadlines is given in: date, agreement, kind, party. One
    function, because the CLI's worker processes each sort their own deadlines by it and the
    parent merges their lists by it again (:mod:`tracker.files.answer`): the two must agree.

    The date as its ISO text, which orders as the date does (the year always has four digits),
    so that the key is plain strings: a worker's keys travel to the parent pickled, and a
    date costs four times a string there."""
    return (d.date.isoformat(), d.agreement, d.kind.value, d.party or "")
