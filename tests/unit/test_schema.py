"""The JSON Schema that `tracker schema` prints is what editors validate agreement files with:
real files must pass it, broken ones must not, and its duration pattern must accept exactly
what the loader accepts (an editor that flags a valid file, or passes a broken one, misleads)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.conftest import SEEDS_DIR
from tracker.domain.agreement import (
    LINE_PATTERN,
    MAX_CHANNELS,
    MAX_EVENTS,
    MAX_PARTIES,
    MAX_PARTY_CHARS,
    MAX_QUOTE_CHARS,
    MAX_REMINDERS,
    MAX_RULES,
    MAX_SOURCES,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_TITLE_CHARS,
    TAG_PATTERN,
    TEXT_PATTERN,
    URL_PATTERN,
    Agreement,
    Source,
)
from tracker.domain.durations import (
    DurationParseError,
    _schema_pattern,
    parse_duration,
)
from tracker.loader import agreement_json_schema

DATA = Path(__file__).resolve().parent.parent / "data"


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server sees it (YAML 1.2): dates stay strings, and only
    true/false are booleans, so Norway's party code NO stays a string, as in the tracker."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [
        r
        for r in resolvers
        if r[0] not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_EditorLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _validator() -> Any:
    schema = agreement_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _messages(errors: Any) -> list[str]:
    # A rule is a union (anyOf): the telling message sits in the error's context.
    found: list[str] = []
    for error in errors:
        found.append(error.message)
        found.extend(_messages(error.context or ()))
    return found


def _errors(path: Path) -> list[str]:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_EditorLoader)
    return _messages(_validator().iter_errors(document))


@pytest.mark.parametrize("path", sorted(SEEDS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_seed_passes_the_published_schema(path: Path) -> None:
    assert _errors(path) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("bad-duration.yaml", "'90 dais' does not match"),
        ("bad-unknown-key.yaml", "'colour' was unexpected"),
        ("bad-rule-kind.yaml", "'auto_renewal' was expected"),
        ("bad-version.yaml", "1 was expected"),
        ("bad-javascript-url.yaml", "'javascript:alert(document.domain)' does not match"),
        ("bad-too-many-tags.yaml", "is too long"),
        ("bad-long-party.yaml", "is too long"),
        ("bad-nul-title.yaml", "'Test\\x00agreement' does not match"),
        ("bad-comma-in-tag.yaml", "'korea,japan' does not match"),
    ],
)
def test_broken_files_fail_the_published_schema(name: str, fragment: str) -> None:
    messages = _errors(DATA / name)
    assert any(fragment in m for m in messages), messages


_UNITS = [
    "d",
    "day",
    "days",
    "w",
    "weeks",
    "mo",
    "month",
    "months",
    "y",
    "year",
    "years",
    "dais",
    "mins",
    "hours",
    "s",
    "fortnight",
    "D",
    "Days",
    "MONTHS",
]
_texts = st.one_of(
    st.builds(
        lambda n, sep, unit: f"{n}{sep}{unit}",
        st.integers(min_value=0, max_value=999),
        st.sampled_from(["", " ", "  "]),
        st.sampled_from(_UNITS),
    ),
    st.from_regex(r"\A[pP]([0-9]{1,2}[yYmMwWdD]){0,3}([tT]([0-9]{1,2}[hHmMsS]){0,2})?\Z"),
    st.text(alphabet="0123456789 PpTtYMWDdays-", max_size=8),
)


@given(_texts)
def test_the_schema_duration_pattern_accepts_exactly_what_the_parser_accepts(text: str) -> None:
    for allow_time in (False, True):
        try:
            parse_duration(text, allow_time=allow_time)
            parses = True
        except DurationParseError as exc:
            # The 200-year sanity limit is the loader's, deliberately not in the pattern.
            parses = "longer than" in str(exc)
        matches = re.match(_schema_pattern(allow_time=allow_time), text) is not None
        assert matches == parses, (text, allow_time)


def test_the_schema_states_the_limits_on_lengths_and_counts() -> None:
    schema = agreement_json_schema()
    properties, defs = schema["properties"], schema["$defs"]
    assert (properties["title"]["maxLength"], properties["title"]["pattern"]) == (
        MAX_TITLE_CHARS,
        LINE_PATTERN,
    )
    assert properties["parties"]["maxItems"] == MAX_PARTIES
    assert properties["parties"]["items"]["maxLength"] == MAX_PARTY_CHARS
    assert (properties["tags"]["maxItems"], properties["tags"]["items"]["maxLength"]) == (
        MAX_TAGS,
        MAX_TAG_CHARS,
    )
    assert properties["sources"]["maxItems"] == MAX_SOURCES
    assert properties["rules"]["maxItems"] == MAX_RULES
    assert properties["events"]["maxItems"] == MAX_EVENTS
    assert properties["reminders"]["anyOf"][0]["maxItems"] == MAX_REMINDERS
    assert properties["channels"]["anyOf"][0]["maxItems"] == MAX_CHANNELS
    assert defs["Source"]["properties"]["quote"]["anyOf"][0]["maxLength"] == MAX_QUOTE_CHARS
    assert defs["Source"]["properties"]["url"]["anyOf"][0]["pattern"] == URL_PATTERN
    assert defs["Event"]["properties"]["note"]["anyOf"][0]["pattern"] == TEXT_PATTERN


def _accepted(make: Any) -> bool:
    try:
        make()
        return True
    except ValidationError:
        return False


# Printable text, the characters the patterns refuse, and those they let through.
_characters = st.sampled_from(
    [
        *"aZ9 ,.:/?#%-_é–",
        *("\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f"),
        *("\xa0", "\u2028", "\u2029", "\U0001f600"),
    ]
)
_texts = st.text(_characters, min_size=1, max_size=12).filter(lambda t: t == t.strip())


def _document(**fields: Any) -> dict[str, Any]:
    rule = {"kind": "milestone", "label": "m", "date": "2030-01-01"}
    return {"version": 1, "id": "x", "title": "T", "parties": ["A"], "rules": [rule], **fields}


@given(_texts)
def test_the_schema_text_patterns_accept_exactly_what_the_model_accepts(text: str) -> None:
    # JSON Schema patterns are ECMA-262; Python's re reads these the same ($ aside: \Z).
    def matches(pattern: str) -> bool:
        return re.search(pattern.replace("$", "\\Z"), text) is not None

    as_title = _accepted(lambda: Agreement.model_validate(_document(title=text)))
    as_tag = _accepted(lambda: Agreement.model_validate(_document(tags=[text])))
    as_quote = _accepted(lambda: Source.model_validate({"cite": "c", "quote": text}))
    assert (as_title, as_tag, as_quote) == (
        matches(LINE_PATTERN),
        matches(TAG_PATTERN),
        matches(TEXT_PATTERN),
    ), text


_urls = st.one_of(
    st.builds(
        lambda scheme, rest: scheme + rest,
        st.sampled_from(
            [
                "http://",
                "HTTPS://",
                "https://",
                "mailto:",
                "MailTo:",
                "javascript:",
                "data:",
                "file://",
                "http:",
                "https:/",
                "ftp://",
                "",
                " https://",
            ]
        ),
        st.text(st.sampled_from(list("ex.org/?#@% \t")), max_size=10),
    ),
)


@given(_urls)
def test_the_schema_url_pattern_accepts_exactly_what_the_model_accepts(url: str) -> None:
    url = url.strip()
    accepted = _accepted(lambda: Source.model_validate({"cite": "c", "url": url}))
    assert accepted == (re.search(URL_PATTERN.replace("$", "\\Z"), url) is not None), url


_month_day_texts = st.one_of(
    st.builds("{:02d}-{:02d}".format, st.integers(0, 13), st.integers(0, 32)),
    st.builds("next {:02d}-{:02d}".format, st.integers(0, 13), st.integers(0, 32)),
    st.sampled_from(["6-30", "06/30", "next  01-01", "same_day", "never", "0630"]),
)


@given(_month_day_texts)
def test_the_schema_effective_and_notice_by_patterns_accept_exactly_what_the_model_accepts(
    text: str,
) -> None:
    def rule(**fields: str) -> dict[str, Any]:
        return {"kind": "withdrawal", "notice": "6 months", **fields}

    def accepted(fields: dict[str, Any]) -> bool:
        return _accepted(lambda: Agreement.model_validate(_document(rules=[fields])))

    schema = agreement_json_schema()["$defs"]["Withdrawal"]["properties"]
    effective_schema = schema["effective"]
    by_pattern = schema["notice_by"]["anyOf"][0]["pattern"]
    # As effective (with a notice period, 'next MM-DD' and the conventions are valid):
    in_schema = (
        text in effective_schema["anyOf"][0]["enum"]
        or re.search(effective_schema["anyOf"][1]["pattern"].replace("$", "\\Z"), text) is not None
    )
    model = accepted(rule(effective=text)) or accepted(
        {"kind": "withdrawal", "notice_by": "06-30", "effective": text}
    )
    assert model == in_schema, text
    # As notice_by:
    as_notice_by = accepted({"kind": "withdrawal", "notice_by": text, "effective": "01-01"})
    assert as_notice_by == (re.search(by_pattern.replace("$", "\\Z"), text) is not None), text


def test_a_seed_using_every_format_1_1_key_passes_the_published_schema() -> None:
    document = {
        "version": 1,
        "id": "x",
        "title": "T",
        "parties": ["CA", "US", "IQ"],
        "in_force": "1964-09-16",
        "in_force_for": {"IQ": "2021-12-30"},
        "rules": [
            {"kind": "withdrawal", "notice_by": "06-30", "effective": "01-01"},
            {"kind": "withdrawal", "notice": "6 months", "effective": "next 01-01"},
            {
                "kind": "withdrawal",
                "notice": "1 year",
                "windows": {"first": "10 years", "every": "10 years", "length": "1 year"},
                "earliest_notice": "3 years",
                "not_before": "60 years",
            },
        ],
        "events": [
            {
                "date": "2014-09-16",
                "type": "notice_given",
                "party": "CA",
                "effective_on": "2025-01-01",
            },
            {"date": "2023-02-21", "type": "suspended", "party": "US"},
            {"date": "2023-03-21", "type": "suspension_lifted"},
            {"date": "2022-03-16", "type": "ceased", "party": "IQ"},
            {"date": "2024-01-01", "type": "rejoined", "party": "IQ"},
        ],
    }
    Agreement.model_validate(document)
    assert _messages(_validator().iter_errors(document)) == []
    broken = {
        **document,
        "rules": [{"kind": "withdrawal", "notice_by": "02-29", "effective": "01-01"}],
    }
    assert any("'02-29' does not match" in m for m in _messages(_validator().iter_errors(broken)))
