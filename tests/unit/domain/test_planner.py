"""The reminder planner: due instants across DST, keys, reconciliation, the missed rule."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, DeadlineKind
from tracker.domain.planner import (
    PlannedReminder,
    PlanReason,
    ReminderKey,
    ReminderPolicy,
    StoredReminder,
    due_instant,
    plan_reminders,
)
from tracker.domain.reminder import ReminderStatus
from tracker.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NINE = time(9, 0)


def settings(**overrides: Any) -> ReminderPolicy:
    """The planner's policy as configuration with these keys would build it."""
    base: dict[str, Any] = {
        "reminders": ["30 days", "7 days", "1 day", "0 days"],
        "agreements_dir": None,
    }
    base.update(overrides)
    return Settings.model_validate(base).reminder_policy()


def agreement(agreement_id: str = "pact", **fields: Any) -> Agreement:
    return Agreement.model_validate(
        {
            "version": 1,
            "id": agreement_id,
            "title": "Pact",
            "parties": ["AA", "BB"],
            "rules": [{"kind": "fixed_term", "expires": "2030-01-01"}],
            **fields,
        }
    )


def deadline(
    day: date,
    *,
    agreement_id: str = "pact",
    kind: DeadlineKind = DeadlineKind.NOTICE_DEADLINE,
    party: str | None = None,
) -> Deadline:
    return Deadline(
        agreement=agreement_id,
        title="Pact",
        kind=kind,
        date=day,
        days_left=0,
        explanation="test",
        party=party,
    )


def stored_from(planned: list[PlannedReminder], *, start_id: int = 1) -> list[StoredReminder]:
    return [
        StoredReminder(id=start_id + i, key=p.key, status=p.status, due_at=p.due_at)
        for i, p in enumerate(planned)
    ]


# --- due instants ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "zone", "expected_utc"),
    [
        # Berlin: CET (+1) until 2024-03-31 02:00, CEST (+2) until 2024-10-27 03:00.
        (date(2024, 3, 30), BERLIN, datetime(2024, 3, 30, 8, 0, tzinfo=UTC)),
        (date(2024, 3, 31), BERLIN, datetime(2024, 3, 31, 7, 0, tzinfo=UTC)),
        (date(2024, 10, 26), BERLIN, datetime(2024, 10, 26, 7, 0, tzinfo=UTC)),
        (date(2024, 10, 27), BERLIN, datetime(2024, 10, 27, 8, 0, tzinfo=UTC)),
        # New York: EST (−5) until 2024-03-10 02:00, EDT (−4) until 2024-11-03 02:00.
        (date(2024, 3, 9), NEW_YORK, datetime(2024, 3, 9, 14, 0, tzinfo=UTC)),
        (date(2024, 3, 10), NEW_YORK, datetime(2024, 3, 10, 13, 0, tzinfo=UTC)),
        (date(2024, 11, 2), NEW_YORK, datetime(2024, 11, 2, 13, 0, tzinfo=UTC)),
        (date(2024, 11, 3), NEW_YORK, datetime(2024, 11, 3, 14, 0, tzinfo=UTC)),
    ],
)
def test_send_time_keeps_local_wall_clock_across_dst_changes(
    day: date, zone: ZoneInfo, expected_utc: datetime
) -> None:
    due = due_instant(day, NINE, zone)
    assert due == expected_utc
    assert due.astimezone(zone).time() == NINE


def test_send_time_inside_the_spring_gap_is_read_with_the_offset_before_the_gap() -> None:
    # 02:30 does not exist in Berlin on 2024-03-31; read as CET it is 01:30 UTC (03:30 CEST).
    due = due_instant(date(2024, 3, 31), time(2, 30), BERLIN)
    assert due == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert due.astimezone(BERLIN).time() == time(3, 30)


def test_send_time_in_the_repeated_autumn_hour_takes_its_first_occurrence() -> None:
    # 02:30 happens twice in New York on 2024-11-03; the first is still EDT (−4).
    due = due_instant(date(2024, 11, 3), time(1, 30), NEW_YORK)
    assert due == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)


def test_reminders_are_due_at_send_time_in_the_agreements_zone() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    plan = plan_reminders(
        [deadline(date(2024, 4, 3))],
        {"pact": agreement(timezone="Europe/Berlin")},
        [],
        settings(reminders=["7 days", "1 day"]),
        now=now,
    )
    due = {p.key.offset: p.due_at for p in plan.new}
    # 7 days before is 27 March (CET), 1 day before is 2 April (CEST).
    assert due == {
        "7 days": datetime(2024, 3, 27, 8, 0, tzinfo=UTC),
        "1 day": datetime(2024, 4, 2, 7, 0, tzinfo=UTC),
    }


# --- keys ------------------------------------------------------------------------------------


def test_webhook_id_is_stable_and_differs_per_channel_and_offset() -> None:
    key = ReminderKey("kr-jp-gsomia", "notice_deadline", date(2020, 8, 24), "", "30 days", "ops")
    same = ReminderKey("kr-jp-gsomia", "notice_deadline", date(2020, 8, 24), "", "30 days", "ops")
    other_channel = ReminderKey(
        "kr-jp-gsomia", "notice_deadline", date(2020, 8, 24), "", "30 days", "desk"
    )
    other_offset = ReminderKey(
        "kr-jp-gsomia", "notice_deadline", date(2020, 8, 24), "", "7 days", "ops"
    )
    assert key.webhook_id() == same.webhook_id()
    assert key.webhook_id().startswith("msg_") and len(key.webhook_id()) == 4 + 26
    assert len({key.webhook_id(), other_channel.webhook_id(), other_offset.webhook_id()}) == 3


def test_one_reminder_per_offset_per_channel_with_agreement_overrides() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    cfg = settings(channels={"ops": {"type": "log"}, "desk": {"type": "log"}})
    pact = agreement(reminders=["30 days", "4 weeks", "28 days"], channels=["ops", "desk"])
    plan = plan_reminders([deadline(date(2024, 6, 1))], {"pact": pact}, [], cfg, now=now)
    keys = {(p.key.offset, p.key.channel) for p in plan.new}
    # "4 weeks" and "28 days" are the same offset: one reminder, canonical text.
    assert keys == {
        ("30 days", "ops"),
        ("30 days", "desk"),
        ("28 days", "ops"),
        ("28 days", "desk"),
    }


def test_kinds_not_allowed_by_config_get_no_reminders() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    cfg = settings(reminder_kinds=["notice_deadline"])
    plan = plan_reminders(
        [deadline(date(2024, 6, 1)), deadline(date(2024, 9, 1), kind=DeadlineKind.EXPIRY)],
        {"pact": agreement()},
        [],
        cfg,
        now=now,
    )
    assert {p.key.deadline_kind for p in plan.new} == {"notice_deadline"}


def test_an_unconfigured_channel_is_reported_and_not_planned() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    plan = plan_reminders(
        [deadline(date(2024, 6, 1))],
        {"pact": agreement(channels=["nowhere"])},
        [],
        settings(),
        now=now,
    )
    assert plan.new == []
    assert plan.problems == ["agreement pact: channel 'nowhere' is not configured"]


def test_deadlines_beyond_the_horizon_are_not_planned() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    plan = plan_reminders(
        [deadline(date(2024, 3, 1)), deadline(date(2026, 3, 1))],
        {"pact": agreement()},
        [],
        settings(planning_horizon="100 days"),
        now=now,
    )
    assert {p.key.deadline_date for p in plan.new} == {date(2024, 3, 1)}


# --- reconciliation --------------------------------------------------------------------------


def test_planning_again_over_the_stored_plan_changes_nothing() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    deadlines = [deadline(date(2024, 6, 1)), deadline(date(2024, 9, 1))]
    first = plan_reminders(deadlines, {"pact": agreement()}, [], settings(), now=now)
    again = plan_reminders(
        deadlines, {"pact": agreement()}, stored_from(first.new), settings(), now=now
    )
    assert len(first.new) == 8
    assert (again.new, again.changes, again.unchanged) == ([], [], 8)


def test_reminders_of_a_vanished_deadline_are_cancelled_and_final_ones_kept() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    first = plan_reminders(
        [deadline(date(2024, 6, 1)), deadline(date(2024, 12, 1))],
        {"pact": agreement()},
        [],
        settings(),
        now=now,
    )
    stored = stored_from(first.new)
    sent = next(s for s in stored if s.key.deadline_date == date(2024, 12, 1))
    stored = [
        StoredReminder(s.id, s.key, ReminderStatus.SENT, s.due_at) if s is sent else s
        for s in stored
    ]
    # A timely notice: the December deadline no longer follows from the agreement.
    plan = plan_reminders(
        [deadline(date(2024, 6, 1))], {"pact": agreement()}, stored, settings(), now=now
    )
    cancelled = {c.id for c in plan.changes if c.status == ReminderStatus.CANCELLED}
    expected = {s.id for s in stored if s.key.deadline_date == date(2024, 12, 1)} - {sent.id}
    assert cancelled == expected and len(expected) == 3
    assert {c.reason for c in plan.changes} == {PlanReason.DEADLINE_GONE}


def test_reminders_of_a_removed_agreement_are_cancelled_but_a_failed_one_is_left_alone() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    both = {"pact": agreement(), "other": agreement("other")}
    first = plan_reminders(
        [deadline(date(2024, 6, 1)), deadline(date(2024, 6, 1), agreement_id="other")],
        both,
        [],
        settings(),
        now=now,
    )
    stored = stored_from(first.new)
    plan = plan_reminders(
        [], {"other": agreement("other")}, stored, settings(), now=now, failed=frozenset({"other"})
    )
    assert {c.key.agreement for c in plan.changes} == {"pact"}
    assert {c.reason for c in plan.changes} == {PlanReason.AGREEMENT_GONE}


def test_new_reminders_of_an_acknowledged_deadline_are_stored_acknowledged() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    first = plan_reminders(
        [deadline(date(2024, 6, 1))],
        {"pact": agreement()},
        [],
        settings(reminders=["7 days"]),
        now=now,
    )
    stored = [StoredReminder(1, first.new[0].key, ReminderStatus.ACKNOWLEDGED, first.new[0].due_at)]
    plan = plan_reminders(
        [deadline(date(2024, 6, 1))],
        {"pact": agreement()},
        stored,
        settings(reminders=["7 days", "1 day"]),
        now=now,
    )
    assert [(p.key.offset, p.status) for p in plan.new] == [("1 day", ReminderStatus.ACKNOWLEDGED)]


# --- missed reminders ------------------------------------------------------------------------


def test_a_just_added_deadline_sends_only_its_latest_missed_reminder() -> None:
    now = datetime(2024, 5, 28, 12, 0, tzinfo=UTC)  # deadline in 4 days
    plan = plan_reminders(
        [deadline(date(2024, 6, 1))], {"pact": agreement()}, [], settings(), now=now
    )
    decided = {p.key.offset: (p.status, p.reason) for p in plan.new}
    assert decided == {
        "30 days": (ReminderStatus.SKIPPED, PlanReason.MISSED_SUPERSEDED),
        "7 days": (ReminderStatus.PENDING, PlanReason.MISSED_LATEST),
        "1 day": (ReminderStatus.PENDING, PlanReason.SCHEDULED),
        "0 days": (ReminderStatus.PENDING, PlanReason.SCHEDULED),
    }


def test_reminders_missed_during_downtime_skip_all_but_the_latest() -> None:
    planned_at = datetime(2024, 1, 1, tzinfo=UTC)
    first = plan_reminders(
        [deadline(date(2024, 6, 1))], {"pact": agreement()}, [], settings(), now=planned_at
    )
    stored = stored_from(first.new)
    back_at = datetime(2024, 5, 31, 12, 0, tzinfo=UTC)  # after the 1-day reminder's time
    plan = plan_reminders(
        [deadline(date(2024, 6, 1))], {"pact": agreement()}, stored, settings(), now=back_at
    )
    skipped = {c.key.offset for c in plan.changes if c.status == ReminderStatus.SKIPPED}
    assert skipped == {"30 days", "7 days"}
    assert all(c.reason == PlanReason.MISSED_SUPERSEDED for c in plan.changes)
    assert "1 day reminder covers it" in plan.changes[0].reason_text
    assert plan.new == [] and plan.unchanged == 2  # 1 day (due now) and 0 days (tomorrow)


def test_a_reminder_already_being_retried_is_not_skipped() -> None:
    first = plan_reminders(
        [deadline(date(2024, 6, 1))],
        {"pact": agreement()},
        [],
        settings(reminders=["7 days", "1 day"]),
        now=datetime(2024, 1, 1, tzinfo=UTC),
    )
    stored = [
        StoredReminder(1, first.new[0].key, ReminderStatus.RETRYING, first.new[0].due_at),
        StoredReminder(2, first.new[1].key, ReminderStatus.PENDING, first.new[1].due_at),
    ]
    plan = plan_reminders(
        [deadline(date(2024, 6, 1))],
        {"pact": agreement()},
        stored,
        settings(reminders=["7 days", "1 day"]),
        now=datetime(2024, 5, 31, 12, 0, tzinfo=UTC),
    )
    assert plan.changes == []


def test_missed_reminders_of_a_deadline_already_past_are_all_skipped() -> None:
    first = plan_reminders(
        [deadline(date(2024, 6, 1))],
        {"pact": agreement()},
        [],
        settings(),
        now=datetime(2024, 1, 1, tzinfo=UTC),
    )
    stored = stored_from(first.new)
    # Back two days after the deadline; the rule engine no longer yields it.
    plan = plan_reminders(
        [], {"pact": agreement()}, stored, settings(), now=datetime(2024, 6, 3, tzinfo=UTC)
    )
    assert {c.status for c in plan.changes} == {ReminderStatus.SKIPPED}
    assert {c.reason for c in plan.changes} == {PlanReason.DEADLINE_PASSED}
    assert len(plan.changes) == 4


def test_a_deadline_still_today_in_the_agreements_zone_is_ahead() -> None:
    # 2024-06-01 03:00 UTC is still 31 May 23:00 in New York: the 1 June deadline is ahead
    # there, while 2024-05-31 has passed in Berlin-free UTC terms only.
    cfg = settings(reminders=["1 day", "0 days"], send_time="00:00")
    now = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)
    plan = plan_reminders(
        [deadline(date(2024, 5, 31))],
        {"pact": agreement(timezone="America/New_York")},
        [],
        cfg,
        now=now,
    )
    decided = {p.key.offset: p.reason for p in plan.new}
    assert decided == {"1 day": PlanReason.MISSED_SUPERSEDED, "0 days": PlanReason.MISSED_LATEST}


def test_the_planner_imports_no_database_http_or_scheduler_library() -> None:
    code = (
        "import sys, tracker.domain.planner\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlmodel', 'sqlalchemy', 'httpx', 'fastapi', 'apscheduler'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
