"""The agreements shipped in ``seeds/``: they load, they are sourced, they cover the format,
and the engine gives the dates history recorded.

Each historical row cites the clause and the event it checks; the dates are the ones the
depositaries or the parties announced.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tracker.domain.agreement import RULE_KINDS, Agreement, Effective, Withdrawal
from tracker.domain.deadline import Deadline, DeadlineKind

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.y*ml"))


def _load_all() -> dict[str, tuple[Path, Agreement]]:
    """Every seed through the real loader (file:line:col errors, duplicate ids across files)."""
    from tracker.loader import load_paths

    loaded = load_paths([SEEDS])
    return {item.agreement.id: (Path(item.path or ""), item.agreement) for item in loaded}


@pytest.fixture(scope="module")
def seeds() -> dict[str, tuple[Path, Agreement]]:
    return _load_all()


def _agreement(seeds: dict[str, tuple[Path, Agreement]], agreement_id: str) -> Agreement:
    return seeds[agreement_id][1]


def _deadlines(agreement: Agreement, *, as_of: date, start: date, end: date) -> list[Deadline]:
    from tracker.domain.rules import compute_deadlines

    return compute_deadlines(agreement, as_of=as_of, start=start, end=end)


# --- the folder as a whole -------------------------------------------------------------------


def test_every_seed_file_loads_through_the_loader(seeds: dict[str, tuple[Path, Agreement]]) -> None:
    assert len(seeds) == len(SEED_FILES)


def test_there_are_at_least_fifteen_seed_agreements() -> None:
    assert len(SEED_FILES) >= 15


def test_each_seed_id_is_its_file_name(seeds: dict[str, tuple[Path, Agreement]]) -> None:
    for agreement_id, (path, _) in seeds.items():
        assert path.stem == agreement_id


def test_every_rule_kind_appears_in_the_seeds(seeds: dict[str, tuple[Path, Agreement]]) -> None:
    kinds = {rule.kind for _, agreement in seeds.values() for rule in agreement.rules}
    assert kinds == set(RULE_KINDS)


def test_every_effective_convention_appears_in_the_seeds(
    seeds: dict[str, tuple[Path, Agreement]],
) -> None:
    conventions = {
        rule.effective
        for _, agreement in seeds.values()
        for rule in agreement.rules
        if isinstance(rule, Withdrawal)
    }
    # The four named conventions, and the yearly days of the format 1.1 seeds (the Whaling
    # Convention's 30 June, the Council of Europe's 31 December, a tax convention's 1 January).
    assert {c for c in conventions if isinstance(c, Effective)} == set(Effective)
    assert {
        (c.day.month, c.day.day, c.next) for c in conventions if not isinstance(c, Effective)
    } == {(6, 30, False), (12, 31, False), (1, 1, False)}


def test_every_seed_cites_at_least_one_source_with_a_url(
    seeds: dict[str, tuple[Path, Agreement]],
) -> None:
    for agreement_id, (_, agreement) in seeds.items():
        assert any(s.cite and s.url for s in agreement.sources), agreement_id


def test_every_rule_points_at_its_source(seeds: dict[str, tuple[Path, Agreement]]) -> None:
    for agreement_id, (_, agreement) in seeds.items():
        for index, rule in enumerate(agreement.rules):
            assert agreement.source_cite(rule.source), f"{agreement_id} rules[{index}]"


def test_every_recorded_event_says_what_happened(seeds: dict[str, tuple[Path, Agreement]]) -> None:
    for agreement_id, (_, agreement) in seeds.items():
        for index, event in enumerate(agreement.events):
            assert event.note, f"{agreement_id} events[{index}]"


def test_gsomia_records_the_2019_notice_its_suspension_and_its_withdrawal(
    seeds: dict[str, tuple[Path, Agreement]],
) -> None:
    # SPEC section 2 example, event for event.
    events = [(e.date, e.type.value, e.party) for e in _agreement(seeds, "kr-jp-gsomia").events]
    assert events == [
        (date(2019, 8, 23), "notice_given", "KR"),
        (date(2019, 11, 22), "notice_suspended", "KR"),
        (date(2023, 3, 21), "notice_withdrawn", "KR"),
    ]


# --- history through the engine --------------------------------------------------------------

WITHDRAWAL = "withdrawal_effective"
ECT = "energy-charter-treaty"
UNESCO = "unesco-constitution"

# (agreement, as_of, kind, party, expected date, expected days_left or None) — one row per
# recorded fact, each citing its clause.
HISTORY = [
    # GSOMIA Art. 21(3): expiry 22 November, 90 days' notice → 24 August; 17 days after 7 August.
    ("kr-jp-gsomia", date(2020, 8, 7), "notice_deadline", None, date(2020, 8, 24), 17),
    ("kr-jp-gsomia", date(2020, 8, 7), "expiry", None, date(2020, 11, 22), 107),
    # GSOMIA: seen from September 2019, Korea's timely notice of 23 August ends the term.
    ("kr-jp-gsomia", date(2019, 9, 1), "termination", None, date(2019, 11, 22), 82),
    # Russia–Ukraine 1997 Art. 40: expiry 2019-04-01, six months' notice → 2018-10-01;
    # Ukraine's note of 24 September 2018 was timely.
    ("ru-ua-friendship-treaty", date(2018, 9, 1), "notice_deadline", None, date(2018, 10, 1), 30),
    ("ru-ua-friendship-treaty", date(2019, 1, 1), "termination", None, date(2019, 4, 1), 90),
    # Istanbul Convention Art. 80: Turkey 22 March 2021 + 3 months → first of next month.
    ("istanbul-convention", date(2021, 4, 1), WITHDRAWAL, "TR", date(2021, 7, 1), 91),
    # UNESCO Constitution Art. II(6): notice in 2017 → 31 December 2018.
    (UNESCO, date(2018, 1, 1), WITHDRAWAL, "US", date(2018, 12, 31), None),
    (UNESCO, date(2018, 1, 1), WITHDRAWAL, "IL", date(2018, 12, 31), None),
    # Energy Charter Treaty Art. 47(2): "upon the expiry of one year" → the day after.
    (ECT, date(2015, 1, 1), WITHDRAWAL, "IT", date(2016, 1, 1), None),
    (ECT, date(2023, 1, 1), WITHDRAWAL, "FR", date(2023, 12, 8), None),
    (ECT, date(2023, 1, 1), WITHDRAWAL, "DE", date(2023, 12, 20), None),
    (ECT, date(2024, 5, 1), WITHDRAWAL, "ES", date(2025, 4, 17), None),
    (ECT, date(2024, 5, 1), WITHDRAWAL, "GB", date(2025, 4, 27), None),
    (ECT, date(2024, 7, 1), WITHDRAWAL, "EU", date(2025, 6, 28), None),
    # ECT Art. 47(3): 20-year sunset from Italy's withdrawal.
    (ECT, date(2016, 1, 2), "survival_ends", "IT", date(2036, 1, 1), None),
    # New START Art. XIV(2): ten years from 5 February 2011, extended to 5 February 2026.
    ("new-start", date(2021, 1, 1), "expiry", None, date(2021, 2, 5), 35),
    ("new-start", date(2021, 3, 1), "expiry", None, date(2026, 2, 5), None),
    # NPT Art. X(1): the DPRK's 2003 notice + 3 months (the 1993 notice was suspended).
    ("npt", date(2003, 1, 15), WITHDRAWAL, "KP", date(2003, 4, 10), None),
    # INF Art. XV(2): US notice 2 February 2019 + six months.
    ("inf-treaty", date(2019, 3, 1), WITHDRAWAL, "US", date(2019, 8, 2), None),
    # Open Skies Art. XV(2): six months.
    ("open-skies-treaty", date(2020, 6, 1), WITHDRAWAL, "US", date(2020, 11, 22), None),
    ("open-skies-treaty", date(2021, 7, 1), WITHDRAWAL, "RU", date(2021, 12, 18), None),
    # Kyoto Protocol Art. 27(2): Canada, one year.
    ("kyoto-protocol", date(2012, 1, 1), WITHDRAWAL, "CA", date(2012, 12, 15), None),
    # Rome Statute Art. 127(1): one year.
    ("rome-statute", date(2017, 1, 1), WITHDRAWAL, "BI", date(2017, 10, 27), None),
    ("rome-statute", date(2018, 4, 1), WITHDRAWAL, "PH", date(2019, 3, 17), None),
    ("rome-statute", date(2025, 7, 1), WITHDRAWAL, "HU", date(2026, 6, 2), None),
    # Paris Agreement Art. 28: earliest notice three years after entry into force; one year.
    ("paris-agreement", date(2019, 1, 1), "earliest_notice", None, date(2019, 11, 4), None),
    ("paris-agreement", date(2019, 12, 1), WITHDRAWAL, "US", date(2020, 11, 4), None),
    # USMCA Art. 34.7: joint review on the sixth anniversary; 16-year term.
    ("usmca", date(2026, 1, 1), "milestone", None, date(2026, 7, 1), 181),
    ("usmca", date(2026, 1, 1), "expiry", None, date(2036, 7, 1), None),
    # India–Netherlands BIT Art. 16: 15 years' protection after the end on 1 December 2016.
    ("in-nl-bit", date(2017, 1, 1), "survival_ends", None, date(2031, 12, 1), None),
    # Bolivia–US BIT Art. XVII: one year's notice, ten years' protection afterwards.
    ("bo-us-bit", date(2011, 7, 1), WITHDRAWAL, "BO", date(2012, 6, 10), None),
    ("bo-us-bit", date(2012, 7, 1), "survival_ends", "BO", date(2022, 6, 10), None),
]


@pytest.mark.parametrize(
    ("agreement_id", "as_of", "kind", "party", "expected", "days_left"),
    HISTORY,
    ids=[f"{row[0]}-{row[2]}-{row[3] or 'all'}-{row[4]}" for row in HISTORY],
)
def test_seed_yields_the_historical_date(
    seeds: dict[str, tuple[Path, Agreement]],
    agreement_id: str,
    as_of: date,
    kind: str,
    party: str | None,
    expected: date,
    days_left: int | None,
) -> None:
    found = [
        d
        for d in _deadlines(
            _agreement(seeds, agreement_id),
            as_of=as_of,
            start=date(expected.year, 1, 1),
            end=date(expected.year, 12, 31),
        )
        if d.kind == DeadlineKind(kind) and d.party == party and d.date == expected
    ]
    assert len(found) == 1, f"no {kind} {party or ''} on {expected}"
    if days_left is not None:
        assert found[0].days_left == days_left


def test_gsomia_as_of_7_august_2020_lists_only_the_next_deadline_and_expiry(
    seeds: dict[str, tuple[Path, Agreement]],
) -> None:
    # The 2019 notice was suspended and later withdrawn, so the agreement simply renews.
    deadlines = _deadlines(
        _agreement(seeds, "kr-jp-gsomia"),
        as_of=date(2020, 8, 7),
        start=date(2020, 8, 7),
        end=date(2020, 12, 5),  # --within 120d
    )
    assert [(d.kind.value, d.date) for d in deadlines] == [
        ("notice_deadline", date(2020, 8, 24)),
        ("expiry", date(2020, 11, 22)),
    ]


def test_retracted_rome_statute_notices_have_no_effect(
    seeds: dict[str, tuple[Path, Agreement]],
) -> None:
    # South Africa (revoked 7 March 2017) and The Gambia (rescinded 10 February 2017) stayed.
    deadlines = _deadlines(
        _agreement(seeds, "rome-statute"),
        as_of=date(2018, 1, 1),
        start=date(2017, 1, 1),
        end=date(2017, 12, 31),
    )
    effective = {d.party for d in deadlines if d.kind == DeadlineKind.WITHDRAWAL_EFFECTIVE}
    assert effective == {"BI"}


@pytest.mark.parametrize(
    ("agreement_id", "expected"),
    [
        # Paris Agreement Art. 28(2): US notice 27 January 2025 → 27 January 2026.
        ("paris-agreement", date(2026, 1, 27)),
        # UNESCO Constitution Art. II(6): US notice 22 July 2025 → 31 December 2026.
        ("unesco-constitution", date(2026, 12, 31)),
    ],
)
def test_a_second_withdrawal_after_rejoining_takes_effect(
    seeds: dict[str, tuple[Path, Agreement]], agreement_id: str, expected: date
) -> None:
    deadlines = _deadlines(
        _agreement(seeds, agreement_id),
        as_of=date(2025, 8, 1),
        start=date(2025, 8, 1),
        end=date(2026, 12, 31),
    )
    assert any(
        d.kind == DeadlineKind.WITHDRAWAL_EFFECTIVE and d.party == "US" and d.date == expected
        for d in deadlines
    )
