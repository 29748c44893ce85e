"""The rule engine against real agreements and the calendar's edge cases.

One row per real agreement (or edge case), each citing the clause and the historical dates.
A row lists every deadline (kind, date, party) the engine must compute in the row's window
(``start``, default ``as_of``, to ``end``, default 1 January two years after the start): no
more, no fewer. Where a plausible mistake would add a deadline, ``absent`` names it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import DeadlineKind
from tracker.domain.explain import explain_agreement
from tracker.domain.rules import compute_all, compute_deadlines, evaluate

D = date.fromisoformat


def agreement(
    rules: list[dict[str, Any]],
    *,
    parties: list[str] | None = None,
    events: list[dict[str, Any]] | None = None,
    in_force: str | None = None,
    ident: str = "x",
    cite: str | None = None,
) -> Agreement:
    doc: dict[str, Any] = {
        "version": 1,
        "id": ident,
        "title": ident,
        "parties": parties or ["KR", "JP"],
        "rules": rules,
        "events": events or [],
    }
    if in_force:
        doc["in_force"] = in_force
    if cite:
        doc["sources"] = [{"cite": cite}]
        for rule in rules:
            rule.setdefault("source", 0)
    return Agreement.model_validate(doc)


def notice(day: str, party: str | None, kind: str = "notice_given") -> dict[str, Any]:
    event: dict[str, Any] = {"date": day, "type": kind}
    if party:
        event["party"] = party
    return event


GSOMIA_RULE = {
    "kind": "auto_renewal",
    "first_expiry": "2017-11-22",
    "renewal_term": "1 year",
    "notice": "90 days",
}
# KR's notice 2019-08-23, suspended 2019-11-22, withdrawn 2023-03-21.
GSOMIA_EVENTS = [
    notice("2019-08-23", "KR"),
    notice("2019-11-22", "KR", "notice_suspended"),
    notice("2023-03-21", "KR", "notice_withdrawn"),
]


def gsomia() -> Agreement:
    return agreement(
        [dict(GSOMIA_RULE)],
        events=[dict(e) for e in GSOMIA_EVENTS],
        ident="kr-jp-gsomia",
        cite="Art. 21(3)",
    )


RU_UA_RULE = {
    "kind": "auto_renewal",
    "first_expiry": "2009-04-01",
    "renewal_term": "10 years",
    "notice": "6 months",
}
OPEN_SKIES_PARTIES = ["US", "RU", "DE", "FR", "CA", "GB", "UA", "TR"]


@dataclass
class Case:
    name: str
    agreement: Agreement
    as_of: date
    expect: list[tuple[str, str, str | None]]
    absent: list[tuple[str, str, str | None]] = field(default_factory=list)
    start: date | None = None
    end: date | None = None


CASES = [
    # GSOMIA Art. 21(3): one-year terms to 22 November, 90 days' notice. As of 2020-08-07 the
    # next deadline was 2020-08-24 (KR's 2019 notice suspended on 2019-11-22).
    Case(
        "gsomia-2020",
        gsomia(),
        D("2020-08-07"),
        [
            ("notice_deadline", "2020-08-24", None),
            ("expiry", "2020-11-22", None),
            ("notice_deadline", "2021-08-24", None),
            ("expiry", "2021-11-22", None),
        ],
        [("termination", "2020-11-22", None)],
    ),
    # GSOMIA Art. 21(3): the 2019 deadline, 24 August 2019, a Saturday (before KR's notice).
    Case(
        "gsomia-2019-before-notice",
        gsomia(),
        D("2019-08-01"),
        [
            ("notice_deadline", "2019-08-24", None),
            ("expiry", "2019-11-22", None),
            ("notice_deadline", "2020-08-24", None),
            ("expiry", "2020-11-22", None),
        ],
    ),
    # GSOMIA: as of 2019-09-01 KR's notice of 2019-08-23 was pending; the agreement was to end
    # on 2019-11-22 and nothing was due after it.
    Case(
        "gsomia-notice-pending",
        gsomia(),
        D("2019-09-01"),
        [("termination", "2019-11-22", None)],
        [
            ("expiry", "2019-11-22", None),
            ("notice_deadline", "2020-08-24", None),
            ("expiry", "2020-11-22", None),
        ],
    ),
    # GSOMIA: the suspension on the expiry day itself (2019-11-22) stopped the termination.
    Case(
        "gsomia-suspended-on-expiry-day",
        gsomia(),
        D("2019-11-22"),
        [
            ("expiry", "2019-11-22", None),
            ("notice_deadline", "2020-08-24", None),
            ("expiry", "2020-11-22", None),
        ],
        [("termination", "2019-11-22", None)],
    ),
    # GSOMIA: KR withdrew its notice 2023-03-21; annual renewal continues (2024 deadline).
    Case(
        "gsomia-after-withdrawal",
        gsomia(),
        D("2024-01-01"),
        [
            ("notice_deadline", "2024-08-24", None),
            ("expiry", "2024-11-22", None),
            ("notice_deadline", "2025-08-24", None),
            ("expiry", "2025-11-22", None),
        ],
    ),
    # Russia–Ukraine Treaty of Friendship 1997, Art. 40: expiry 2009-04-01, ten-year renewals,
    # six months' notice: the deadline for the 2019 renewal was 2018-10-01.
    Case(
        "ru-ua-1997-deadline",
        agreement([dict(RU_UA_RULE)], parties=["RU", "UA"]),
        D("2018-01-01"),
        [("notice_deadline", "2018-10-01", None), ("expiry", "2019-04-01", None)],
    ),
    # Art. 40: Ukraine's notice of 2018-09-24 was timely: the treaty ended 2019-04-01. The
    # deadline it met (2018-10-01) is still listed; nothing after the end is.
    Case(
        "ru-ua-1997-terminated",
        agreement([dict(RU_UA_RULE)], parties=["RU", "UA"], events=[notice("2018-09-24", "UA")]),
        D("2018-10-01"),
        [("notice_deadline", "2018-10-01", None), ("termination", "2019-04-01", None)],
        [("expiry", "2019-04-01", None), ("expiry", "2029-04-01", None)],
        end=D("2030-01-01"),
    ),
    # Art. 40 time travel: as of 2018-09-23 Ukraine's notice had not been given yet.
    Case(
        "ru-ua-1997-time-travel",
        agreement([dict(RU_UA_RULE)], parties=["RU", "UA"], events=[notice("2018-09-24", "UA")]),
        D("2018-09-23"),
        [("notice_deadline", "2018-10-01", None), ("expiry", "2019-04-01", None)],
        [("termination", "2019-04-01", None)],
    ),
    # New START Art. XIV(1): ten years from entry into force 2011-02-05 → 2021-02-05.
    Case(
        "new-start-original",
        agreement(
            [{"kind": "fixed_term", "start": "2011-02-05", "term": "10 years"}],
            parties=["US", "RU"],
            events=[{"date": "2021-02-03", "type": "extended", "until": "2026-02-05"}],
        ),
        D("2020-06-01"),
        [("expiry", "2021-02-05", None)],
        [("expiry", "2026-02-05", None)],
        end=D("2027-01-01"),
    ),
    # New START Art. XIV(2): extended by exchange of notes 2021-02-03 until 2026-02-05.
    Case(
        "new-start-extended",
        agreement(
            [{"kind": "fixed_term", "start": "2011-02-05", "term": "10 years"}],
            parties=["US", "RU"],
            events=[{"date": "2021-02-03", "type": "extended", "until": "2026-02-05"}],
        ),
        D("2021-03-01"),
        [("expiry", "2026-02-05", None)],
        start=D("2021-01-01"),
        end=D("2027-01-01"),
        absent=[("expiry", "2021-02-05", None)],
    ),
    # INF Treaty Art. XV(2): six months from notice; US notice 2019-02-02 → 2019-08-02.
    Case(
        "inf-us-withdrawal",
        agreement(
            [{"kind": "withdrawal", "notice": "6 months"}],
            parties=["US", "RU"],
            events=[notice("2019-02-02", "US")],
        ),
        D("2019-03-01"),
        [("withdrawal_effective", "2019-08-02", "US")],
    ),
    # Open Skies Art. XV(2): six months; US notice 2020-05-22 → 2020-11-22.
    Case(
        "open-skies-us",
        agreement(
            [{"kind": "withdrawal", "notice": "6 months"}],
            parties=OPEN_SKIES_PARTIES,
            events=[notice("2020-05-22", "US"), notice("2021-06-18", "RU")],
        ),
        D("2020-06-01"),
        [("withdrawal_effective", "2020-11-22", "US")],
        [("withdrawal_effective", "2021-12-18", "RU")],
    ),
    # Open Skies Art. XV(2): Russia's notice 2021-06-18 → 2021-12-18; the others stay bound.
    Case(
        "open-skies-russia",
        agreement(
            [{"kind": "withdrawal", "notice": "6 months"}],
            parties=OPEN_SKIES_PARTIES,
            events=[notice("2020-05-22", "US"), notice("2021-06-18", "RU")],
        ),
        D("2021-07-01"),
        [("withdrawal_effective", "2021-12-18", "RU")],
    ),
    # Paris Agreement Art. 28(1): notice at any time after three years from entry into force
    # (2016-11-04) → 2019-11-04; Art. 28(2): effective one year later. US: 2019-11-04 → 2020-11-04.
    Case(
        "paris-us",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "3 years"}],
            parties=["US", "FR", "CN", "IN"],
            in_force="2016-11-04",
            events=[notice("2019-11-04", "US")],
        ),
        D("2019-01-01"),
        [("earliest_notice", "2019-11-04", None)],
        [("withdrawal_effective", "2020-11-04", "US")],
    ),
    Case(
        "paris-us-effective",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "3 years"}],
            parties=["US", "FR", "CN", "IN"],
            in_force="2016-11-04",
            events=[notice("2019-11-04", "US")],
        ),
        D("2019-11-05"),
        [("withdrawal_effective", "2020-11-04", "US")],
    ),
    # Paris Art. 28(1) edge: a notice one day before the earliest date has no effect.
    Case(
        "paris-premature-notice",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "3 years"}],
            parties=["US", "FR", "CN", "IN"],
            in_force="2016-11-04",
            events=[notice("2019-11-03", "US")],
        ),
        D("2019-11-05"),
        [],
        [("withdrawal_effective", "2020-11-03", "US")],
    ),
    # Paris Art. 28(2): after rejoining (2021-02-19) the US gave notice again on 2025-01-27,
    # effective 2026-01-27; the first withdrawal had taken effect, so this one is new.
    Case(
        "paris-us-second-withdrawal",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "3 years"}],
            parties=["US", "FR", "CN", "IN"],
            in_force="2016-11-04",
            events=[notice("2019-11-04", "US"), notice("2025-01-27", "US")],
        ),
        D("2025-02-01"),
        [
            ("earliest_notice", "2019-11-04", None),
            ("withdrawal_effective", "2020-11-04", "US"),
            ("withdrawal_effective", "2026-01-27", "US"),
        ],
        start=D("2019-01-01"),
        end=D("2027-01-01"),
    ),
    # UNESCO Art. II(6): US notice 2025-07-22 (after rejoining in 2023) → 2026-12-31.
    Case(
        "unesco-us-2025",
        agreement(
            [{"kind": "withdrawal", "effective": "end_of_following_year"}],
            parties=["UNESCO", "US", "FR"],
            events=[notice("2017-10-12", "US"), notice("2025-07-22", "US")],
        ),
        D("2025-08-01"),
        [("withdrawal_effective", "2026-12-31", "US")],
    ),
    # A second notice while the first is still pending changes nothing.
    Case(
        "redundant-withdrawal-notice",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year"}],
            parties=["US", "FR", "DE"],
            events=[notice("2020-01-10", "US"), notice("2020-06-01", "US")],
        ),
        D("2020-07-01"),
        [("withdrawal_effective", "2021-01-10", "US")],
        [("withdrawal_effective", "2021-06-01", "US")],
    ),
    # Kyoto Protocol Art. 27: after three years from entry into force (2005-02-16), effective
    # one year after notice. Canada: 2011-12-15 → 2012-12-15.
    Case(
        "kyoto-canada",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "3 years"}],
            parties=["CA", "JP", "DE"],
            in_force="2005-02-16",
            events=[notice("2011-12-15", "CA")],
        ),
        D("2012-01-01"),
        [("earliest_notice", "2008-02-16", None), ("withdrawal_effective", "2012-12-15", "CA")],
        start=D("2008-01-01"),
        end=D("2013-01-01"),
    ),
    Case(
        "kyoto-earliest-notice",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "3 years"}],
            parties=["CA", "JP", "DE"],
            in_force="2005-02-16",
        ),
        D("2007-01-01"),
        [("earliest_notice", "2008-02-16", None)],
    ),
    # Rome Statute Art. 127(1): one year after receipt. Burundi 2016-10-27 → 2017-10-27.
    Case(
        "rome-burundi",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year"}],
            parties=["BI", "PH", "DE", "FR"],
            events=[notice("2016-10-27", "BI"), notice("2018-03-17", "PH")],
        ),
        D("2016-11-01"),
        [("withdrawal_effective", "2017-10-27", "BI")],
    ),
    # Rome Statute Art. 127(1): the Philippines 2018-03-17 → 2019-03-17.
    Case(
        "rome-philippines",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year"}],
            parties=["BI", "PH", "DE", "FR"],
            events=[notice("2016-10-27", "BI"), notice("2018-03-17", "PH")],
        ),
        D("2018-04-01"),
        [("withdrawal_effective", "2019-03-17", "PH")],
    ),
    # UNESCO Constitution Art. II(6): effective 31 December of the year after the notice.
    # US notice 2017-10-12 → 2018-12-31; Israel notice 2017-12-29 → 2018-12-31.
    Case(
        "unesco-us-israel",
        agreement(
            [{"kind": "withdrawal", "effective": "end_of_following_year"}],
            parties=["UNESCO", "US", "IL", "FR"],
            events=[notice("2017-10-12", "US"), notice("2017-12-29", "IL")],
        ),
        D("2018-01-01"),
        [
            ("withdrawal_effective", "2018-12-31", "US"),
            ("withdrawal_effective", "2018-12-31", "IL"),
        ],
    ),
    # UNESCO Art. II(6): the first US withdrawal, notice 1983-12-28 → 1984-12-31.
    Case(
        "unesco-us-1984",
        agreement(
            [{"kind": "withdrawal", "effective": "end_of_following_year"}],
            parties=["UNESCO", "US", "FR"],
            events=[notice("1983-12-28", "US")],
        ),
        D("1984-01-01"),
        [("withdrawal_effective", "1984-12-31", "US")],
    ),
    # Istanbul Convention Art. 80(2): first day of the month following three months after
    # notification. Türkiye 2021-03-22 (+ 3 months = 2021-06-22) → 2021-07-01.
    Case(
        "istanbul-turkey",
        agreement(
            [{"kind": "withdrawal", "notice": "3 months", "effective": "first_of_next_month"}],
            parties=["TR", "FR", "DE", "PL"],
            events=[notice("2021-03-22", "TR")],
        ),
        D("2021-04-01"),
        [("withdrawal_effective", "2021-07-01", "TR")],
    ),
    # Energy Charter Treaty Art. 47(2): effective one year after receipt, counted as the day
    # after; Italy 2014-12-31 → 2016-01-01. Art. 47(3): protections survive 20 years → 2036-01-01.
    Case(
        "ect-italy",
        agreement(
            [
                {"kind": "withdrawal", "notice": "1 year", "effective": "day_after"},
                {"kind": "survival", "period": "20 years"},
            ],
            parties=["IT", "FR", "DE", "ES", "EU"],
            events=[notice("2014-12-31", "IT")],
        ),
        D("2015-01-01"),
        [("withdrawal_effective", "2016-01-01", "IT"), ("survival_ends", "2036-01-01", "IT")],
        end=D("2040-01-01"),
    ),
    # Energy Charter Treaty Art. 47: France notified 2022-12-07 → effective 2023-12-08,
    # protections until 2043-12-08.
    Case(
        "ect-france",
        agreement(
            [
                {"kind": "withdrawal", "notice": "1 year", "effective": "day_after"},
                {"kind": "survival", "period": "20 years"},
            ],
            parties=["IT", "FR", "DE", "ES", "EU"],
            events=[notice("2022-12-07", "FR")],
        ),
        D("2023-01-01"),
        [("withdrawal_effective", "2023-12-08", "FR"), ("survival_ends", "2043-12-08", "FR")],
        end=D("2044-01-01"),
    ),
    # NPT Art. X(1): three months' notice. DPRK notice 1993-03-12 would take effect 1993-06-12.
    Case(
        "npt-dprk-pending",
        agreement(
            [{"kind": "withdrawal", "notice": "3 months"}],
            parties=["KP", "US", "RU"],
            events=[notice("1993-03-12", "KP"), notice("1993-06-11", "KP", "notice_suspended")],
        ),
        D("1993-04-01"),
        [("withdrawal_effective", "1993-06-12", "KP")],
    ),
    # NPT Art. X(1): the DPRK suspended its notice 1993-06-11, one day before it took effect.
    Case(
        "npt-dprk-suspended",
        agreement(
            [{"kind": "withdrawal", "notice": "3 months"}],
            parties=["KP", "US", "RU"],
            events=[notice("1993-03-12", "KP"), notice("1993-06-11", "KP", "notice_suspended")],
        ),
        D("1993-06-11"),
        [],
        [("withdrawal_effective", "1993-06-12", "KP")],
        start=D("1993-01-01"),
    ),
    # US–Japan Security Treaty 1960 Art. X: in force 1960-06-23; after ten years either party
    # may give notice, and the treaty terminates one year after it.
    Case(
        "us-japan-security",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year", "earliest_notice": "10 years"}],
            parties=["US", "JP"],
            in_force="1960-06-23",
        ),
        D("1970-01-01"),
        [("earliest_notice", "1970-06-23", None)],
    ),
    # Bolivia–US BIT 1998 Art. XVII(3): notice possible from one year before the end of the
    # initial ten years (2010-06-06), effective one year after it; Bolivia 2011-06-10 →
    # 2012-06-10, which ends the bilateral treaty. Art. XVII(4): investments stay protected ten
    # more years, to 2022-06-10 (seeds/bo-us-bit.yaml).
    Case(
        "bo-us-bit",
        agreement(
            [
                {"kind": "withdrawal", "notice": "1 year", "earliest_notice": "2010-06-06"},
                {"kind": "survival", "period": "10 years"},
            ],
            parties=["BO", "US"],
            in_force="2001-06-06",
            events=[notice("2011-06-10", "BO")],
        ),
        D("2011-07-01"),
        [
            ("earliest_notice", "2010-06-06", None),
            ("withdrawal_effective", "2012-06-10", "BO"),
            ("survival_ends", "2022-06-10", "BO"),
        ],
        [("survival_ends", "2022-06-10", None)],
        start=D("2010-01-01"),
        end=D("2023-01-01"),
    ),
    # ABM Treaty Art. XV(2): six months; US notice 2001-12-13 → 2002-06-13.
    Case(
        "abm-us",
        agreement(
            [{"kind": "withdrawal", "notice": "6 months"}],
            parties=["US", "RU"],
            events=[notice("2001-12-13", "US")],
        ),
        D("2002-01-01"),
        [("withdrawal_effective", "2002-06-13", "US")],
    ),
    # Iran–US Treaty of Amity 1955 Art. XXIII(3): one year's notice; US 2018-10-03 → 2019-10-03.
    Case(
        "iran-us-amity",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year"}],
            parties=["US", "IR"],
            events=[notice("2018-10-03", "US")],
        ),
        D("2018-10-04"),
        [("withdrawal_effective", "2019-10-03", "US")],
    ),
    # WHO: US notice 2020-07-06 (one year), retracted 2021-01-20 before it took effect.
    Case(
        "who-us-retracted",
        agreement(
            [{"kind": "withdrawal", "notice": "1 year"}],
            parties=["US", "CN", "DE"],
            events=[notice("2020-07-06", "US"), notice("2021-01-20", "US", "notice_withdrawn")],
        ),
        D("2021-02-01"),
        [],
        [("withdrawal_effective", "2021-07-06", "US")],
        start=D("2020-01-01"),
        end=D("2022-01-01"),
    ),
    # USMCA Art. 34.7: joint review on the sixth anniversary of entry into force (2020-07-01)
    # and a 16-year term → 2036-07-01.
    Case(
        "usmca",
        agreement(
            [
                {"kind": "milestone", "label": "Joint review", "after": "6 years"},
                {"kind": "fixed_term", "start": "2020-07-01", "term": "16 years"},
            ],
            parties=["US", "CA", "MX"],
            in_force="2020-07-01",
        ),
        D("2026-01-01"),
        [("milestone", "2026-07-01", None), ("expiry", "2036-07-01", None)],
        end=D("2037-01-01"),
    ),
    # US–UK Mutual Defence Agreement 1958 Art. III bis: expiry 2014-12-31 extended by the
    # amendment of 2014-07-22 until 2024-12-31.
    Case(
        "us-uk-mda",
        agreement(
            [{"kind": "fixed_term", "expires": "2014-12-31", "notice": "6 months"}],
            parties=["US", "GB"],
            events=[{"date": "2014-07-22", "type": "extended", "until": "2024-12-31"}],
        ),
        D("2015-01-01"),
        [("expiry", "2024-12-31", None), ("notice_deadline", "2024-06-30", None)],
        end=D("2025-01-01"),
    ),
    # ---- edge cases
    # Month-end series: 2024-01-31 + 1, 2, 3 months = 02-29, 03-31, 04-30 (SPEC 2.1).
    Case(
        "month-end-series",
        agreement(
            [
                {
                    "kind": "auto_renewal",
                    "first_expiry": "2024-01-31",
                    "renewal_term": "1 month",
                    "notice": "10 days",
                }
            ]
        ),
        D("2024-02-01"),
        [
            ("notice_deadline", "2024-02-19", None),
            ("expiry", "2024-02-29", None),
            ("notice_deadline", "2024-03-21", None),
            ("expiry", "2024-03-31", None),
            ("notice_deadline", "2024-04-20", None),
            ("expiry", "2024-04-30", None),
            ("notice_deadline", "2024-05-21", None),
            ("expiry", "2024-05-31", None),
        ],
        [("expiry", "2024-03-29", None), ("expiry", "2024-04-29", None)],
        end=D("2024-06-01"),
    ),
    # 29 February anchor: 28 February in common years, 29 February again in 2028.
    Case(
        "leap-day-anchor",
        agreement(
            [
                {
                    "kind": "auto_renewal",
                    "first_expiry": "2024-02-29",
                    "renewal_term": "1 year",
                    "notice": "1 month",
                }
            ]
        ),
        D("2025-01-01"),
        [
            ("notice_deadline", "2025-01-28", None),
            ("expiry", "2025-02-28", None),
            ("notice_deadline", "2026-01-28", None),
            ("expiry", "2026-02-28", None),
            ("notice_deadline", "2027-01-28", None),
            ("expiry", "2027-02-28", None),
            ("notice_deadline", "2028-01-29", None),
            ("expiry", "2028-02-29", None),
        ],
        [("expiry", "2028-02-28", None)],
        end=D("2028-12-31"),
    ),
    # An anchor in 1950 costs no more than a recent one and lands on the right day.
    Case(
        "anchor-1950",
        agreement(
            [
                {
                    "kind": "auto_renewal",
                    "first_expiry": "1950-03-31",
                    "renewal_term": "1 month",
                    "notice": "5 days",
                }
            ]
        ),
        D("2025-01-01"),
        [
            ("notice_deadline", "2025-01-26", None),
            ("expiry", "2025-01-31", None),
            ("notice_deadline", "2025-02-23", None),
            ("expiry", "2025-02-28", None),
            ("notice_deadline", "2025-03-26", None),
            ("expiry", "2025-03-31", None),
        ],
        end=D("2025-04-01"),
    ),
    # Notice on the deadline day is timely: the agreement ends at that term's expiry.
    Case(
        "notice-on-deadline-day",
        agreement([dict(GSOMIA_RULE)], events=[notice("2020-08-24", "JP")]),
        D("2020-09-01"),
        [("termination", "2020-11-22", None)],
        [("expiry", "2021-11-22", None)],
        end=D("2022-01-01"),
    ),
    # Notice one day after the deadline is late: it ends the next term instead (whose own
    # deadline, 2021-08-24, stays listed).
    Case(
        "notice-day-after-deadline",
        agreement([dict(GSOMIA_RULE)], events=[notice("2020-08-25", "JP")]),
        D("2020-09-01"),
        [
            ("expiry", "2020-11-22", None),
            ("notice_deadline", "2021-08-24", None),
            ("termination", "2021-11-22", None),
        ],
        [("termination", "2020-11-22", None)],
        end=D("2022-01-01"),
    ),
    # Notice window (no earlier than 180 days before expiry): a notice inside it is timely.
    Case(
        "notice-inside-window",
        agreement(
            [{**GSOMIA_RULE, "notice_window": "180 days"}], events=[notice("2020-06-01", "JP")]
        ),
        D("2020-06-02"),
        [
            ("notice_window_opens", "2020-05-26", None),
            ("notice_deadline", "2020-08-24", None),
            ("termination", "2020-11-22", None),
        ],
        start=D("2020-01-01"),
        end=D("2022-01-01"),
    ),
    # A notice before the window opens is premature and has no effect.
    Case(
        "notice-before-window",
        agreement(
            [{**GSOMIA_RULE, "notice_window": "180 days"}], events=[notice("2020-05-25", "JP")]
        ),
        D("2020-06-02"),
        [
            ("notice_window_opens", "2020-05-26", None),
            ("notice_deadline", "2020-08-24", None),
            ("expiry", "2020-11-22", None),
            ("notice_window_opens", "2021-05-26", None),
            ("notice_deadline", "2021-08-24", None),
            ("expiry", "2021-11-22", None),
        ],
        [("termination", "2020-11-22", None)],
        start=D("2020-01-01"),
        end=D("2022-01-01"),
    ),
    # A suspended notice resumed later counts as given on the resume date (here: late for 2020,
    # so it ends the 2021 term).
    Case(
        "notice-resumed",
        agreement(
            [dict(GSOMIA_RULE)],
            events=[
                notice("2020-08-01", "KR"),
                notice("2020-08-10", "KR", "notice_suspended"),
                notice("2020-09-01", "KR", "notice_resumed"),
            ],
        ),
        D("2020-09-02"),
        [
            ("expiry", "2020-11-22", None),
            ("notice_deadline", "2021-08-24", None),
            ("termination", "2021-11-22", None),
        ],
        end=D("2022-01-01"),
    ),
    # Extension of an auto-renewing agreement re-anchors the series at the new expiry.
    Case(
        "auto-renewal-extended",
        agreement(
            [dict(GSOMIA_RULE)],
            events=[{"date": "2020-06-01", "type": "extended", "until": "2021-03-31"}],
        ),
        D("2020-07-01"),
        [
            ("notice_deadline", "2020-12-31", None),
            ("expiry", "2021-03-31", None),
            ("notice_deadline", "2021-12-31", None),
            ("expiry", "2022-03-31", None),
        ],
        [("expiry", "2020-11-22", None), ("notice_deadline", "2020-08-24", None)],
        end=D("2022-06-01"),
    ),
    # Termination by consent: nothing after the date except survival_ends.
    Case(
        "terminated-by-consent",
        agreement(
            [
                dict(GSOMIA_RULE),
                {"kind": "survival", "period": "5 years"},
                {
                    "kind": "recurring",
                    "label": "Review",
                    "first": "2018-01-15",
                    "every": "6 months",
                },
            ],
            events=[{"date": "2021-03-01", "type": "terminated"}],
        ),
        D("2021-03-01"),
        [
            ("termination", "2021-03-01", None),
            ("recurring", "2021-01-15", None),
            ("survival_ends", "2026-03-01", None),
        ],
        [("expiry", "2021-11-22", None), ("recurring", "2021-07-15", None)],
        start=D("2021-01-01"),
        end=D("2030-01-01"),
    ),
    # max_renewals 2: E_0 2018-11-22, E_1 2019-11-22 (deadline 2019-08-24), final expiry E_2
    # 2020-11-22 with no notice deadline; nothing after it.
    Case(
        "max-renewals",
        agreement([{**GSOMIA_RULE, "first_expiry": "2018-11-22", "max_renewals": 2}]),
        D("2019-01-01"),
        [
            ("notice_deadline", "2019-08-24", None),
            ("expiry", "2019-11-22", None),
            ("expiry", "2020-11-22", None),
        ],
        [("notice_deadline", "2020-08-24", None), ("expiry", "2021-11-22", None)],
        end=D("2022-01-01"),
    ),
    # Recurring up to `until` (inclusive).
    Case(
        "recurring-until",
        agreement(
            [
                {
                    "kind": "recurring",
                    "label": "Report",
                    "first": "2020-01-31",
                    "every": "1 month",
                    "until": "2020-04-30",
                }
            ]
        ),
        D("2020-01-01"),
        [
            ("recurring", "2020-01-31", None),
            ("recurring", "2020-02-29", None),
            ("recurring", "2020-03-31", None),
            ("recurring", "2020-04-30", None),
        ],
        [("recurring", "2020-05-31", None)],
    ),
    # start + term: anniversary expiry (SPEC 2.2 example) and renewal by `term`.
    Case(
        "start-plus-term",
        agreement(
            [
                {
                    "kind": "auto_renewal",
                    "start": "2011-02-05",
                    "term": "10 years",
                    "notice": "6 months",
                }
            ]
        ),
        D("2020-01-01"),
        [("notice_deadline", "2020-08-05", None), ("expiry", "2021-02-05", None)],
    ),
]


def _in_order(rows: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str]]:
    return sorted((date_text, kind, party or "") for kind, date_text, party in rows)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_agreements_and_edge_cases_yield_exactly_the_expected_deadlines(case: Case) -> None:
    # The table names what must not be computed where a plausible mistake would add it; the
    # exact comparison below already excludes it, this keeps the table itself consistent.
    assert not set(case.absent) & set(case.expect)
    start = case.start or case.as_of
    end = case.end or date(start.year + 2, 1, 1)
    result = compute_deadlines(case.agreement, as_of=case.as_of, start=start, end=end)
    got = [(d.kind.value, d.date.isoformat(), d.party) for d in result]
    assert _in_order(got) == _in_order(case.expect)


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_gsomia_2020_deadline_has_days_left_explanation_and_source() -> None:
    result = compute_deadlines(
        gsomia(), as_of=D("2020-08-07"), start=D("2020-08-07"), end=D("2020-12-05")
    )
    first = result[0]
    assert (first.kind, first.date, first.days_left) == (
        DeadlineKind.NOTICE_DEADLINE,
        D("2020-08-24"),
        17,
    )
    assert first.explanation == "expiry 2020-11-22 − 90 days = 2020-08-24"
    assert first.source == "Art. 21(3)"
    assert result[1].explanation == "first expiry 2017-11-22 + 3 × 1 year = 2020-11-22"
    # An expiry happens by itself (action info): the note only names the day.
    assert result[1].weekday_note == "Sunday"


def test_2019_gsomia_deadline_falls_on_a_saturday() -> None:
    result = compute_deadlines(
        gsomia(), as_of=D("2019-08-01"), start=D("2019-08-24"), end=D("2019-08-24")
    )
    assert [d.weekday_note for d in result] == [
        "Saturday; last working day before is Friday 2019-08-23"
    ]


def test_notice_given_after_deadline_applies_to_next_term_and_is_reported_late() -> None:
    a = agreement([dict(GSOMIA_RULE)], events=[notice("2020-08-25", "JP")])
    result = evaluate(a, as_of=D("2020-09-01"), start=D("2020-09-01"), end=D("2022-01-01"))
    termination = [d for d in result.deadlines if d.kind is DeadlineKind.TERMINATION]
    assert [d.date for d in termination] == [D("2021-11-22")]
    assert termination[0].notes == (
        "late: notice given 2020-08-25 by JP came after the deadline 2020-08-24 for the term "
        "expiring 2020-11-22",
    )
    assert result.findings[0].startswith("late: ")
    assert result.findings[0].endswith("it applies to the term expiring 2021-11-22")


def test_russia_ukraine_termination_explains_the_notice() -> None:
    a = agreement([dict(RU_UA_RULE)], parties=["RU", "UA"], events=[notice("2018-09-24", "UA")])
    result = evaluate(a, as_of=D("2019-01-01"), start=D("2019-01-01"), end=D("2030-01-01"))
    assert [(d.kind, d.date) for d in result.deadlines] == [
        (DeadlineKind.TERMINATION, D("2019-04-01"))
    ]
    assert result.deadlines[0].explanation == (
        "notice given 2018-09-24 by UA (deadline 2018-10-01) ends the term expiring 2019-04-01"
    )
    assert result.findings[0] == (
        "timely notice for the term expiring 2019-04-01 (deadline 2018-10-01)"
    )


def test_withdrawal_explanations_show_the_arithmetic() -> None:
    ect = agreement(
        [{"kind": "withdrawal", "notice": "1 year", "effective": "day_after"}],
        parties=["IT", "FR", "DE"],
        events=[notice("2022-12-07", "FR")],
    )
    istanbul = agreement(
        [{"kind": "withdrawal", "notice": "3 months", "effective": "first_of_next_month"}],
        parties=["TR", "FR", "DE"],
        events=[notice("2021-03-22", "TR")],
    )
    unesco = agreement(
        [{"kind": "withdrawal", "effective": "end_of_following_year"}],
        parties=["US", "FR", "UNESCO"],
        events=[notice("2017-10-12", "US")],
    )
    texts = [
        compute_deadlines(a, as_of=D("2024-01-01"), start=D("2017-01-01"), end=D("2025-01-01"))[
            0
        ].explanation
        for a in (ect, istanbul, unesco)
    ]
    assert texts == [
        "notice given 2022-12-07 by FR + 1 year, effective the day after = 2023-12-08",
        "notice given 2021-03-22 by TR + 3 months = 2021-06-22, effective the first day of the "
        "next month = 2021-07-01",
        "notice given 2017-10-12 by US, effective 31 December of the following year = 2018-12-31",
    ]


def test_bilateral_withdrawal_ends_the_agreement_and_its_recurring_dates() -> None:
    # INF Treaty: after the US withdrawal took effect (2019-08-02) nothing more was due.
    a = agreement(
        [
            {"kind": "withdrawal", "notice": "6 months"},
            {
                "kind": "recurring",
                "label": "Commission",
                "first": "2018-01-10",
                "every": "3 months",
            },
        ],
        parties=["US", "RU"],
        events=[notice("2019-02-02", "US")],
    )
    result = evaluate(a, as_of=D("2019-03-01"), start=D("2019-01-01"), end=D("2020-12-31"))
    assert [d.date for d in result.deadlines if d.kind is DeadlineKind.RECURRING] == [
        D("2019-01-10"),
        D("2019-04-10"),
        D("2019-07-10"),
    ]
    assert result.end == D("2019-08-02")


def test_days_left_is_negative_for_past_deadlines() -> None:
    result = compute_deadlines(
        gsomia(), as_of=D("2020-08-07"), start=D("2019-11-01"), end=D("2019-12-31")
    )
    assert [(d.kind, d.date, d.days_left) for d in result] == [
        (DeadlineKind.EXPIRY, D("2019-11-22"), -259)
    ]


def test_deadlines_are_sorted_by_date_then_kind_then_party() -> None:
    a = agreement(
        [{"kind": "withdrawal", "notice": "1 year"}],
        parties=["US", "FR", "DE"],
        events=[notice("2020-01-01", "US"), notice("2020-01-01", "FR")],
    )
    result = compute_deadlines(a, as_of=D("2020-02-01"), start=D("2020-01-01"), end=D("2021-12-31"))
    assert [d.party for d in result] == ["FR", "US"]


def test_compute_all_sorts_by_date_then_agreement() -> None:
    a = agreement([dict(GSOMIA_RULE)], ident="b-gsomia")
    b = agreement([dict(GSOMIA_RULE)], ident="a-copy")
    result = compute_all([a, b], as_of=D("2020-08-07"), start=D("2020-08-07"), end=D("2020-12-31"))
    assert [(d.date.isoformat(), d.agreement) for d in result] == [
        ("2020-08-24", "a-copy"),
        ("2020-08-24", "b-gsomia"),
        ("2020-11-22", "a-copy"),
        ("2020-11-22", "b-gsomia"),
    ]


def test_events_after_as_of_are_ignored() -> None:
    before = compute_deadlines(
        gsomia(), as_of=D("2019-08-22"), start=D("2019-08-01"), end=D("2020-12-31")
    )
    assert DeadlineKind.TERMINATION not in {d.kind for d in before}
    assert D("2020-08-24") in {d.date for d in before}


# ---- explain reads the same evaluation


def test_explain_gsomia_reports_each_event_and_the_same_deadlines() -> None:
    as_of = D("2020-08-07")
    x = explain_agreement(gsomia(), as_of=as_of)
    assert x.status == "in force"
    assert x.rules[0].cite == "Art. 21(3)"
    assert x.rules[0].text == (
        "The agreement first expires 2017-11-22 and renews for 1 year at a time unless notice "
        "is given at least 90 days before an expiry."
    )
    assert [(e.counted, e.finding) for e in x.events] == [
        (
            True,
            "timely notice for the term expiring 2019-11-22 (deadline 2019-08-24); "
            "suspended on 2019-11-22 before it took effect",
        ),
        (True, "notice suspended"),
        (False, "dated after 2020-08-07; not counted"),
    ]
    assert x.deadlines == compute_deadlines(gsomia(), as_of=as_of, start=as_of, end=D("2022-08-07"))


def test_explain_status_names_the_pending_termination() -> None:
    x = explain_agreement(gsomia(), as_of=D("2019-09-01"))
    assert x.status == "in force until 2019-11-22 (notice given 2019-08-23 by KR)"


def test_explain_status_lists_parties_that_withdrew() -> None:
    a = agreement(
        [{"kind": "withdrawal", "notice": "6 months"}],
        parties=OPEN_SKIES_PARTIES,
        events=[notice("2020-05-22", "US")],
    )
    x = explain_agreement(a, as_of=D("2021-01-01"))
    assert x.status == "in force; withdrawn: US (2020-11-22)"
    assert x.events[0].finding == "withdrawal by US effective 2020-11-22"


def test_redundant_notice_is_reported_as_such() -> None:
    a = agreement(
        [{"kind": "withdrawal", "notice": "1 year"}],
        parties=["US", "FR", "DE"],
        events=[notice("2020-01-10", "US"), notice("2020-06-01", "US")],
    )
    result = evaluate(a, as_of=D("2020-07-01"), start=D("2020-01-01"), end=D("2022-01-01"))
    assert result.findings[1] == (
        "redundant: US already gave notice on 2020-01-10, effective 2021-01-10; ignored"
    )


def test_with_both_renewal_and_withdrawal_rules_a_notice_is_a_withdrawal() -> None:
    # A bilateral treaty renewed every 5 years that either party may also leave on one year's
    # notice: JP's notice of 2021-03-01 takes effect 2022-03-01, and the renewal series stops
    # there instead of running to the term's expiry 2022-11-22.
    a = agreement(
        [{**GSOMIA_RULE, "renewal_term": "5 years"}, {"kind": "withdrawal", "notice": "1 year"}],
        events=[notice("2021-03-01", "JP")],
    )
    result = evaluate(a, as_of=D("2021-04-01"), start=D("2021-01-01"), end=D("2028-01-01"))
    assert [(d.kind.value, d.date.isoformat(), d.party) for d in result.deadlines] == [
        ("withdrawal_effective", "2022-03-01", "JP")
    ]
    assert result.end == D("2022-03-01")
    assert result.findings[0] == "withdrawal by JP effective 2022-03-01"
