"""Calendar alarms at the reminder offsets in force, at the send time."""

from __future__ import annotations

from datetime import date, time, timedelta

from tracker.domain.alarms import alarm_triggers
from tracker.domain.deadline import Deadline, DeadlineKind, Outcome
from tracker.domain.durations import parse_duration

OFFSETS = [parse_duration(t) for t in ("90 days", "30 days", "7 days", "1 day", "0 days")]
NINE = time(9, 0)


def d(kind: DeadlineKind, day: date, outcome: Outcome | None = None) -> Deadline:
    return Deadline("x", "X", kind, day, 0, "", outcome=outcome)


def test_an_act_by_date_gets_an_alarm_per_offset_at_the_send_time() -> None:
    # GSOMIA 2020-08-24: 90 days before at 09:00 is 89 days and 15 hours before midnight.
    triggers = alarm_triggers(
        d(DeadlineKind.NOTICE_DEADLINE, date(2020, 8, 24)), OFFSETS, send_time=NINE
    )
    assert triggers == [
        -timedelta(days=89, hours=15),
        -timedelta(days=29, hours=15),
        -timedelta(days=6, hours=15),
        -timedelta(hours=15),
        timedelta(hours=9),
    ]


def test_an_act_from_date_gets_alarms_and_an_info_date_none() -> None:
    earliest = d(DeadlineKind.EARLIEST_NOTICE, date(1969, 8, 24))
    assert alarm_triggers(earliest, OFFSETS[:1], send_time=NINE) == [-timedelta(days=89, hours=15)]
    renewal = d(DeadlineKind.EXPIRY, date(2020, 11, 22), Outcome.RENEWS)
    assert alarm_triggers(renewal, OFFSETS, send_time=NINE) == []


def test_months_count_on_the_calendar_like_the_planner() -> None:
    # 6 months before 2024-08-31 is 2024-02-29: 184 days.
    triggers = alarm_triggers(
        d(DeadlineKind.NOTICE_DEADLINE, date(2024, 8, 31)),
        [parse_duration("6 months"), parse_duration("1 month")],
        send_time=time(0, 0),
    )
    assert triggers == [-timedelta(days=184), -timedelta(days=31)]


def test_equal_offsets_give_one_alarm_and_kinds_left_out_none() -> None:
    deadline = d(DeadlineKind.NOTICE_DEADLINE, date(2020, 8, 24))
    same = [parse_duration("1 week"), parse_duration("7 days")]
    assert alarm_triggers(deadline, same, send_time=NINE) == [-timedelta(days=6, hours=15)]
    assert alarm_triggers(deadline, same, send_time=NINE, kinds=frozenset({"expiry"})) == []


def test_an_offset_before_year_1_gives_no_alarm() -> None:
    deadline = d(DeadlineKind.NOTICE_DEADLINE, date(1, 1, 10))
    assert alarm_triggers(
        deadline, [parse_duration("1 year"), parse_duration("1 day")], send_time=NINE
    ) == [-timedelta(hours=15)]
