"""The seeds written for format 1.1 give exactly the deadlines their treaty texts imply.

Each row asserts the EXACT set of (kind, date, party) in a window, not only that the expected
rows are present. The expected values were computed by hand from the quoted clause and the rules
of format 1.1 (notices counted to a day of the year, denunciation windows, not-before dates,
entry into force per party, re-joining, suspension, cessation of membership); the arithmetic is
written next to each row. They were not taken from the engine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tracker.domain.agreement import Agreement, Event

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

Row = tuple[str, date | None, str | None]


def _seed(agreement_id: str) -> Agreement:
    """One seed through the real loader, so a row fails on its own file only."""
    from tracker.loader import load_paths

    (item,) = load_paths([SEEDS / f"{agreement_id}.yaml"])
    return item.agreement


def _rows(agreement: Agreement, *, as_of: date, start: date, end: date) -> set[Row]:
    from tracker.domain.rules import compute_deadlines

    return {
        (d.kind.value, d.date, d.party)
        for d in compute_deadlines(agreement, as_of=as_of, start=start, end=end)
    }


DK_FR = "dk-fr-tax-convention"
ILO = "ilo-c158-termination-of-employment"
WHALING = "whaling-convention"
COE = "council-of-europe-statute"
COLUMBIA = "columbia-river-treaty"
PARIS = "paris-agreement"
NEW_START = "new-start"
D = "notice_deadline"
OPENS = "notice_window_opens"
W = "withdrawal_effective"
EARLIEST = "earliest_notice"

# (agreement, as_of, window start, window end, exact expected set)
TABLE: list[tuple[str, date, date, date, set[Row]]] = [
    # Denmark–France 1957, Art. 28: notice_by 06-30, effective 01-01, earliest notice 1960-01-01.
    # Seen before Denmark's note: a notice_deadline every 30 June (first one 1960-06-30, the
    # first 06-30 on or after 1960-01-01), each securing 1 January of the next year.
    (
        DK_FR,
        date(2008, 1, 1),
        date(2008, 1, 1),
        date(2010, 12, 31),
        {(D, date(2008, 6, 30), None), (D, date(2009, 6, 30), None), (D, date(2010, 6, 30), None)},
    ),
    # Denmark's note 2008-06-10 counts toward 2008-06-30 (first 06-30 on or after it); effect on
    # the first 01-01 strictly after 2008-06-30 = 2009-01-01. Bilateral: the convention ends
    # then, so no notice_deadline after 2009-01-01 (2009-06-30 and 2010-06-30 are gone).
    (
        DK_FR,
        date(2010, 12, 31),
        date(2008, 1, 1),
        date(2010, 12, 31),
        {(D, date(2008, 6, 30), None), (W, date(2009, 1, 1), "DK")},
    ),
    # ILO C158, Art. 17: in force 1985-11-23; windows {first: 10 years, every: 10 years,
    # length: 1 year}. O_0 = 1985-11-23 + 10 years = 1995-11-23, last day O_0 + 1 year − 1 day =
    # 1996-11-22; O_1 = O_0 + 10 years = 2005-11-23, last day 2006-11-22. Brazil's denunciation
    # registered 1996-11-20 is inside window 0; effect 1996-11-20 + 1 year = 1997-11-20.
    # Multilateral: the windows go on for the others.
    (
        ILO,
        date(2007, 12, 31),
        date(1995, 1, 1),
        date(2007, 12, 31),
        {
            (OPENS, date(1995, 11, 23), None),
            (D, date(1996, 11, 22), None),
            (W, date(1997, 11, 20), "BR"),
            (OPENS, date(2005, 11, 23), None),
            (D, date(2006, 11, 22), None),
        },
    ),
    # Whaling Convention, Art. XI: notice_by 01-01, effective 06-30. A notice_deadline on every
    # 1 January (2018-01-01, 2019-01-01 in the window). Japan's notice 2018-12-26 counts toward
    # 2019-01-01; effect on the first 06-30 strictly after it = 2019-06-30.
    (
        WHALING,
        date(2019, 12, 31),
        date(2018, 1, 1),
        date(2019, 12, 31),
        {(D, date(2018, 1, 1), None), (D, date(2019, 1, 1), None), (W, date(2019, 6, 30), "JP")},
    ),
    # Statute of the Council of Europe, Art. 7: notice_by 09-30, effective 12-31. Greece's notice
    # 1969-12-12 is after 1969-09-30, so it counts toward 1970-09-30; effect on the first 12-31
    # strictly after that = 1970-12-31. Multilateral: a notice_deadline every 30 September. The
    # re-joining on 1974-11-28 yields no date (the rule has no earliest_notice).
    (
        COE,
        date(1975, 12, 31),
        date(1969, 1, 1),
        date(1975, 12, 31),
        {(D, date(year, 9, 30), None) for year in range(1969, 1976)}
        | {(W, date(1970, 12, 31), "GR")},
    ),
    # Seen on 2022-03-15 (Russia's notice given, expulsion not yet decided): 2022-03-15 counts
    # toward 2022-09-30; effect on the first 12-31 strictly after it = 2022-12-31.
    (
        COE,
        date(2022, 3, 15),
        date(2022, 1, 1),
        date(2022, 12, 31),
        {(D, date(2022, 9, 30), None), (W, date(2022, 12, 31), "RU")},
    ),
    # Seen at the end of 2022: Russia ceased to be a member on 2022-03-16 (membership_ended);
    # its pending notice lapses, so no withdrawal_effective on 2022-12-31. Multilateral: no
    # termination, and the 2022-09-30 notice_deadline stays for the others.
    (
        COE,
        date(2022, 12, 31),
        date(2022, 1, 1),
        date(2022, 12, 31),
        {(D, date(2022, 9, 30), None), ("membership_ended", date(2022, 3, 16), "RU")},
    ),
    # Columbia River Treaty, Art. XIX: notice 10 years, not_before 60 years after in_force
    # (1964-09-16 + 60 years = 2024-09-16). No notice given, so the withdrawal rule yields no
    # date; the milestone `after: 60 years` gives 2024-09-16.
    (
        COLUMBIA,
        date(2025, 1, 1),
        date(2014, 1, 1),
        date(2024, 12, 31),
        {("milestone", date(2024, 9, 16), None)},
    ),
    # Paris Agreement, Art. 28: earliest notice 3 years after entry into force for the Party.
    # All others: 2016-11-04 + 3 years = 2019-11-04 (no party). US notice 2019-11-04 + 1 year =
    # 2020-11-04. US rejoined 2021-02-19: 2021-02-19 + 3 years = 2024-02-19 (party US).
    # Türkiye in_force_for 2021-11-10 + 3 years = 2024-11-10 (party TR). US notice 2025-01-27
    # (after 2024-02-19) + 1 year = 2026-01-27.
    (
        PARIS,
        date(2026, 6, 1),
        date(2019, 1, 1),
        date(2026, 12, 31),
        {
            (EARLIEST, date(2019, 11, 4), None),
            (W, date(2020, 11, 4), "US"),
            (EARLIEST, date(2024, 2, 19), "US"),
            (EARLIEST, date(2024, 11, 10), "TR"),
            (W, date(2026, 1, 27), "US"),
        },
    ),
    # New START: 2011-02-05 + 10 years, extended to 2026-02-05. Russia's suspension of
    # 2023-02-21 moves no date, so the only date in the window is the expiry.
    (
        NEW_START,
        date(2026, 1, 1),
        date(2023, 1, 1),
        date(2026, 12, 31),
        {("expiry", date(2026, 2, 5), None)},
    ),
]


@pytest.mark.parametrize(
    ("agreement_id", "as_of", "start", "end", "expected"),
    TABLE,
    ids=[f"{row[0]}-as-of-{row[1]}" for row in TABLE],
)
def test_new_seed_yields_exactly_these_deadlines(
    agreement_id: str, as_of: date, start: date, end: date, expected: set[Row]
) -> None:
    assert _rows(_seed(agreement_id), as_of=as_of, start=start, end=end) == expected


# What-if rows: a notice added to the Columbia River seed (none has been given in reality), to
# check that `not_before` reads the seed's clause as the text does.
WHAT_IF: list[tuple[date, set[Row]]] = [
    # 2010-01-04 + 10 years = 2020-01-04, earlier than not_before 2024-09-16 → 2024-09-16.
    (date(2010, 1, 4), {("milestone", date(2024, 9, 16), None), (W, date(2024, 9, 16), "CA")}),
    # 2014-09-16 + 10 years = 2024-09-16, equal to not_before → 2024-09-16.
    (date(2014, 9, 16), {("milestone", date(2024, 9, 16), None), (W, date(2024, 9, 16), "CA")}),
    # 2020-03-02 + 10 years = 2030-03-02, later than not_before → 2030-03-02.
    (date(2020, 3, 2), {("milestone", date(2024, 9, 16), None), (W, date(2030, 3, 2), "CA")}),
]


@pytest.mark.parametrize(("notice", "expected"), WHAT_IF, ids=[str(r[0]) for r in WHAT_IF])
def test_columbia_river_termination_is_never_before_sixty_years(
    notice: date, expected: set[Row]
) -> None:
    seed = _seed(COLUMBIA)
    event = Event.model_validate(
        {"date": notice, "type": "notice_given", "party": "CA", "note": "hypothetical notice"}
    )
    agreement = seed.model_copy(update={"events": [*seed.events, event]})
    assert (
        _rows(agreement, as_of=date(2031, 1, 1), start=date(2014, 1, 1), end=date(2031, 12, 31))
        == expected
    )


def test_each_new_seed_records_its_events_with_a_note_and_a_source() -> None:
    # Historical facts in seeds carry what happened and where it is written (seeds/VERIFICATION.md).
    for agreement_id in (DK_FR, ILO, WHALING, COE, PARIS, NEW_START):
        agreement = _seed(agreement_id)
        for index, event in enumerate(agreement.events):
            assert event.note, f"{agreement_id} events[{index}]"
            assert agreement.source_cite(event.source), f"{agreement_id} events[{index}]"
