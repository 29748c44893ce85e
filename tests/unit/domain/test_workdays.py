"""Working-day notes for deadlines on weekends and the parties' public holidays."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.deadline import Action
from tracker.domain.workdays import is_working_day, weekday_note


def test_saturday_24_august_2019_points_to_friday_23_august() -> None:
    # GSOMIA Art. 21(3): the 2019 notice deadline fell on a Saturday.
    assert weekday_note(date(2019, 8, 24), ["KR", "JP"]) == (
        "Saturday; last working day before is Friday 2019-08-23"
    )


def test_sunday_points_back_past_the_weekend() -> None:
    assert weekday_note(date(2019, 8, 25), ["KR", "JP"]) == (
        "Sunday; last working day before is Friday 2019-08-23"
    )


def test_a_working_day_has_no_note() -> None:
    assert weekday_note(date(2019, 8, 23), ["KR", "JP"]) is None


def test_korean_public_holiday_is_named_and_skipped_with_the_day_before() -> None:
    # Chuseok 2019: 12–14 September; the last working day before the 13th is the 11th.
    assert weekday_note(date(2019, 9, 13), ["KR", "JP"]) == (
        "Chuseok (KR public holiday); last working day before is Wednesday 2019-09-11"
    )


def test_a_holiday_of_either_party_counts() -> None:
    # Liberation Day (KR) is a working day in Japan; it still gets a note for KR–JP.
    assert weekday_note(date(2019, 8, 15), ["JP", "KR"]) == (
        "Liberation Day (KR public holiday); last working day before is Wednesday 2019-08-14"
    )


def test_golden_week_is_skipped_back_to_the_last_working_day() -> None:
    # Japan 2019: 27 April to 6 May were all holidays or weekend days.
    assert weekday_note(date(2019, 5, 3), ["JP"]) == (
        "Constitution Day (JP public holiday); last working day before is Friday 2019-04-26"
    )


def test_organisation_parties_are_ignored() -> None:
    # National Foundation Day is a KR holiday, but 'EU' and 'UNESCO' have no calendar.
    assert weekday_note(date(2019, 10, 3), ["EU", "UNESCO"]) is None
    assert weekday_note(date(2019, 10, 3), ["EU", "KR"]) == (
        "National Foundation Day (KR public holiday); last working day before is "
        "Wednesday 2019-10-02"
    )


def test_weekends_are_noted_even_for_organisations_only() -> None:
    assert weekday_note(date(2019, 8, 24), ["UNESCO"]) == (
        "Saturday; last working day before is Friday 2019-08-23"
    )


def test_is_working_day_agrees_with_the_note() -> None:
    assert is_working_day(date(2019, 8, 23), ["KR"])
    assert not is_working_day(date(2019, 9, 13), ["KR"])
    assert is_working_day(date(2019, 9, 13), ["JP"])


def test_a_party_whose_calendar_is_partial_outside_2001_to_2035_gives_a_note_without_warning() -> (
    None
):
    # India's calendar in `holidays` warns outside 2001-2035; its fixed holidays still count.
    # 26 January 1997 (Republic Day) was a Sunday; 15 August 1997 (Independence Day) a Friday.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        note = weekday_note(date(1997, 8, 15), ["IN", "NL"])
    assert note is not None and "Independence Day" in note


# North Atlantic Treaty Art. 13: "After the Treaty has been in force for twenty years, any
# Party may cease to be a Party ..." In force 1949-08-24: the earliest notice, 1969-08-24,
# was a Sunday. The original twelve parties.
NATO_1949 = ["US", "BE", "CA", "DK", "FR", "IS", "IT", "LU", "NL", "NO", "PT", "GB"]


@pytest.mark.parametrize(
    ("day", "parties", "action", "note"),
    [
        # act_from: never advise a day before the first day (a notice then is premature).
        (
            date(1969, 8, 24),
            NATO_1949,
            Action.ACT_FROM,
            "Sunday; first working day after is Monday 1969-08-25",
        ),
        # act_by: unchanged, the last working day before.
        (
            date(1969, 8, 24),
            NATO_1949,
            Action.ACT_BY,
            "Sunday; last working day before is Friday 1969-08-22",
        ),
        # info: something happens by itself; the note only names the day.
        (date(2020, 11, 22), ["KR", "JP"], Action.INFO, "Sunday"),
        (date(2019, 9, 13), ["KR"], Action.INFO, "Chuseok (KR public holiday)"),
        # Across a year end and a holiday: Sunday 31 December → Tuesday 2 January.
        (
            date(2023, 12, 31),
            ["DE"],
            Action.ACT_FROM,
            "Sunday; first working day after is Tuesday 2024-01-02",
        ),
        # Leap day: Saturday 29 February 2020, first working day after is Monday 2 March.
        (
            date(2020, 2, 29),
            ["UNESCO"],
            Action.ACT_FROM,
            "Saturday; first working day after is Monday 2020-03-02",
        ),
        # Chuseok 2019 (12-14 September) then a weekend: Monday 16 September.
        (
            date(2019, 9, 12),
            ["KR"],
            Action.ACT_FROM,
            "The day preceding Chuseok (KR public holiday); first working day after is "
            "Monday 2019-09-16",
        ),
        # A working day has no note, whatever the action.
        (date(2019, 8, 23), ["KR"], Action.ACT_FROM, None),
        (date(2019, 8, 23), ["KR"], Action.INFO, None),
    ],
)
def test_the_note_follows_the_action(
    day: date, parties: list[str], action: Action, note: str | None
) -> None:
    assert weekday_note(day, parties, action) == note


def test_the_engine_notes_an_earliest_notice_on_a_sunday_with_the_first_working_day_after() -> None:
    from tests.unit.domain.test_rules import agreement as build
    from tracker.domain.rules import compute_deadlines

    agreement = build(
        [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "20 years"}],
        parties=NATO_1949,
        in_force="1949-08-24",
        ident="north-atlantic-treaty",
    )
    [earliest] = compute_deadlines(
        agreement, as_of=date(1969, 8, 1), start=date(1969, 8, 1), end=date(1969, 8, 31)
    )
    assert (earliest.kind.value, earliest.date, earliest.action) == (
        "earliest_notice",
        date(1969, 8, 24),
        Action.ACT_FROM,
    )
    assert earliest.weekday_note == "Sunday; first working day after is Monday 1969-08-25"
