"""Properties of the rule engine, checked with hypothesis over generated agreements."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import DeadlineKind
from tracker.domain.durations import Duration, shift
from tracker.domain.rules import _shift, compute_deadlines, evaluate

days = st.dates(min_value=date(1950, 1, 1), max_value=date(2060, 12, 31))
year_or_months = st.sampled_from(
    ["1 year", "2 years", "5 years", "10 years", "13 months", "18 months", "P1Y6M"]
)
short_notice = st.sampled_from(
    ["1 day", "30 days", "90 days", "180 days", "3 months", "6 months", "10 months"]
)


def make(
    rules: list[dict[str, Any]],
    events: list[dict[str, Any]] | None = None,
    parties: list[str] | None = None,
    in_force: str | None = "1950-01-01",
) -> Agreement:
    return Agreement.model_validate(
        {
            "version": 1,
            "id": "p",
            "title": "P",
            "parties": parties or ["KR", "JP"],
            "in_force": in_force,
            "rules": rules,
            "events": events or [],
        }
    )


month_days = st.dates(min_value=date(2001, 1, 1), max_value=date(2001, 12, 31)).map(
    lambda d: d.strftime("%m-%d")  # 2001 is a common year: never 02-29
)


@st.composite
def withdrawals(draw: st.DrawFn) -> dict[str, Any]:
    """A withdrawal rule in any of its forms, format 1.1 included."""
    form = draw(st.sampled_from(["convention", "notice_by", "next", "windows"]))
    rule: dict[str, Any] = {"kind": "withdrawal"}
    if form == "convention":
        rule["notice"] = draw(short_notice)
        rule["effective"] = draw(
            st.sampled_from(
                ["same_day", "day_after", "first_of_next_month", "end_of_following_year"]
            )
        )
    elif form == "notice_by":
        rule["notice_by"] = draw(month_days)
        rule["effective"] = draw(month_days)
    elif form == "next":
        rule["notice"] = draw(short_notice)
        rule["effective"] = "next " + draw(month_days)
    else:
        rule["notice"] = draw(short_notice)
        rule["windows"] = {
            "first": draw(st.one_of(days.map(date.isoformat), year_or_months)),
            "every": draw(st.sampled_from(["5 years", "10 years", "1 year"])),
            "length": draw(st.sampled_from(["1 year", "6 months", "30 days"])),
        }
    if draw(st.booleans()):
        rule["earliest_notice"] = draw(st.one_of(days.map(date.isoformat), year_or_months))
    if draw(st.booleans()):
        rule["not_before"] = draw(st.one_of(days.map(date.isoformat), year_or_months))
    return rule


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["auto_renewal", "fixed_term", "withdrawal", "recurring", "milestone", "survival"]
        )
    )
    if kind == "auto_renewal":
        rule: dict[str, Any] = {
            "kind": kind,
            "first_expiry": draw(days).isoformat(),
            "renewal_term": draw(year_or_months),
            "notice": draw(short_notice),
        }
        if draw(st.booleans()):
            rule["max_renewals"] = draw(st.integers(0, 80))
        return rule
    if kind == "fixed_term":
        return {"kind": kind, "expires": draw(days).isoformat(), "notice": draw(short_notice)}
    if kind == "withdrawal":
        return draw(withdrawals())
    if kind == "recurring":
        return {
            "kind": kind,
            "label": "Review",
            "first": draw(days).isoformat(),
            "every": draw(st.sampled_from(["1 month", "3 months", "1 year", "45 days"])),
        }
    if kind == "milestone":
        return {"kind": kind, "label": "Review", "after": draw(year_or_months)}
    return {"kind": kind, "period": draw(st.sampled_from(["5 years", "20 years"]))}


@st.composite
def events(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(
                [
                    "notice_given",
                    "notice_given",
                    "notice_suspended",
                    "notice_resumed",
                    "notice_withdrawn",
                    "extended",
                    "terminated",
                    "rejoined",
                    "suspended",
                    "suspension_lifted",
                    "ceased",
                ]
            )
        )
        event: dict[str, Any] = {"date": draw(days).isoformat(), "type": kind}
        # Suspensions of obligations may concern the whole agreement (no party).
        needs_party = kind.startswith("notice") or kind in ("rejoined", "ceased")
        if needs_party or (kind.startswith("suspen") and draw(st.booleans())):
            event["party"] = draw(st.sampled_from(["KR", "JP"]))
        if kind == "extended":
            event["until"] = draw(days).isoformat()
        if kind == "notice_given" and draw(st.booleans()):
            event["effective_on"] = draw(days).isoformat()
        out.append(event)
    return out


@settings(max_examples=150, deadline=None)
@given(anchor=days, term=year_or_months, notice=short_notice, k=st.integers(0, 60))
def test_a_notice_given_on_the_deadline_is_timely_one_day_later_is_late(
    anchor: date, term: str, notice: str, k: int
) -> None:
    rule = {
        "kind": "auto_renewal",
        "first_expiry": anchor.isoformat(),
        "renewal_term": term,
        "notice": notice,
    }
    step = (
        Agreement.model_validate(
            {"version": 1, "id": "p", "title": "P", "parties": ["KR"], "rules": [rule]}
        )
        .rules[0]
        .step
    )  # type: ignore[union-attr]
    expiry = shift(anchor, step, times=k)
    deadline = shift(expiry, make([rule]).rules[0].notice, times=-1)  # type: ignore[union-attr]
    next_expiry = shift(anchor, step, times=k + 1)
    window_end = next_expiry + timedelta(days=1)

    on_time = make([rule], [{"date": deadline.isoformat(), "type": "notice_given", "party": "KR"}])
    ends = [
        d
        for d in compute_deadlines(on_time, as_of=deadline, start=deadline, end=window_end)
        if d.kind is DeadlineKind.TERMINATION
    ]
    assert [(d.date, d.notes) for d in ends] == [(expiry, ())]

    late_day = deadline + timedelta(days=1)
    late = make([rule], [{"date": late_day.isoformat(), "type": "notice_given", "party": "KR"}])
    ends = [
        d
        for d in compute_deadlines(late, as_of=late_day, start=deadline, end=window_end)
        if d.kind is DeadlineKind.TERMINATION
    ]
    assert [d.date for d in ends] == [next_expiry]
    assert ends[0].notes[0].startswith("late: ")


@settings(max_examples=200, deadline=None)
@given(
    rule_list=st.lists(rules(), min_size=1, max_size=4),
    event_list=events(),
    as_of=days,
    start=days,
    length=st.integers(0, 3000),
)
def test_deadlines_are_sorted_and_inside_the_window(
    rule_list: list[dict[str, Any]],
    event_list: list[dict[str, Any]],
    as_of: date,
    start: date,
    length: int,
) -> None:
    agreement = make(rule_list, event_list)
    end = start + timedelta(days=length)
    result = compute_deadlines(agreement, as_of=as_of, start=start, end=end)
    assert all(start <= d.date <= end for d in result)
    keys = [(d.date, d.kind.value, d.party or "") for d in result]
    assert keys == sorted(keys)
    assert all(d.days_left == (d.date - as_of).days for d in result)
    assert all(d.explanation and d.date.isoformat() in d.explanation for d in result)


@settings(max_examples=150, deadline=None)
@given(
    rule_list=st.lists(rules(), min_size=1, max_size=4),
    event_list=events(),
    first=days,
    second=days,
    start=days,
    length=st.integers(0, 3000),
)
def test_changing_as_of_before_all_events_never_changes_dates(
    rule_list: list[dict[str, Any]],
    event_list: list[dict[str, Any]],
    first: date,
    second: date,
    start: date,
    length: int,
) -> None:
    agreement = make(rule_list, event_list)
    earliest_event = min((e.date for e in agreement.events), default=date.max)
    first = min(first, earliest_event - timedelta(days=1))
    second = min(second, earliest_event - timedelta(days=1))
    end = start + timedelta(days=length)

    def dates(as_of: date) -> list[tuple[date, str, str | None, str]]:
        return [
            (d.date, d.kind.value, d.party, d.explanation)
            for d in compute_deadlines(agreement, as_of=as_of, start=start, end=end)
        ]

    assert dates(first) == dates(second)


@settings(max_examples=150, deadline=None)
@given(
    anchor=days, term=year_or_months, notice=short_notice, start=days, length=st.integers(0, 4000)
)
def test_direct_term_index_matches_stepping_through_every_term(
    anchor: date, term: str, notice: str, start: date, length: int
) -> None:
    rule = {
        "kind": "auto_renewal",
        "first_expiry": anchor.isoformat(),
        "renewal_term": term,
        "notice": notice,
    }
    agreement = make([rule])
    parsed = agreement.rules[0]
    end = start + timedelta(days=length)
    expected = set()
    k = 0
    while True:  # the slow way: every term from the anchor
        expiry = shift(anchor, parsed.step, times=k)  # type: ignore[union-attr]
        deadline = shift(expiry, parsed.notice, times=-1)  # type: ignore[union-attr]
        if deadline > end:
            break
        for kind, day in (("expiry", expiry), ("notice_deadline", deadline)):
            if start <= day <= end:
                expected.add((kind, day))
        k += 1
    got = {
        (d.kind.value, d.date)
        for d in compute_deadlines(agreement, as_of=start, start=start, end=end)
    }
    assert got == expected


@settings(deadline=None)  # timing varies on a shared machine
@given(
    day=days, months=st.integers(0, 1200), n_days=st.integers(0, 5000), times=st.integers(-80, 80)
)
def test_the_engines_inlined_shift_agrees_with_durations_shift(
    day: date, months: int, n_days: int, times: int
) -> None:
    duration = Duration(months=months, days=n_days)
    try:
        expected = shift(day, duration, times=times)
    except (ValueError, OverflowError):
        return  # outside the calendar both ways
    assert _shift(day, duration, times) == expected


@settings(max_examples=100, deadline=None)
@given(rule_list=st.lists(rules(), min_size=1, max_size=4), event_list=events(), as_of=days)
def test_findings_are_only_about_counted_events(
    rule_list: list[dict[str, Any]], event_list: list[dict[str, Any]], as_of: date
) -> None:
    agreement = make(rule_list, event_list)
    result = evaluate(agreement, as_of=as_of, start=as_of, end=as_of + timedelta(days=400))
    assert set(result.findings) <= {i for i, e in enumerate(agreement.events) if e.date <= as_of}


def _effect(rule: dict[str, Any], given: date, **event: Any) -> tuple[date, str]:
    """The withdrawal_effective date (and explanation) of one notice under ``rule``."""
    agreement = make(
        [rule],
        [{"date": given.isoformat(), "type": "notice_given", "party": "KR", **event}],
        parties=["KR", "JP", "CN"],
    )
    result = evaluate(agreement, as_of=date(2070, 1, 1), start=given, end=date(2080, 1, 1))
    (found,) = [d for d in result.deadlines if d.kind is DeadlineKind.WITHDRAWAL_EFFECTIVE]
    return found.date, found.explanation


@settings(max_examples=200, deadline=None)
@given(notice_by=month_days, effective=month_days, given=days)
def test_a_notice_by_effect_is_after_the_notice_and_within_a_year_and_a_day_of_its_day(
    notice_by: str, effective: str, given: date
) -> None:
    rule = {"kind": "withdrawal", "notice_by": notice_by, "effective": effective}
    effect, text = _effect(rule, given)
    counted = date.fromisoformat(text.split("counts toward ")[1][:10])
    assert counted.strftime("%m-%d") == notice_by
    assert given <= counted < given + timedelta(days=366)  # the first such day on or after
    assert counted < effect <= counted + timedelta(days=366)  # a year and a day at most
    assert effect.strftime("%m-%d") == effective
    # The day before the notice_by day still counts toward it; the day after does not.
    if counted > date(1950, 1, 1) and counted < date(2060, 1, 1):
        late, _ = _effect(rule, counted + timedelta(days=1))
        on_time, _ = _effect(rule, counted)
        assert on_time == effect and late > effect


@settings(max_examples=150, deadline=None)
@given(day=month_days, notice=short_notice, given=days)
def test_next_month_day_is_the_first_strictly_after_notice_plus_period(
    day: str, notice: str, given: date
) -> None:
    rule = {"kind": "withdrawal", "notice": notice, "effective": f"next {day}"}
    effect, _ = _effect(rule, given)
    base = shift(given, make([rule]).rules[0].notice)  # type: ignore[union-attr, arg-type]
    assert base < effect <= base + timedelta(days=366)
    assert effect.strftime("%m-%d") == day
    assert not any(
        (base + timedelta(days=n)).strftime("%m-%d") == day for n in range(1, (effect - base).days)
    )


@settings(max_examples=150, deadline=None)
@given(notice=short_notice, given=days, named=days, not_before=st.one_of(st.none(), days))
def test_the_effect_is_the_latest_of_the_rule_not_before_and_effective_on(
    notice: str, given: date, named: date, not_before: date | None
) -> None:
    rule: dict[str, Any] = {"kind": "withdrawal", "notice": notice}
    plain, _ = _effect(rule, given)
    if not_before is not None:
        rule["not_before"] = not_before.isoformat()
    effect, _ = _effect(rule, given, effective_on=named.isoformat())
    assert effect == max(plain, named, not_before or plain)


@settings(max_examples=100, deadline=None)
@given(
    first=days,
    every=st.sampled_from(["1 month", "3 months", "1 year", "10 years", "45 days"]),
    length=st.sampled_from(["1 day", "10 days", "1 month"]),
    start=days,
    span=st.integers(0, 4000),
)
def test_windows_are_anchored_on_the_first_and_each_closes_length_minus_a_day_later(
    first: date, every: str, length: str, start: date, span: int
) -> None:
    rule = {
        "kind": "withdrawal",
        "notice": "1 year",
        "windows": {"first": first.isoformat(), "every": every, "length": length},
    }
    agreement = make([rule])
    windows = agreement.rules[0].windows  # type: ignore[union-attr]
    assert windows is not None
    end = start + timedelta(days=span)
    found = compute_deadlines(agreement, as_of=start, start=start, end=end)
    expected = set()
    k = 0
    while True:  # every window from the anchor, the slow way
        opens = shift(first, windows.every, times=k)
        closes = shift(opens, windows.length) - timedelta(days=1)
        if opens > end:
            break
        expected |= {
            (DeadlineKind.NOTICE_WINDOW_OPENS, opens),
            (DeadlineKind.NOTICE_DEADLINE, closes),
        }
        k += 1
    expected = {(kind, day) for kind, day in expected if start <= day <= end}
    assert {(d.kind, d.date) for d in found} == expected
