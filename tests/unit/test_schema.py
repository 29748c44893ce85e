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

from tests.conftest import SEEDS_DIR
from tracker.domain.durations import (
    DurationParseError,
    _schema_pattern,
    parse_duration,
)
from tracker.loader import agreement_json_schema

DATA = Path(__file__).resolve().parent.parent / "data"


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server sees it: dates stay strings."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
