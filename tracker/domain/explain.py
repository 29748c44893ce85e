"""How an agreement's dates come about: its rules in words, what each event did, its deadlines.

:func:`explain_agreement` reads the engine's own :func:`~tracker.domain.rules.evaluate` result;
it never recomputes a date, so what ``explain`` shows is what ``deadlines`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import assert_never

from tracker.domain.agreement import (
    Agreement,
    AutoRenewal,
    Effective,
    Event,
    FixedTerm,
    Rule,
    Withdrawal,
    YearlyEffective,
)
from tracker.domain.deadline import Deadline
from tracker.domain.durations import LAST_DAY, Duration, shift_within
from tracker.domain.rules import evaluate
from tracker.errors import ComputeFailed, failure_detail

#: Default horizon of ``explain`` when no end is given.
EXPLAIN_YEARS = 2
_EXPLAIN_SPAN = Duration(months=12 * EXPLAIN_YEARS)


@dataclass(frozen=True)
class RuleSummary:
    """One rule in words: ``text`` is a human sentence, ``cite`` the source it comes from."""

    index: int
    kind: str
    label: str | None
    cite: str | None
    text: str


@dataclass(frozen=True)
class EventFinding:
    """What one event did. ``counted`` is False for an event dated after ``as_of``."""

    index: int
    event: Event
    counted: bool
    finding: str


@dataclass(frozen=True)
class Explanation:
    agreement: Agreement
    as_of: date
    status: str
    rules: list[RuleSummary]
    events: list[EventFinding]
    deadlines: list[Deadline]


_EFFECTIVE_TEXT = {
    Effective.SAME_DAY: "takes effect {notice} after the notice",
    Effective.DAY_AFTER: "takes effect the day after {notice} from the notice",
    Effective.FIRST_OF_NEXT_MONTH: (
        "takes effect on the first day of the month after {notice} from the notice"
    ),
    Effective.END_OF_FOLLOWING_YEAR: (
        "takes effect on 31 December of the year after the notice{after}"
    ),
}


def describe_rule(agreement: Agreement, rule: Rule) -> str:
    """A sentence saying what ``rule`` means, with the dates it is anchored on."""
    match rule.kind:
        case "auto_renewal":
            return _describe_auto_renewal(rule)
        case "fixed_term":
            return _describe_fixed_term(rule)
        case "withdrawal":
            return _describe_withdrawal(rule)
        case "recurring":
            until = f" until {rule.until.isoformat()}" if rule.until is not None else ""
            return f"{rule.label}: every {rule.every} from {rule.first.isoformat()}{until}."
        case "milestone":
            if rule.date is not None:
                return f"{rule.label} on {rule.date.isoformat()}."
            return f"{rule.label} {rule.after} after entry into force."
        case "survival":
            return (
                f"Obligations continue for {rule.period} after the agreement, or a party's "
                "participation, ends."
            )
        case _:
            assert_never(rule.kind)


def _describe_auto_renewal(rule: AutoRenewal) -> str:
    if rule.first_expiry is not None:
        anchor = f"first expires {rule.first_expiry.isoformat()}"
    else:
        assert rule.start is not None
        anchor = (
            f"runs {rule.term} from {rule.start.isoformat()} "
            f"(first expiry {rule.anchor.isoformat()})"
        )
    text = (
        f"The agreement {anchor} and renews for {rule.step} at a time unless notice is "
        f"given at least {rule.notice} before an expiry"
    )
    if rule.notice_window is not None:
        text += f" and no more than {rule.notice_window} before it"
    if rule.max_renewals is not None:
        text += f"; it renews at most {rule.max_renewals} times"
    return text + "."


def _describe_fixed_term(rule: FixedTerm) -> str:
    if rule.expires is not None:
        text = f"The agreement expires on {rule.expires.isoformat()}"
    else:
        assert rule.start is not None
        text = (
            f"The agreement runs {rule.term} from {rule.start.isoformat()} "
            f"(expiry {rule.expiry.isoformat()})"
        )
    if rule.notice is not None:
        text += f"; a decision is due {rule.notice} before the expiry"
    return text + "."


def _describe_withdrawal(rule: Withdrawal) -> str:
    effective = rule.effective
    if isinstance(effective, YearlyEffective):
        if rule.notice_by is not None:
            effect = (
                f"a notice counts toward the next {rule.notice_by.words()} (on or after the day "
                f"it is given) and the withdrawal takes effect on the {effective.day.words()} "
                "after that"
            )
        else:
            effect = (
                f"withdrawal takes effect on the first {effective.day.words()} after "
                f"{rule.notice} from the notice"
            )
    else:
        notice = str(rule.notice) if rule.notice is not None else "no period"
        after = f" plus {rule.notice}" if rule.notice is not None else ""
        effect = "withdrawal " + _EFFECTIVE_TEXT[effective].format(notice=notice, after=after)
    text = f"A party may withdraw by written notice; {effect}"
    if isinstance(rule.earliest_notice, date):
        text += f"; notice may be given from {rule.earliest_notice.isoformat()}"
    elif rule.earliest_notice is not None:
        text += (
            f"; notice may be given from {rule.earliest_notice} after entry into force (for "
            "the party)"
        )
    windows = rule.windows
    if windows is not None:
        first = (
            windows.first.isoformat()
            if isinstance(windows.first, date)
            else f"{windows.first} after entry into force"
        )
        text += (
            f"; only within windows of {windows.length} opening every {windows.every} from {first}"
        )
    if isinstance(rule.not_before, date):
        text += f"; never before {rule.not_before.isoformat()}"
    elif rule.not_before is not None:
        text += f"; never before {rule.not_before} after entry into force"
    return text + "."


def explain_or_fail(agreement: Agreement, *, as_of: date, end: date | None = None) -> Explanation:
    """:func:`explain_agreement`, with any failure of the engine raised as
    :class:`~tracker.errors.ComputeFailed` naming the agreement: readers of one stored
    agreement (the API, the page, the CLI) then say which agreement fails and why."""
    try:
        return explain_agreement(agreement, as_of=as_of, end=end)
    except ComputeFailed:
        raise
    except Exception as exc:
        raise ComputeFailed(agreement.id, failure_detail(exc)) from exc


def explain_agreement(agreement: Agreement, *, as_of: date, end: date | None = None) -> Explanation:
    """Rules in words, each event's effect and the deadlines from ``as_of`` to ``end``.

    ``end`` defaults to ``as_of`` + 2 years (29 February as_of → 28 February). The deadlines and
    findings come from :func:`~tracker.domain.rules.evaluate`, the same computation as
    :func:`~tracker.domain.rules.compute_deadlines`.
    """
    if end is None:
        # Near 9999-12-31 the two years are cut short where the calendar ends.
        end = shift_within(as_of, _EXPLAIN_SPAN) or LAST_DAY
    result = evaluate(agreement, as_of=as_of, start=as_of, end=end)
    rules = [
        RuleSummary(
            index=i,
            kind=rule.kind,
            label=rule.label,
            cite=agreement.source_cite(rule.source),
            text=describe_rule(agreement, rule),
        )
        for i, rule in enumerate(agreement.rules)
    ]
    events = []
    for i, event in enumerate(agreement.events):
        counted = event.date <= as_of
        if counted:
            finding = result.findings.get(i, "recorded; no rule reads this event")
        else:
            finding = f"dated after {as_of.isoformat()}; not counted"
        events.append(EventFinding(index=i, event=event, counted=counted, finding=finding))

    if result.end is None:
        status = "in force"
    elif result.end <= as_of:
        status = f"ended on {result.end.isoformat()} ({result.end_reason})"
    else:
        status = f"in force until {result.end.isoformat()} ({result.end_reason})"
    for note in result.status_notes(as_of):
        status += f"; {note}"
    return Explanation(
        agreement=agreement,
        as_of=as_of,
        status=status,
        rules=rules,
        events=events,
        deadlines=result.deadlines,
    )
