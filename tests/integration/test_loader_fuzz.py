"""Fuzzing the loader: every document is refused with ``file:line`` errors, or it computes.

Hypothesis writes agreement documents near every edge (dates next to 0001-01-01 and
9999-12-31, durations up to and past 200 years, many events and list items, text with NUL,
CR, LF, Unicode line breaks and commas, huge integers, nesting, junk inserted into the text)
in YAML and in JSON. For each one, on SQLite and on PostgreSQL:

* either the loader refuses it with :class:`ValidationFailed`, every error naming the file
  and a line;
* or the agreement computes its deadlines without an exception, over the widest window the
  API allows and over windows at both ends of the calendar (the command line allows any),
  and the store takes it (``tracker import``'s path) and materialises its deadlines there.

Bounded: a fixed number of examples and no timing assertions (issue 8, acceptance).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tracker.domain.agreement import AutoRenewal, Recurring, Withdrawal
from tracker.domain.explain import explain_agreement
from tracker.domain.rules import compute_deadlines
from tracker.errors import ValidationFailed
from tracker.loader import load_text
from tracker.store.deadlines import materialize_deadlines, query_deadlines
from tracker.store.repository import import_agreements

NAME = "fuzz.yaml"
NOW = datetime(2026, 8, 7, tzinfo=UTC)
D = date.fromisoformat
# The API accepts days 1900-01-01..2199-12-31 and windows of up to 50 years; the command line
# accepts any day. Each window is computed as of its first and of its last day.
WINDOWS = [
    (D("1900-01-01"), D("1950-01-01")),
    (D("2149-12-31"), D("2199-12-31")),
    (date.min, D("0001-12-31")),
    (D("9999-01-01"), date.max),
]

# --- strategies ---------------------------------------------------------------------------
# Two documents in three are "near the edges but well formed" (most of them load and reach
# the engine and the store); in the third, any value may be hostile, and the text may be
# nested deep or have junk inserted.


specials = st.sampled_from(
    [
        "\x00",
        "\r",
        "\n",
        "\t",
        "\u2028",
        "\x85",
        "\x7f",
        "\x1b",
        ",",
        "'",
        '"',
        "#",
        ": ",
        "- ",
        "{",
        "[",
        "&a",
        "*a",
        "!!python/object",
        "😀",
        "é",
        "\ufeff",
    ]
)


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def documents(hostile: bool) -> Any:
    """Agreement documents; with ``hostile``, each value is sometimes a hostile one."""

    def mostly(valid: Any, bad: Any) -> Any:
        return st.one_of(valid, valid, valid, bad) if hostile else valid

    dates = mostly(
        st.one_of(
            st.dates(date.min, D("0001-04-30")),
            st.dates(D("9999-09-01"), date.max),
            st.dates(D("1900-01-01"), D("2200-12-31")),
            st.sampled_from([date.min, date.max, D("2024-02-29"), D("9998-12-31")]),
        ).map(date.isoformat),
        st.sampled_from(["2019-02-30", "0000-12-31", "10000-01-01", "2020-1-1", "today"]),
    )
    durations = mostly(
        st.one_of(
            st.sampled_from(
                [
                    "1 day",
                    "7 days",
                    "30 days",
                    "90 days",
                    "1 month",
                    "6 months",
                    "1 year",
                    "5 years",
                    "10 years",
                    "199 years",
                    "200 years",
                    "P1M15D",
                    "P73000D",
                    "P2400M",
                    "P0D",
                ]
            ),
            st.builds(
                "{} {}".format, st.integers(0, 2000), st.sampled_from(["days", "weeks", "months"])
            ),
        ),
        st.one_of(
            st.sampled_from(["201 years", "90 dais", "-1 day", "P" + "9" * 40 + "D", "2 hours"]),
            st.builds("{} days".format, st.integers(0, 999_999)),
        ),
    )
    steps = mostly(
        st.sampled_from(
            ["1 year", "2 years", "5 years", "P1Y1D", "100 years", "3 months", "P1M15D"]
        ),
        st.sampled_from(["1 day", "1 week", "1 month", "0 days"]),
    )

    pieces = st.one_of(specials, st.characters(exclude_categories=["Cs"]))
    hostile_texts = st.one_of(
        st.lists(pieces, min_size=1, max_size=12).map("".join),
        st.text(st.sampled_from("ab "), min_size=95, max_size=520),
    )
    short_texts = st.one_of(
        st.sampled_from(["KR", "JP", "US", "EU", "review", "Art. 1", "Ünïcödé – “quoted”"]),
        st.text(st.sampled_from("abcXYZ019 -.()é😀"), min_size=1, max_size=40).map(str.strip),
    ).filter(bool)
    texts = mostly(
        st.one_of(short_texts, st.text(st.sampled_from("ab"), min_size=90, max_size=100)),
        hostile_texts,
    )
    short_texts = mostly(short_texts, hostile_texts)
    numbers = mostly(st.integers(0, 8000), st.one_of(st.integers(-3, 12_000), st.integers(10**14)))
    refs = mostly(st.none(), st.one_of(st.integers(-1, 3), texts))

    def rule(kind: str, required: dict[str, Any], optional: dict[str, Any]) -> Any:
        common = {"label": texts, "source": refs}
        return st.fixed_dictionaries(
            {"kind": st.just(kind), **required},
            optional={**{k: v for k, v in common.items() if k not in required}, **optional},
        )

    anchors = st.one_of(
        st.fixed_dictionaries({"first_expiry": dates}),
        st.fixed_dictionaries({"start": dates, "term": durations}),
    )
    auto_renewals = st.builds(
        lambda anchor, rest: {**anchor, **rest},
        anchors,
        rule(
            "auto_renewal",
            {"renewal_term": steps, "notice": durations},
            {"notice_window": durations, "max_renewals": numbers},
        ),
    )
    fixed_terms = st.builds(
        lambda anchor, rest: (
            {"expires": anchor["first_expiry"], **rest}
            if "first_expiry" in anchor
            else {**anchor, **rest}
        ),
        anchors,
        rule("fixed_term", {}, {"notice": durations}),
    )
    month_days = mostly(
        st.one_of(
            st.dates(D("2001-01-01"), D("2001-12-31")).map(lambda d: d.strftime("%m-%d")),
            st.sampled_from(["01-01", "06-30", "12-31", "02-28", "03-01"]),
        ),
        st.sampled_from(["02-29", "13-01", "06-31", "6-30", "00-00"]),
    )
    conventions = st.sampled_from(
        ["same_day", "day_after", "first_of_next_month", "end_of_following_year"]
    )
    effectives = mostly(st.one_of(conventions, month_days.map("next {}".format)), st.just("never"))
    counted_from = st.one_of(dates, durations)
    windows = st.fixed_dictionaries({"first": counted_from, "every": steps, "length": durations})
    withdrawals = st.one_of(
        rule(
            "withdrawal",
            {"notice": durations},
            {
                "effective": effectives,
                "earliest_notice": counted_from,
                "not_before": counted_from,
            },
        ),
        # Format 1.1: a notice counted to a day of the year (tax conventions, Whaling).
        rule(
            "withdrawal",
            {"notice_by": month_days, "effective": month_days},
            {"earliest_notice": counted_from, "not_before": counted_from},
        ),
        # Format 1.1: denunciation windows (ILO conventions).
        rule(
            "withdrawal",
            {"notice": durations, "windows": windows},
            {"effective": effectives, "earliest_notice": counted_from},
        ),
    )
    recurrings = rule(
        "recurring", {"label": texts, "first": dates, "every": steps}, {"until": dates}
    )
    milestones = st.one_of(
        rule("milestone", {"label": texts, "date": dates}, {}),
        rule("milestone", {"label": texts, "after": durations}, {}),
    )
    survivals = rule("survival", {"period": durations}, {})
    rules = st.one_of(auto_renewals, fixed_terms, withdrawals, recurrings, milestones, survivals)

    events = st.one_of(
        st.fixed_dictionaries(
            {
                "date": dates,
                "type": mostly(
                    st.sampled_from(
                        [
                            "notice_given",
                            "notice_suspended",
                            "notice_resumed",
                            "notice_withdrawn",
                            "terminated",
                            "rejoined",
                            "suspended",
                            "suspension_lifted",
                            "ceased",
                        ]
                    ),
                    st.just("notice_sent"),
                ),
            },
            optional={
                "party": mostly(st.sampled_from(["KR", "JP"]), short_texts),
                "note": texts,
            },
        ),
        st.fixed_dictionaries(
            {"date": dates, "type": st.just("notice_given"), "effective_on": dates},
            optional={"party": mostly(st.sampled_from(["KR", "JP"]), short_texts)},
        ),
        st.fixed_dictionaries({"date": dates, "type": st.just("extended"), "until": dates}),
    )
    urls = mostly(
        st.sampled_from(["https://example.org/a", "mailto:desk@example.org", "HTTP://EXAMPLE.ORG"]),
        st.one_of(st.sampled_from(["javascript:alert(1)", "data:text/html,x", "//x"]), texts),
    )
    sources = st.fixed_dictionaries(
        {"cite": mostly(st.sampled_from(["Art. 1", "Art. 2"]), short_texts)},
        optional={"url": urls, "quote": texts},
    )

    required = {
        "version": mostly(st.just(1), numbers),
        "id": mostly(st.just("fuzz"), short_texts),
        "title": texts,
        "parties": st.lists(
            mostly(st.sampled_from(["KR", "JP", "US", "EU"]), short_texts), min_size=1, max_size=4
        ),
        "rules": st.lists(rules, min_size=1, max_size=4),
    }
    # Durations after entry into force need one; only a hostile document may lack it.
    in_force = {"in_force": dates}
    document_strategy = st.fixed_dictionaries(
        required if hostile else {**required, **in_force},
        optional={
            **(in_force if hostile else {}),
            "signed": dates,
            "timezone": mostly(
                st.sampled_from(["UTC", "Asia/Seoul", "Pacific/Kiritimati", "Etc/GMT+12"]),
                st.sampled_from(["Nowhere/City", "../etc/passwd"]),
            ),
            "tags": st.lists(short_texts, max_size=33 if hostile else 30),
            "sources": st.lists(sources, max_size=3),
            "events": st.lists(events, max_size=8),
            "reminders": st.lists(durations, max_size=22 if hostile else 20),
            "channels": st.lists(mostly(st.just("log"), short_texts), max_size=11),
            "in_force_for": st.dictionaries(
                mostly(st.sampled_from(["KR", "JP", "US", "EU"]), short_texts), dates, max_size=3
            ),
        },
    )

    return document_strategy


DOCUMENTS = documents(hostile=False)
HOSTILE_DOCUMENTS = documents(hostile=True)


@st.composite
def texts_of_documents(draw: st.DrawFn) -> tuple[str, str | None]:
    """A document as YAML or JSON text, sometimes nested deep or with junk inserted."""
    hostile = draw(st.integers(0, 2)) == 0
    document = draw(HOSTILE_DOCUMENTS if hostile else DOCUMENTS)
    if hostile and draw(st.integers(0, 4)) == 0:
        document["tags"] = nested(draw(st.integers(25, 60)))
    if draw(st.booleans()):
        indent = draw(st.sampled_from([None, 1]))
        text = json.dumps(document, ensure_ascii=draw(st.booleans()), indent=indent)
        content_type: str | None = "application/json"
    else:
        text = yaml.safe_dump(document, allow_unicode=draw(st.booleans()), sort_keys=False)
        content_type = None
    if hostile and draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        junk = draw(
            st.lists(
                st.one_of(specials, st.sampled_from(list("]}:,\"' -9"))), min_size=1, max_size=4
            )
        )
        text = text[:at] + "".join(junk) + text[at:]
    return text, content_type


# --- the property -------------------------------------------------------------------------


def open_ended_step_days(agreement: Any) -> float:
    """The shortest step of a renewal, recurring, window or yearly notice series (how many
    dates a window holds)."""
    found = []
    for r in agreement.rules:
        if isinstance(r, AutoRenewal):
            found.append(r.step.approx_days())
        elif isinstance(r, Recurring):
            found.append(r.every.approx_days())
        elif isinstance(r, Withdrawal) and r.windows is not None:
            found.append(r.windows.every.approx_days())
        elif isinstance(r, Withdrawal) and r.notice_by is not None:
            found.append(365.0)
    return min(found, default=float("inf"))


DEEP_JSON = '{"version": 1, "id": "fuzz", "tags": ' + "[" * 100_000 + "]" * 100_000 + "}"
HUGE = (
    '{"version": ' + "9" * 5000 + ', "id": "fuzz", "rules": [{"max_renewals": ' + "7" * 5000 + "}]}"
)
EDGES = (
    "version: 1\nid: fuzz\ntitle: T\nparties: [KR]\nin_force: 0001-01-01\nrules:\n"
    "  - {kind: auto_renewal, first_expiry: 9999-12-31, renewal_term: 1 day, notice: 200 years}\n"
    "  - {kind: recurring, label: r, first: 0001-01-01, every: 1 day}\n"
    "  - {kind: withdrawal, notice: 1 day, effective: end_of_following_year,"
    " earliest_notice: 199 years}\n"
    "  - {kind: survival, period: 1 day}\n"
    "events:\n  - {date: 9998-12-30, type: notice_given, party: KR}\n"
)


@settings(
    max_examples=100,
    deadline=None,  # a shared machine; nothing here is timed
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts_of_documents())
@example((DEEP_JSON, "application/json"))
@example((HUGE, "application/json"))
@example((HUGE.replace('{"', "{").replace('": ', ": ").replace('"', ""), None))
@example((EDGES, None))
def test_every_document_is_refused_with_a_line_or_computes_and_stores(
    engine: Engine, case: tuple[str, str | None]
) -> None:
    text, content_type = case
    try:
        loaded = load_text(text, name=NAME, content_type=content_type, known_channels=["log"])
    except ValidationFailed as exc:
        event("refused")
        assert exc.errors
        unlocated = [str(e) for e in exc.errors if e.file != NAME or e.line is None]
        assert unlocated == []
        return

    event("accepted")
    agreement = loaded.agreement
    windows = list(WINDOWS)
    if open_ended_step_days(agreement) >= 365:
        windows.append((date.min, date.max))  # the command line's widest window
    for start, end in windows:
        for as_of in (start, end):
            for deadline in compute_deadlines(agreement, as_of=as_of, start=start, end=end):
                assert start <= deadline.date <= end
    explain_agreement(agreement, as_of=date.max)
    explain_agreement(agreement, as_of=date.min)

    import_agreements(engine, [loaded], origin="import", now=NOW)
    for start, end in (WINDOWS[2], WINDOWS[3], (NOW.date(), D("2027-08-07"))):
        materialize_deadlines(engine, as_of=start, end=end, agreement_ids=[agreement.id])
        page = query_deadlines(engine, as_of=start, start=start, end=end)
        # (deadlines, total) and, where readers isolate agreements that fail, a third item
        # listing those failures: a valid document must have none.
        assert (page[1], list(page[2:])) == (len(page[0]), [[]] if len(page) > 2 else [])
