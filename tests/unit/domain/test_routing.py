"""Routes, escalations and digest schedules (tracker/domain/routing.py), table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, DeadlineKind
from tracker.domain.durations import parse_duration
from tracker.domain.routing import (
    DigestSpec,
    Escalation,
    Match,
    Route,
    Schedule,
    digest_entries,
    escalations_for,
    occurrence_today,
    parse_schedule,
    route,
)


def agreement(
    agreement_id: str, *, tags: list[str], channels: list[str] | None = None
) -> Agreement:
    return Agreement.model_validate(
        {
            "version": 1,
            "id": agreement_id,
            "title": f"Pact {agreement_id}",
            "parties": ["KR", "JP"],
            "tags": tags,
            "rules": [{"kind": "fixed_term", "expires": "2030-01-01"}],
            "channels": channels,
        }
    )


def deadline(
    agreement_id: str, kind: DeadlineKind, day: date, party: str | None = None
) -> Deadline:
    return Deadline(agreement_id, f"Pact {agreement_id}", kind, day, 0, "x", party=party)


ROUTES = (
    # 0: tax conventions to the tax desk, and keep looking
    Route(Match(tags=frozenset({"tax"})), ("tax-desk",), continue_=True),
    # 1: security agreements with Japan or Korea to the defence desk (tags AND parties)
    Route(Match(tags=frozenset({"security"}), parties=frozenset({"JP", "KR"})), ("defence",)),
    # 2: any notice deadline also to the legal adviser
    Route(Match(kinds=frozenset({"notice_deadline"})), ("legal", "tax-desk")),
    # 3: never reached for notice deadlines (2 does not continue)
    Route(Match(), ("catch-all",)),
)
D = date(2027, 8, 24)


@pytest.mark.parametrize(
    ("tags", "kind", "own", "expected"),
    [
        # tax + notice: route 0 continues, route 2 adds legal (tax-desk once), route 3 not reached
        (
            ["tax"],
            DeadlineKind.NOTICE_DEADLINE,
            None,
            [("tax-desk", "routes[0]"), ("legal", "routes[2]")],
        ),
        # security + party: route 1 decides and stops
        (["security"], DeadlineKind.NOTICE_DEADLINE, None, [("defence", "routes[1]")]),
        # tax + expiry: route 0 continues, 1 and 2 do not match, catch-all adds
        (
            ["tax"],
            DeadlineKind.EXPIRY,
            None,
            [("tax-desk", "routes[0]"), ("catch-all", "routes[3]")],
        ),
        # nothing specific: the catch-all
        (["trade"], DeadlineKind.EXPIRY, None, [("catch-all", "routes[3]")]),
        # the agreement's own channels win over every route
        (["tax"], DeadlineKind.NOTICE_DEADLINE, ["ops", "ops"], [("ops", "agreement")]),
    ],
)
def test_routes_first_match_wins_unless_continue(
    tags: list[str], kind: DeadlineKind, own: list[str] | None, expected: list[tuple[str, str]]
) -> None:
    a = agreement("pact", tags=tags, channels=own)
    routed = route(deadline("pact", kind, D), a, ROUTES, ("default",))
    assert [(r.channel, r.via) for r in routed] == expected


def test_a_deadline_no_route_matches_goes_to_the_default_channels() -> None:
    a = agreement("pact", tags=["trade"])
    routed = route(deadline("pact", DeadlineKind.EXPIRY, D), a, ROUTES[:3], ("log", "mail"))
    assert [(r.channel, r.via) for r in routed] == [
        ("log", "default_channels"),
        ("mail", "default_channels"),
    ]


def test_a_party_match_reads_the_deadlines_own_party_when_it_has_one() -> None:
    only_us = (Route(Match(parties=frozenset({"US"})), ("us-desk",)),)
    a = agreement("pact", tags=[])  # parties KR, JP
    with_party = deadline("pact", DeadlineKind.WITHDRAWAL_EFFECTIVE, D, party="US")
    without = deadline("pact", DeadlineKind.WITHDRAWAL_EFFECTIVE, D)
    assert [r.channel for r in route(with_party, a, only_us, ("d",))] == ["us-desk"]
    assert [r.channel for r in route(without, a, only_us, ("d",))] == ["d"]


def test_escalations_apply_to_act_by_deadlines_only() -> None:
    escalations = (
        Escalation(Match(tags=frozenset({"security"})), parse_duration("7 days"), ("minister",)),
        Escalation(Match(), parse_duration("2 days"), ("minister", "duty-officer")),
    )
    a = agreement("pact", tags=["security"])
    notice = deadline("pact", DeadlineKind.NOTICE_DEADLINE, D)
    opens = deadline("pact", DeadlineKind.NOTICE_WINDOW_OPENS, D)  # act_from
    expiry = deadline("pact", DeadlineKind.EXPIRY, D)  # info
    got = [(w.canonical(), r.channel, r.via) for w, r in escalations_for(notice, a, escalations)]
    assert got == [
        ("7 days", "minister", "escalations[0]"),
        ("2 days", "minister", "escalations[1]"),
        ("2 days", "duty-officer", "escalations[1]"),
    ]
    assert escalations_for(opens, a, escalations) == []
    assert escalations_for(expiry, a, escalations) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MON 08:00", Schedule(0, time(8, 0))),
        ("sun 23:59", Schedule(6, time(23, 59))),
        ("daily 8:30", Schedule(None, time(8, 30))),
        ("DAILY 00:00", Schedule(None, time(0, 0))),
    ],
)
def test_schedules_parse(text: str, expected: Schedule) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "MONDAY 08:00",
            "'MONDAY 08:00': 'MONDAY' is not a weekday "
            "(expected 'daily HH:MM' or a weekday and a time such as 'MON 08:00')",
        ),
        ("daily 24:00", "'daily 24:00': 24:00 is not a time of day"),
        (
            "08:00",
            "'08:00' is not a schedule "
            "(expected 'daily HH:MM' or a weekday and a time such as 'MON 08:00')",
        ),
    ],
)
def test_bad_schedules_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_schedule(text)
    assert str(caught.value) == message


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        # Monday 2026-08-03 08:00 Berlin is 06:00 UTC
        (
            "MON 08:00",
            datetime(2026, 8, 3, 6, 0, tzinfo=UTC),
            datetime(2026, 8, 3, 8, 0, tzinfo=BERLIN),
        ),
        ("MON 08:00", datetime(2026, 8, 3, 5, 59, tzinfo=UTC), None),  # not yet
        ("MON 08:00", datetime(2026, 8, 4, 6, 0, tzinfo=UTC), None),  # Tuesday: never a day late
        # 23:30 UTC on Sunday is already Monday in Berlin
        (
            "MON 00:15",
            datetime(2026, 8, 2, 23, 30, tzinfo=UTC),
            datetime(2026, 8, 3, 0, 15, tzinfo=BERLIN),
        ),
        # 21:00 UTC is 23:00 in Berlin (summer time): that day's 08:00 has passed
        (
            "daily 08:00",
            datetime(2026, 8, 4, 21, 0, tzinfo=UTC),
            datetime(2026, 8, 4, 8, 0, tzinfo=BERLIN),
        ),
        # 22:00 UTC is already the next day in Berlin, whose 08:00 has not come
        ("daily 08:00", datetime(2026, 8, 4, 22, 0, tzinfo=UTC), None),
    ],
)
def test_only_todays_occurrence_is_due(
    schedule: str, now: datetime, expected: datetime | None
) -> None:
    assert occurrence_today(parse_schedule(schedule), now=now, zone=BERLIN) == expected


def test_a_digest_lists_matching_deadlines_in_its_window_by_date_with_days_left() -> None:
    agreements = {
        "tax-1": agreement("tax-1", tags=["tax"]),
        "sec-1": agreement("sec-1", tags=["security"]),
    }
    spec = DigestSpec(
        "weekly",
        "legal",
        parse_schedule("MON 08:00"),
        parse_duration("1 month"),
        Match(tags=frozenset({"tax"})),
    )
    day = date(2027, 1, 31)  # one month later is 28 February (no 29th in 2027)
    deadlines = [
        deadline("tax-1", DeadlineKind.EXPIRY, date(2027, 3, 1)),  # after the window
        deadline("tax-1", DeadlineKind.NOTICE_DEADLINE, date(2027, 2, 28)),  # last day
        deadline("sec-1", DeadlineKind.NOTICE_DEADLINE, date(2027, 2, 1)),  # other tag
        deadline("tax-1", DeadlineKind.NOTICE_WINDOW_OPENS, date(2027, 1, 31)),  # first day
        deadline("tax-1", DeadlineKind.MILESTONE, date(2027, 1, 30)),  # before the window
    ]
    listed = digest_entries(deadlines, agreements, spec, day=day)
    assert [(d.date, d.kind.value, d.days_left, d.action.value) for d in listed] == [
        (date(2027, 1, 31), "notice_window_opens", 0, "act_from"),
        (date(2027, 2, 28), "notice_deadline", 28, "act_by"),
    ]
