"""Format 1.1: every termination clause family, on the real treaties that use them.

Each test names the clause and the historical dates; each asserts the exact set of deadlines
(kind, date, party) in its window, the explanation sentence with the arithmetic, and what
explain says about each event.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Action, DeadlineKind, Outcome
from tracker.domain.explain import explain_agreement
from tracker.domain.rules import Evaluation, evaluate

D = date.fromisoformat
K = DeadlineKind


def agreement(
    rules: list[dict[str, Any]],
    *,
    parties: list[str],
    events: list[dict[str, Any]] | None = None,
    in_force: str | None = None,
    **extra: Any,
) -> Agreement:
    doc: dict[str, Any] = {
        "version": 1,
        "id": "x",
        "title": "x",
        "parties": parties,
        "rules": rules,
        "events": events or [],
        **extra,
    }
    if in_force:
        doc["in_force"] = in_force
    return Agreement.model_validate(doc)


def notice(day: str, party: str, **extra: Any) -> dict[str, Any]:
    return {"date": day, "type": "notice_given", "party": party, **extra}


def run(a: Agreement, as_of: str, start: str, end: str) -> Evaluation:
    return evaluate(a, as_of=D(as_of), start=D(start), end=D(end))


def rows(result: Evaluation) -> set[tuple[DeadlineKind, date, str | None]]:
    return {(d.kind, d.date, d.party) for d in result.deadlines}


def text_of(result: Evaluation, kind: DeadlineKind, day: str) -> str:
    (found,) = [d for d in result.deadlines if d.kind is kind and d.date == D(day)]
    return found.explanation


def refusal(doc_rules: list[dict[str, Any]], **extra: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        agreement(doc_rules, parties=["A", "B"], in_force="2000-01-01", **extra)
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in caught.value.errors())


# --- (a) notice_by / effective: MM-DD ------------------------------------------------------

# Denmark–France double taxation convention: notice on or before 30 June of any calendar
# year; it ceases to have effect from 1 January next following. Denmark's notice of
# 2008-06-10 ended it on 2009-01-01 (SPEC 2.6 a). The entry into force is illustrative.
DK_FR = {"kind": "withdrawal", "notice_by": "06-30", "effective": "01-01", "label": "DK-FR"}


@pytest.mark.parametrize(
    ("given", "effect", "counted"),
    [
        ("2008-06-10", "2009-01-01", "2008-06-30"),  # SPEC example
        ("2008-06-30", "2009-01-01", "2008-06-30"),  # on the notice_by day itself: in time
        ("2008-07-01", "2010-01-01", "2009-06-30"),  # one day after: the next year
        ("2008-12-31", "2010-01-01", "2009-06-30"),  # year end
        ("2009-01-01", "2010-01-01", "2009-06-30"),  # the effective day itself
    ],
)
def test_a_tax_convention_notice_counts_toward_30_june_and_takes_effect_on_1_january(
    given: str, effect: str, counted: str
) -> None:
    a = agreement(
        [DK_FR], parties=["DK", "FR"], in_force="1958-01-01", events=[notice(given, "DK")]
    )
    result = run(a, "2011-01-01", effect, effect)
    assert rows(result) == {(K.WITHDRAWAL_EFFECTIVE, D(effect), "DK")}
    assert text_of(result, K.WITHDRAWAL_EFFECTIVE, effect) == (
        f"notice given {given} by DK counts toward {counted}; effect on the next 1 January "
        f"= {effect}"
    )
    assert result.findings == {0: f"withdrawal by DK effective {effect}"}
    assert (result.end, result.end_reason) == (
        D(effect),
        f"withdrawal by DK effective {effect}",
    )


def test_notice_by_yields_a_deadline_each_year_labelled_with_the_date_it_secures() -> None:
    a = agreement([DK_FR], parties=["DK", "FR"], in_force="1958-01-01")
    result = run(a, "2024-01-01", "2024-01-01", "2026-12-31")
    assert rows(result) == {
        (K.NOTICE_DEADLINE, D("2024-06-30"), None),
        (K.NOTICE_DEADLINE, D("2025-06-30"), None),
        (K.NOTICE_DEADLINE, D("2026-06-30"), None),
    }
    first = result.deadlines[0]
    assert (first.label, first.action, first.explanation) == (
        "DK-FR for effect on 2025-01-01",
        Action.ACT_BY,
        "notice_by 06-30: notice on or before 2024-06-30 takes effect on the next 1 January "
        "= 2025-01-01",
    )
    # 30 June 2024 is a Sunday: the note advises the last working day before.
    assert first.weekday_note is not None and first.weekday_note.startswith("Sunday")


def test_the_first_notice_by_deadline_is_on_or_after_in_force_or_earliest_notice() -> None:
    late = agreement([DK_FR], parties=["DK", "FR"], in_force="2008-07-15")
    assert rows(run(late, "2008-01-01", "2008-01-01", "2010-01-01")) == {
        (K.NOTICE_DEADLINE, D("2009-06-30"), None)
    }
    on_the_day = agreement(
        [{**DK_FR, "earliest_notice": "2010-06-30"}], parties=["DK", "FR"], in_force="2008-07-15"
    )
    assert rows(run(on_the_day, "2008-01-01", "2008-01-01", "2011-01-01")) == {
        (K.EARLIEST_NOTICE, D("2010-06-30"), None),
        (K.NOTICE_DEADLINE, D("2010-06-30"), None),
    }


def test_after_a_notice_that_ends_a_bilateral_agreement_no_notice_deadline_follows() -> None:
    a = agreement(
        [DK_FR], parties=["DK", "FR"], in_force="1958-01-01", events=[notice("2008-06-10", "DK")]
    )
    result = run(a, "2008-06-10", "2008-01-01", "2012-12-31")
    assert rows(result) == {
        (K.NOTICE_DEADLINE, D("2008-06-30"), None),
        (K.WITHDRAWAL_EFFECTIVE, D("2009-01-01"), "DK"),
    }


def test_a_multilateral_notice_by_series_goes_on_for_the_parties_still_bound() -> None:
    a = agreement(
        [DK_FR],
        parties=["DK", "FR", "SE"],
        in_force="1958-01-01",
        events=[notice("2008-06-10", "DK")],
    )
    assert rows(run(a, "2008-06-10", "2008-06-01", "2009-12-31")) == {
        (K.NOTICE_DEADLINE, D("2008-06-30"), None),
        (K.WITHDRAWAL_EFFECTIVE, D("2009-01-01"), "DK"),
        (K.NOTICE_DEADLINE, D("2009-06-30"), None),
    }


# International Convention for the Regulation of Whaling (1946), Art. XI: withdrawal "on
# June thirtieth of any year by giving notice on or before January first of the same year".
# Japan gave notice on 2018-12-26 and left on 2019-06-30.
WHALING = {"kind": "withdrawal", "notice_by": "01-01", "effective": "06-30"}


@pytest.mark.parametrize(
    ("given", "effect"),
    [
        ("2018-12-26", "2019-06-30"),
        ("2019-01-01", "2019-06-30"),  # on the day itself
        ("2019-01-02", "2020-06-30"),  # one day after
    ],
)
def test_the_whaling_convention_counts_to_1_january_for_effect_on_30_june(
    given: str, effect: str
) -> None:
    a = agreement(
        [WHALING], parties=["JP", "US", "NO"], in_force="1948-11-10", events=[notice(given, "JP")]
    )
    result = run(a, "2021-01-01", "2018-12-01", "2020-12-31")
    effective = {(k, d, p) for k, d, p in rows(result) if k is K.WITHDRAWAL_EFFECTIVE}
    assert effective == {(K.WITHDRAWAL_EFFECTIVE, D(effect), "JP")}


# Statute of the Council of Europe, Art. 7: withdrawal "at the end of the financial year in
# which it is notified, if the notification is given during the first nine months of that
# financial year. If the notification is given in the last three months of the financial
# year, it shall take effect at the end of the next financial year." Greece notified on
# 1969-12-12; its withdrawal took effect on 1970-12-31.
COE = {"kind": "withdrawal", "notice_by": "09-30", "effective": "12-31"}


def test_the_council_of_europe_statute_counts_greeces_1969_notice_to_the_next_year() -> None:
    a = agreement(
        [COE],
        parties=["GR", "FR", "GB"],
        in_force="1949-08-03",
        events=[notice("1969-12-12", "GR")],
    )
    result = run(a, "1971-01-01", "1969-12-01", "1970-12-31")
    assert rows(result) == {
        (K.NOTICE_DEADLINE, D("1970-09-30"), None),
        (K.WITHDRAWAL_EFFECTIVE, D("1970-12-31"), "GR"),
    }
    assert text_of(result, K.WITHDRAWAL_EFFECTIVE, "1970-12-31") == (
        "notice given 1969-12-12 by GR counts toward 1970-09-30; effect on the next 31 December "
        "= 1970-12-31"
    )


def test_month_days_next_to_29_february_in_leap_and_common_years() -> None:
    rule = {"kind": "withdrawal", "notice_by": "02-28", "effective": "03-01"}
    effects = {}
    for given in ("2024-02-28", "2024-02-29", "2023-02-28", "2023-03-01"):
        a = agreement(
            [rule], parties=["A", "B"], in_force="2000-01-01", events=[notice(given, "A")]
        )
        (found,) = [
            d
            for d in run(a, "2026-01-01", "2020-01-01", "2026-12-31").deadlines
            if d.kind is K.WITHDRAWAL_EFFECTIVE
        ]
        effects[given] = found.date.isoformat()
    assert effects == {
        "2024-02-28": "2024-03-01",  # 29 February lies between, and is not an effective day
        "2024-02-29": "2025-03-01",  # one day late: next year's 28 February
        "2023-02-28": "2023-03-01",
        "2023-03-01": "2024-03-01",
    }


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"notice_by": "02-29", "effective": "03-01"},
            "'02-29' is not allowed: a yearly day must exist every year (write '02-28' or '03-01')",
        ),
        (
            {"notice_by": "06-30", "effective": "02-29"},
            "'02-29' is not allowed: a yearly day must exist every year (write '02-28' or '03-01')",
        ),
        (
            {"notice": "6 months", "effective": "next 02-29"},
            "'02-29' is not allowed: a yearly day must exist every year (write '02-28' or '03-01')",
        ),
        ({"notice_by": "06-31", "effective": "01-01"}, "'06-31' is not a day of the year"),
        (
            {"notice_by": "06-30", "effective": "01-01", "notice": "6 months"},
            "with notice_by, omit notice: a notice counts toward the next notice_by day",
        ),
        (
            {"notice_by": "06-30", "effective": "same_day"},
            "with notice_by, effective must be a day of the year (MM-DD, e.g. '01-01')",
        ),
        (
            {"notice": "6 months", "effective": "01-01"},
            "effective: 01-01 needs notice_by (or write 'next 01-01' with a notice period)",
        ),
        ({"effective": "next 01-01"}, "effective: next 01-01 needs a notice period (notice)"),
        (
            {
                "notice_by": "06-30",
                "effective": "01-01",
                "windows": {"first": "1 year", "every": "1 year", "length": "1 month"},
            },
            "give notice_by or windows, not both",
        ),
        (
            {
                "notice": "1 year",
                "windows": {"first": "1 year", "every": "1 year", "length": "2 years"},
            },
            "windows.length must not be longer than windows.every",
        ),
    ],
)
def test_inconsistent_yearly_clauses_are_refused(rule: dict[str, Any], message: str) -> None:
    assert message in refusal([{"kind": "withdrawal", **rule}])


# --- (b) effective: next MM-DD -------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "effect", "base"),
    [
        ("2022-07-08", "2024-01-01", "2023-01-08"),  # SPEC example
        ("2022-06-15", "2023-01-01", "2022-12-15"),  # SPEC example
        ("2022-07-01", "2024-01-01", "2023-01-01"),  # notice + period is 1 January: strictly after
        ("2023-08-31", "2025-01-01", "2024-02-29"),  # month end clamps to the leap day
    ],
)
def test_next_1_january_after_six_months(given: str, effect: str, base: str) -> None:
    rule = {"kind": "withdrawal", "notice": "6 months", "effective": "next 01-01"}
    a = agreement([rule], parties=["DK", "FR"], in_force="1958-01-01", events=[notice(given, "FR")])
    result = run(a, "2026-01-01", "2020-01-01", "2026-01-01")
    assert rows(result) == {(K.WITHDRAWAL_EFFECTIVE, D(effect), "FR")}
    assert text_of(result, K.WITHDRAWAL_EFFECTIVE, effect) == (
        f"notice given {given} by FR + 6 months = {base}; effect on the next 1 January = {effect}"
    )


# --- (c) denunciation windows --------------------------------------------------------------

# ILO Convention 158 (Termination of Employment), Art. 17: denounce "after the expiration of
# ten years from the date on which the Convention first comes into force" within "the year
# following the expiration of" each period of ten years, taking effect one year after
# registration. In force 1985-11-23; Brazil's denunciation was registered 1996-11-20.
ILO_158 = {
    "kind": "withdrawal",
    "notice": "1 year",
    "windows": {"first": "10 years", "every": "10 years", "length": "1 year"},
}
ILO_PARTIES = ["BR", "FR", "SE", "ES"]


def test_ilo_158_windows_open_every_ten_years_from_entry_into_force() -> None:
    a = agreement([ILO_158], parties=ILO_PARTIES, in_force="1985-11-23")
    result = run(a, "1990-01-01", "1990-01-01", "2016-12-31")
    assert rows(result) == {
        (K.NOTICE_WINDOW_OPENS, D("1995-11-23"), None),
        (K.NOTICE_DEADLINE, D("1996-11-22"), None),
        (K.NOTICE_WINDOW_OPENS, D("2005-11-23"), None),
        (K.NOTICE_DEADLINE, D("2006-11-22"), None),
        (K.NOTICE_WINDOW_OPENS, D("2015-11-23"), None),
        (K.NOTICE_DEADLINE, D("2016-11-22"), None),
    }
    assert [d.explanation for d in result.deadlines[2:4]] == [
        "first window 1995-11-23 + 1 × 10 years = 2005-11-23",
        "window 2005-11-23 + 1 year − 1 day = 2006-11-22",
    ]
    assert result.deadlines[0].explanation == "in force 1985-11-23 + 10 years = 1995-11-23"


@pytest.mark.parametrize(
    ("given", "effect", "finding"),
    [
        (
            "1995-11-22",  # one day before the first window opens
            None,
            "outside every denunciation window: notice 1995-11-22 by BR (the next window "
            "opens on 1995-11-23); no effect",
        ),
        ("1995-11-23", "1996-11-23", "withdrawal by BR effective 1996-11-23"),  # first day
        ("1996-11-20", "1997-11-20", "withdrawal by BR effective 1997-11-20"),  # Brazil
        ("1996-11-22", "1997-11-22", "withdrawal by BR effective 1997-11-22"),  # last day
        (
            "1996-11-23",  # one day after: it does not carry over to the next window
            None,
            "outside every denunciation window: notice 1996-11-23 by BR (the next window "
            "opens on 2005-11-23); no effect",
        ),
    ],
)
def test_a_notice_counts_only_inside_a_window(given: str, effect: str | None, finding: str) -> None:
    a = agreement(
        [ILO_158], parties=ILO_PARTIES, in_force="1985-11-23", events=[notice(given, "BR")]
    )
    result = run(a, "2010-01-01", "1996-11-23", "2010-01-01")
    expected = {
        (K.NOTICE_WINDOW_OPENS, D("2005-11-23"), None),
        (K.NOTICE_DEADLINE, D("2006-11-22"), None),
    }
    if effect is not None:
        expected.add((K.WITHDRAWAL_EFFECTIVE, D(effect), "BR"))
    assert rows(result) == expected
    assert result.findings == {0: finding}
    events = explain_agreement(a, as_of=D("2010-01-01")).events
    assert [e.finding for e in events] == [finding]


def test_windows_from_a_month_end_never_drift() -> None:
    rule = {
        "kind": "withdrawal",
        "notice": "1 month",
        "windows": {"first": "2024-01-31", "every": "1 month", "length": "1 day"},
    }
    a = agreement([rule], parties=["A", "B"], in_force="2020-01-01")
    result = run(a, "2024-01-01", "2024-01-01", "2024-05-31")
    opens = [d.date.isoformat() for d in result.deadlines if d.kind is K.NOTICE_WINDOW_OPENS]
    assert opens == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]
    last_days = [d.date for d in result.deadlines if d.kind is K.NOTICE_DEADLINE]
    assert last_days == [D(day) for day in opens]  # one-day windows: open and close the same day


# --- (d) effective_on: a later date named in the notice --------------------------------------

# Rome Statute Art. 127(1): withdrawal "shall take effect one year after the date of receipt
# of the notification, unless the notification specifies a later date". Burundi's
# notification was received 2016-10-27; the withdrawal took effect 2017-10-27.
ROME = {"kind": "withdrawal", "notice": "1 year"}


@pytest.mark.parametrize(
    ("named", "effect", "finding", "explanation"),
    [
        (
            "2017-06-01",
            "2017-10-27",
            "withdrawal by BI effective 2017-10-27; the date the notice names (2017-06-01) is "
            "earlier than the rule allows (2017-10-27) and is overruled",
            "notice given 2016-10-27 by BI + 1 year = 2017-10-27",
        ),
        (
            "2017-10-27",
            "2017-10-27",
            "withdrawal by BI effective 2017-10-27; as the notice names (2017-10-27)",
            "notice given 2016-10-27 by BI + 1 year = 2017-10-27",
        ),
        (
            "2018-01-01",
            "2018-01-01",
            "withdrawal by BI effective 2018-01-01; the later date the notice names "
            "(2018-01-01) applies",
            "notice given 2016-10-27 by BI + 1 year = 2017-10-27; the notice names 2018-01-01 "
            "= 2018-01-01",
        ),
    ],
)
def test_effective_on_earlier_equal_and_later_than_the_rule(
    named: str, effect: str, finding: str, explanation: str
) -> None:
    a = agreement(
        [ROME],
        parties=["BI", "NL", "ZA"],
        in_force="2002-07-01",
        events=[notice("2016-10-27", "BI", effective_on=named)],
    )
    result = run(a, "2019-01-01", "2016-01-01", "2019-01-01")
    assert rows(result) == {(K.WITHDRAWAL_EFFECTIVE, D(effect), "BI")}
    assert result.findings == {0: finding}
    assert text_of(result, K.WITHDRAWAL_EFFECTIVE, effect) == explanation


def test_effective_on_belongs_only_to_notices() -> None:
    message = refusal(
        [ROME],
        events=[{"date": "2016-10-27", "type": "terminated", "effective_on": "2017-01-01"}],
    )
    assert message == "`effective_on` belongs only to `notice_given` events"


# --- (e) not_before ----------------------------------------------------------------------------

# Columbia River Treaty (Canada–United States) Art. XIX(2): either party may terminate "on
# any date at least sixty years after the date of its entry into force" with "at least ten
# years written notice". In force 1964-09-16.
COLUMBIA = {"kind": "withdrawal", "notice": "10 years", "not_before": "60 years"}


@pytest.mark.parametrize(
    ("given", "named", "effect", "explanation"),
    [
        (
            "2012-01-01",
            None,
            "2024-09-16",
            "notice given 2012-01-01 by CA + 10 years = 2022-01-01; not before 2024-09-16 = "
            "2024-09-16",
        ),
        (
            "2012-01-01",
            "2023-01-01",  # an earlier named date: not_before wins too
            "2024-09-16",
            "notice given 2012-01-01 by CA + 10 years = 2022-01-01; not before 2024-09-16 = "
            "2024-09-16",
        ),
        ("2014-09-16", None, "2024-09-16", "notice given 2014-09-16 by CA + 10 years = 2024-09-16"),
        ("2020-03-01", None, "2030-03-01", "notice given 2020-03-01 by CA + 10 years = 2030-03-01"),
    ],
)
def test_columbia_river_treaty_ends_no_earlier_than_sixty_years_after_entry_into_force(
    given: str, named: str | None, effect: str, explanation: str
) -> None:
    extra = {"effective_on": named} if named else {}
    a = agreement(
        [COLUMBIA],
        parties=["CA", "US"],
        in_force="1964-09-16",
        events=[notice(given, "CA", **extra)],
    )
    result = run(a, "2031-01-01", "2021-01-01", "2031-01-01")
    assert rows(result) == {(K.WITHDRAWAL_EFFECTIVE, D(effect), "CA")}
    assert text_of(result, K.WITHDRAWAL_EFFECTIVE, effect) == explanation
    assert result.end == D(effect)  # bilateral: the treaty ends with it


def test_not_before_as_a_date() -> None:
    rule = {"kind": "withdrawal", "notice": "90 days", "not_before": "2030-12-31"}
    a = agreement(
        [rule], parties=["A", "B", "C"], in_force="2020-01-01", events=[notice("2025-01-01", "A")]
    )
    result = run(a, "2026-01-01", "2025-01-01", "2031-12-31")
    assert rows(result) == {(K.WITHDRAWAL_EFFECTIVE, D("2030-12-31"), "A")}


# --- (f) in_force_for: entry into force per party ---------------------------------------------

# Paris Agreement Art. 28(1): notice "at any time after three years from the date on which
# this Agreement has entered into force for a Party"; Art. 28(2): effect one year after
# receipt. In force 2016-11-04 (and for the United States). IQ below stands for a late joiner
# with an illustrative date of its own, 2021-12-30.
PARIS = {"kind": "withdrawal", "notice": "1 year", "earliest_notice": "3 years"}


def test_earliest_notice_counts_from_each_partys_own_entry_into_force() -> None:
    a = agreement(
        [PARIS],
        parties=["US", "FR", "IQ"],
        in_force="2016-11-04",
        in_force_for={"IQ": "2021-12-30"},
    )
    result = run(a, "2016-11-04", "2016-11-04", "2025-12-31")
    assert rows(result) == {
        (K.EARLIEST_NOTICE, D("2019-11-04"), None),
        (K.EARLIEST_NOTICE, D("2024-12-30"), "IQ"),
    }
    assert text_of(result, K.EARLIEST_NOTICE, "2024-12-30") == (
        "in force for IQ 2021-12-30 + 3 years = 2024-12-30"
    )


def test_a_late_joiners_notice_is_premature_by_its_own_date_not_the_agreements() -> None:
    a = agreement(
        [PARIS],
        parties=["US", "FR", "IQ"],
        in_force="2016-11-04",
        in_force_for={"IQ": "2021-12-30"},
        events=[notice("2023-01-10", "IQ"), notice("2023-01-10", "FR")],
    )
    result = run(a, "2023-02-01", "2023-01-01", "2024-12-31")
    assert result.findings == {
        0: "premature: notice 2023-01-10 by IQ came before the earliest notice date "
        "2024-12-30; no effect",
        1: "withdrawal by FR effective 2024-01-10",
    }


def test_every_party_with_its_own_date_leaves_no_row_for_the_others() -> None:
    a = agreement(
        [PARIS],
        parties=["US", "IQ"],
        in_force="2016-11-04",
        in_force_for={"US": "2016-11-04", "IQ": "2021-12-30"},
    )
    assert rows(run(a, "2016-11-04", "2016-11-04", "2025-12-31")) == {
        (K.EARLIEST_NOTICE, D("2019-11-04"), "US"),
        (K.EARLIEST_NOTICE, D("2024-12-30"), "IQ"),
    }


@pytest.mark.parametrize(
    ("in_force_for", "message"),
    [
        ({"XX": "2020-01-01"}, "in_force_for: 'XX' is not one of the parties"),
        (
            {"A": "1999-12-31"},
            "in_force_for: A 1999-12-31 is before in_force 2000-01-01: a party's own entry "
            "into force is on or after the agreement's",
        ),
    ],
)
def test_in_force_for_must_name_a_party_no_earlier_than_the_agreement(
    in_force_for: dict[str, str], message: str
) -> None:
    assert refusal([ROME], in_force_for=in_force_for) == message


# --- (g) rejoined ----------------------------------------------------------------------------

US_PARIS_EVENTS = [
    notice("2019-11-04", "US"),
    {"date": "2021-02-19", "type": "rejoined", "party": "US"},
    notice("2025-01-27", "US"),
]


def test_the_united_states_leaves_rejoins_and_gives_a_second_notice() -> None:
    a = agreement(
        [PARIS], parties=["US", "FR", "CN"], in_force="2016-11-04", events=US_PARIS_EVENTS
    )
    result = run(a, "2025-06-01", "2016-11-04", "2026-12-31")
    assert rows(result) == {
        (K.EARLIEST_NOTICE, D("2019-11-04"), None),
        (K.WITHDRAWAL_EFFECTIVE, D("2020-11-04"), "US"),
        (K.EARLIEST_NOTICE, D("2024-02-19"), "US"),
        (K.WITHDRAWAL_EFFECTIVE, D("2026-01-27"), "US"),
    }
    assert result.findings == {
        0: "withdrawal by US effective 2020-11-04",
        1: "US is bound again from 2021-02-19 (it had left on 2020-11-04)",
        2: "withdrawal by US effective 2026-01-27",
    }
    assert text_of(result, K.EARLIEST_NOTICE, "2024-02-19") == (
        "rejoined by US 2021-02-19 + 3 years = 2024-02-19"
    )
    statuses = [
        explain_agreement(a, as_of=D(day)).status
        for day in ("2020-06-01", "2020-11-04", "2021-06-01", "2026-01-27")
    ]
    assert statuses == [
        "in force",
        "in force; withdrawn: US (2020-11-04)",
        "in force",
        "in force; withdrawn: US (2026-01-27)",
    ]


def test_after_rejoining_earliest_notice_counts_again_from_the_rejoining() -> None:
    events = [*US_PARIS_EVENTS[:2], notice("2023-01-01", "US")]
    a = agreement([PARIS], parties=["US", "FR", "CN"], in_force="2016-11-04", events=events)
    result = run(a, "2024-01-01", "2023-01-01", "2024-12-31")
    assert result.findings[2] == (
        "premature: notice 2023-01-01 by US came before the earliest notice date 2024-02-19; "
        "no effect"
    )
    assert rows(result) == {(K.EARLIEST_NOTICE, D("2024-02-19"), "US")}


def test_rejoining_without_having_left_has_no_effect() -> None:
    events = [{"date": "2018-01-01", "type": "rejoined", "party": "US"}]
    a = agreement([PARIS], parties=["US", "FR"], in_force="2016-11-04", events=events)
    assert run(a, "2019-01-01", "2017-01-01", "2020-12-31").findings == {
        0: "US had not left the agreement by 2018-01-01; no effect"
    }


@pytest.mark.parametrize("kind", ["rejoined", "ceased"])
def test_rejoined_and_ceased_need_a_party(kind: str) -> None:
    assert refusal([ROME], events=[{"date": "2020-01-01", "type": kind}]) == (
        f"a `{kind}` event needs `party` (who it concerns)"
    )


# --- (h) suspended, suspension_lifted, ceased -------------------------------------------------

# New START (United States–Russia), in force 2011-02-05, extended to 2026-02-05; Russia
# announced it was suspending its participation on 2023-02-21. No date moves.
NEW_START = {"kind": "fixed_term", "expires": "2026-02-05"}


def test_a_suspension_moves_no_date_and_shows_in_the_status() -> None:
    events = [{"date": "2023-02-21", "type": "suspended", "party": "RU"}]
    suspended = agreement([NEW_START], parties=["US", "RU"], in_force="2011-02-05", events=events)
    plain = agreement([NEW_START], parties=["US", "RU"], in_force="2011-02-05")
    assert rows(run(suspended, "2024-01-01", "2024-01-01", "2026-12-31")) == rows(
        run(plain, "2024-01-01", "2024-01-01", "2026-12-31")
    )
    explained = explain_agreement(suspended, as_of=D("2024-01-01"))
    assert explained.status == (
        "in force until 2026-02-05 (expires 2026-02-05); suspended by RU since 2023-02-21"
    )
    assert [e.finding for e in explained.events] == [
        "obligations suspended by RU from 2023-02-21; no date moves"
    ]
    before = explain_agreement(suspended, as_of=D("2023-02-20")).status
    assert before == "in force until 2026-02-05 (expires 2026-02-05)"


def test_lifting_a_suspension_ends_it_in_the_status() -> None:
    events = [
        {"date": "2023-02-21", "type": "suspended"},
        {"date": "2024-05-01", "type": "suspension_lifted"},
        {"date": "2024-06-01", "type": "suspension_lifted", "party": "US"},
    ]
    a = agreement([NEW_START], parties=["US", "RU"], in_force="2011-02-05", events=events)
    explained = explain_agreement(a, as_of=D("2024-07-01"))
    assert explained.status == "in force until 2026-02-05 (expires 2026-02-05)"
    assert [e.finding for e in explained.events] == [
        "obligations suspended from 2023-02-21; no date moves",
        "suspension since 2023-02-21 lifted on 2024-05-01",
        "no suspension by US in place to lift; no effect",
    ]
    assert explain_agreement(a, as_of=D("2024-01-01")).status.endswith(
        "; suspended since 2023-02-21"
    )


def test_ceased_in_a_bilateral_agreement_ends_it_with_a_termination() -> None:
    renewal = {
        "kind": "auto_renewal",
        "first_expiry": "2020-01-01",
        "renewal_term": "1 year",
        "notice": "90 days",
    }
    survival = {"kind": "survival", "period": "1 year"}
    events = [{"date": "2021-05-05", "type": "ceased", "party": "FR"}]
    a = agreement([renewal, survival], parties=["DE", "FR"], in_force="2019-01-01", events=events)
    result = run(a, "2022-01-01", "2020-06-01", "2023-12-31")
    assert rows(result) == {
        (K.NOTICE_DEADLINE, D("2020-10-03"), None),
        (K.EXPIRY, D("2021-01-01"), None),
        (K.MEMBERSHIP_ENDED, D("2021-05-05"), "FR"),
        (K.TERMINATION, D("2021-05-05"), None),
        (K.SURVIVAL_ENDS, D("2022-05-05"), "FR"),
    }
    (expiry,) = [d for d in result.deadlines if d.kind is K.EXPIRY]
    assert expiry.outcome is Outcome.RENEWS
    assert (result.end, result.end_reason) == (
        D("2021-05-05"),
        "membership of FR ended on 2021-05-05",
    )
    assert text_of(result, K.TERMINATION, "2021-05-05") == (
        "membership of FR ended on 2021-05-05; fewer than two parties remain"
    )
    ended = [d for d in result.deadlines if d.kind is K.MEMBERSHIP_ENDED]
    assert [(d.action, d.explanation) for d in ended] == [
        (Action.INFO, "FR ceased to be a party on 2021-05-05")
    ]


# Statute of the Council of Europe: Russia notified its withdrawal on 2022-03-15 and was
# expelled on 2022-03-16 (Committee of Ministers Resolution CM/Res(2022)2). Its notice, which
# would have taken effect at the end of the financial year, lapsed.
def test_ceased_in_a_multilateral_agreement_lapses_the_partys_pending_notice() -> None:
    events = [notice("2022-03-15", "RU"), {"date": "2022-03-16", "type": "ceased", "party": "RU"}]
    a = agreement([COE], parties=["RU", "FR", "GB", "DE"], in_force="1949-08-03", events=events)
    result = run(a, "2023-01-01", "2022-01-01", "2023-12-31")
    assert rows(result) == {
        (K.MEMBERSHIP_ENDED, D("2022-03-16"), "RU"),
        (K.NOTICE_DEADLINE, D("2022-09-30"), None),
        (K.NOTICE_DEADLINE, D("2023-09-30"), None),
    }
    assert result.findings == {
        0: "lapsed: RU ceased to be a party on 2022-03-16 before its withdrawal took effect "
        "(2022-12-31); no effect",
        1: "membership of RU ended on 2022-03-16 (without notice)",
    }
    assert result.end is None
    assert explain_agreement(a, as_of=D("2023-01-01")).status == (
        "in force; ceased: RU (2022-03-16)"
    )


def test_a_notice_by_a_party_that_ceased_has_no_effect_until_it_rejoins() -> None:
    events = [
        {"date": "2022-03-16", "type": "ceased", "party": "RU"},
        notice("2022-05-01", "RU"),
        {"date": "2030-01-01", "type": "rejoined", "party": "RU"},
        notice("2030-05-01", "RU"),
    ]
    a = agreement([COE], parties=["RU", "FR", "GB"], in_force="1949-08-03", events=events)
    result = run(a, "2031-06-01", "2030-01-01", "2030-12-31")
    assert result.findings == {
        0: "membership of RU ended on 2022-03-16 (without notice)",
        1: "RU was no longer a party (membership ended 2022-03-16); no effect",
        2: "RU is bound again from 2030-01-01 (it had left on 2022-03-16)",
        3: "withdrawal by RU effective 2030-12-31",
    }


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (
            DK_FR,
            "A party may withdraw by written notice; a notice counts toward the next 30 June (on "
            "or after the day it is given) and the withdrawal takes effect on the 1 January "
            "after that.",
        ),
        (
            {"kind": "withdrawal", "notice": "6 months", "effective": "next 01-01"},
            "A party may withdraw by written notice; withdrawal takes effect on the first "
            "1 January after 6 months from the notice.",
        ),
        (
            ILO_158,
            "A party may withdraw by written notice; withdrawal takes effect 1 year after the "
            "notice; only within windows of 1 year opening every 10 years from 10 years after "
            "entry into force.",
        ),
        (
            COLUMBIA,
            "A party may withdraw by written notice; withdrawal takes effect 10 years after the "
            "notice; never before 60 years after entry into force.",
        ),
    ],
)
def test_explain_describes_each_clause_in_words(rule: dict[str, Any], text: str) -> None:
    a = agreement([rule], parties=["A", "B"], in_force="1985-11-23")
    assert [r.text for r in explain_agreement(a, as_of=D("2000-01-01")).rules] == [text]


def test_an_expiry_on_the_day_a_party_ceases_ends_the_agreement_rather_than_renewing_it() -> None:
    renewal = {
        "kind": "auto_renewal",
        "first_expiry": "2020-01-01",
        "renewal_term": "1 year",
        "notice": "90 days",
    }
    events = [{"date": "2022-01-01", "type": "ceased", "party": "FR"}]
    a = agreement([renewal], parties=["DE", "FR"], in_force="2019-01-01", events=events)
    result = run(a, "2022-06-01", "2021-01-01", "2023-12-31")
    assert [(d.kind, d.date, d.outcome) for d in result.deadlines] == [
        (K.EXPIRY, D("2021-01-01"), Outcome.RENEWS),
        (K.NOTICE_DEADLINE, D("2021-10-03"), None),
        (K.EXPIRY, D("2022-01-01"), Outcome.ENDS),
        (K.MEMBERSHIP_ENDED, D("2022-01-01"), None),
        (K.TERMINATION, D("2022-01-01"), None),
    ]
