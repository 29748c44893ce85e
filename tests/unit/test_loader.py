"""The agreement loader: exact messages for every bad file, all errors at once, safety limits."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tracker.errors import ValidationFailed
from tracker.loader import (
    MAX_FILE_BYTES,
    LoadedAgreement,
    agreement_json_schema,
    load_file,
    load_paths,
    load_text,
)

DATA = Path(__file__).resolve().parent.parent / "data"
GSOMIA = DATA / "good" / "kr-jp-gsomia.yaml"
RULE_KINDS = "auto_renewal, fixed_term, withdrawal, recurring, milestone, survival"
AGREEMENT_KEYS = (
    "version, id, title, parties, signed, in_force, in_force_for, timezone, tags, sources, "
    "rules, events, reminders, channels"
)

RANGE = "the tracker computes dates from 0001-01-01 to 9999-12-31 only"

#: The channels of the configuration the bad files are checked against.
KNOWN_CHANNELS = frozenset({"log", "desk-email"})

# One row per bad file: (file, the exact message after "file:").
BAD_FILES = [
    (
        "bad-duration.yaml",
        "10:5: rules[0].notice: '90 dais' is not a duration (examples: '90 days', 'P3M')",
    ),
    ("bad-unknown-key.yaml", f"4:1: colour: unknown key (allowed: {AGREEMENT_KEYS})"),
    (
        "bad-rule-kind.yaml",
        f"7:5: rules[0].kind: unknown rule kind 'auto_renew' (expected one of: {RULE_KINDS})",
    ),
    (
        "bad-effective.yaml",
        "9:5: rules[0].effective: 'first_of_month' is not a known effective convention "
        "(expected one of: same_day, day_after, first_of_next_month, end_of_following_year, "
        "MM-DD, next MM-DD)",
    ),
    (
        "bad-event-type.yaml",
        "10:24: events[0].type: 'notice_sent' is not a known event type (expected one of: "
        "notice_given, notice_suspended, notice_resumed, notice_withdrawn, extended, terminated, "
        "rejoined, suspended, suspension_lifted, ceased)",
    ),
    (
        "bad-version.yaml",
        "1:1: version: unsupported format version 2 (this tracker reads version 1)",
    ),
    (
        "bad-date.yaml",
        "8:5: rules[0].expires: '2019-02-30' is not a valid date "
        "(day is out of range for month; expected YYYY-MM-DD)",
    ),
    (
        "bad-timezone.yaml",
        "6:1: timezone: 'Asia/Tokio' is not an IANA time zone "
        "(examples: 'Europe/Berlin', 'Asia/Seoul')",
    ),
    (
        "bad-negative-duration.yaml",
        "9:5: rules[0].notice: '-90 days' is negative; "
        "write the length of the period (e.g. '90 days')",
    ),
    (
        "bad-absurd-duration.yaml",
        "8:5: rules[0].period: '900 years' is longer than 200 years; check the number and unit",
    ),
    ("bad-missing-field.yaml", "7:5: rules[0].notice: required field is missing"),
    (
        "bad-duplicate-key.yaml",
        "11:5: rules[0].notice: duplicate key (first given on line 10); keep only one",
    ),
    (
        "bad-python-tag.yaml",
        "8:12: rules[0].label: the tag '!!python/object/apply:os.system' is not allowed; "
        "agreement files contain only plain text, numbers, lists and mappings",
    ),
    (
        "bad-alias-bomb.yaml",
        "2:8: alias '*a' is not allowed: agreement files may not use anchors and aliases "
        "(write the value out)",
    ),
    (
        "bad-not-mapping.yaml",
        "1:1: an agreement must be a mapping of keys to values "
        "(version, id, title, parties, rules, ...), not a list",
    ),
    (
        "bad-syntax.yaml",
        "10:1: YAML syntax error: found unexpected end of stream "
        "(while scanning a quoted scalar that starts at line 8, column 12)",
    ),
    (
        "bad-extended-without-until.yaml",
        "10:5: events[0]: an `extended` event needs `until` (the new expiry date)",
    ),
    (
        "bad-id.yaml",
        "2:1: id: 'Test_Agreement' is not a valid id (lowercase letters, digits and '-', "
        "starting and ending with a letter or digit, e.g. 'kr-jp-gsomia')",
    ),
    (
        "bad-milestone-after-without-in-force.yaml",
        "6:5: rules[0]: a duration after entry into force needs `in_force`",
    ),
    (
        "bad-multi-document.yaml",
        "10:1: only one agreement per file; found a second document (remove the '---')",
    ),
    (
        "bad-empty.yaml",
        " the file is empty (expected an agreement: version, id, title, parties, rules)",
    ),
    ("bad-utf8.yaml", "8:13: not valid UTF-8 (byte 0xe9); save the file as UTF-8"),
    (
        "bad-huge-integer.yaml",
        "10:19: rules[0].max_renewals: a number with 30 digits is too large: "
        "no field takes more than 15 digits",
    ),
    (
        "bad-too-many-reminders.yaml",
        "9:1: reminders: has 21 items, over the limit of 20",
    ),
    # PostgreSQL cannot store NUL; SQLite could, so both refuse it here (issue 8, item 3).
    (
        "bad-nul-title.yaml",
        "3:1: title: a NUL character (U+0000) at character 5 is not allowed: "
        "write one line of printable text",
    ),
    (
        "bad-line-break-in-label.yaml",
        "7:5: rules[0].label: a carriage return (U+000D) at character 7 is not allowed: "
        "write one line of printable text",
    ),
    ("bad-long-party.yaml", "11:5: events[0].party: is 200 characters long, over the limit of 100"),
    ("bad-too-many-tags.yaml", "5:1: tags: has 400 items, over the limit of 30"),
    (
        "bad-comma-in-tag.yaml",
        "5:18: tags[1]: 'korea,japan' contains a comma: write each tag as its own list item",
    ),
    (
        "bad-javascript-url.yaml",
        "7:5: sources[0].url: 'javascript:alert(document.domain)' is not a web or mail link: "
        "write an http://, https:// or mailto: URL (e.g. 'https://example.org/treaty-text')",
    ),
    # Every date the engine derives from fixed values stays within 0001-01-01..9999-12-31.
    (
        "bad-notice-before-year-1.yaml",
        f"8:5: rules[0].notice: expiry 0001-01-01 − 90 days falls before 0001-01-01: {RANGE}",
    ),
    (
        "bad-milestone-after-year-9999.yaml",
        f"9:5: rules[0].after: in force 9999-01-01 + 200 years falls after 9999-12-31: {RANGE}",
    ),
    (
        "bad-term-after-year-9999.yaml",
        f"8:5: rules[0].term: start 9999-01-01 + 200 years falls after 9999-12-31: {RANGE}",
    ),
    (
        "bad-max-renewals-after-year-9999.yaml",
        "10:5: rules[0].max_renewals: the final expiry 2017-11-22 + 10000 × 1 year falls after "
        f"9999-12-31: {RANGE} (at most 7982 renewals fit)",
    ),
    (
        "bad-withdrawal-after-year-9999.yaml",
        "10:5: events[0].date: withdrawal by notice 9998-02-01 under rules[0] (1 year, "
        f"effective: end_of_following_year) falls after 9999-12-31: {RANGE}",
    ),
    (
        "bad-survival-after-year-9999.yaml",
        f"9:5: rules[1].period: the expiry 9990-01-01 + 20 years falls after 9999-12-31: {RANGE}",
    ),
    (
        "bad-extension-before-year-1.yaml",
        "15:5: events[1].until: the extended expiry 0001-01-03 − 5 days (rules[0].notice) falls "
        f"before 0001-01-01: {RANGE}",
    ),
    (
        "bad-earliest-notice-after-year-9999.yaml",
        "9:5: rules[0].earliest_notice: in force 9990-01-01 + 20 years falls after 9999-12-31: "
        f"{RANGE}",
    ),
    (
        "bad-id-not-file-name.yaml",
        "2:1: id: 'kr-jp-gsomia' differs from the file's name 'bad-id-not-file-name': the id "
        "must be the file's name (rename the file to 'kr-jp-gsomia.yaml', or write id: "
        "bad-id-not-file-name)",
    ),
    (
        "bad-event-before-in-force.yaml",
        "10:6: events[0].date: 2016-11-03 is before in_force 2016-11-04: nothing can happen "
        "under an agreement before it exists",
    ),
    (
        "bad-event-before-signed.yaml",
        "10:5: events[0].date: 2010-04-07 is before signed 2010-04-08: nothing can happen "
        "under an agreement before it exists",
    ),
    (
        "bad-signed-after-in-force.yaml",
        "5:1: signed: 2011-02-06 is after in_force 2011-02-05: an agreement is signed before "
        "or when it enters into force",
    ),
    (
        "bad-unknown-channel.yaml",
        "8:24: channels[1]: 'ops-webhok' is not a channel of the configuration in force "
        f"(defined: {', '.join(sorted(KNOWN_CHANNELS))})",
    ),
    (
        "bad-notice-by-leap-day.yaml",
        "8:5: rules[0].notice_by: '02-29' is not allowed: a yearly day must exist every year "
        "(write '02-28' or '03-01')",
    ),
    (
        "bad-notice-by-after-year-9999.yaml",
        "11:6: events[0].date: withdrawal by notice 9999-07-01 under rules[0] (notice_by "
        f"06-30, effective: 01-01) falls after 9999-12-31: {RANGE}",
    ),
    (
        "bad-windows-after-year-9999.yaml",
        "9:15: rules[0].windows.first: in force 9850-11-23 + 150 years falls after "
        f"9999-12-31: {RANGE}",
    ),
    (
        "bad-not-before-after-year-9999.yaml",
        f"9:5: rules[0].not_before: in force 9964-09-16 + 60 years falls after 9999-12-31: {RANGE}",
    ),
    (
        "bad-in-force-for-not-a-party.yaml",
        "6:1: in_force_for: 'IQ' is not one of the parties",
    ),
    (
        "bad-ceased-without-party.yaml",
        "11:5: events[0]: a `ceased` event needs `party` (who it concerns)",
    ),
]


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load_file(path, known_channels=KNOWN_CHANNELS)
    return [str(e) for e in caught.value.errors]


@pytest.mark.parametrize(("name", "message"), BAD_FILES, ids=[row[0] for row in BAD_FILES])
def test_each_bad_file_is_reported_with_its_exact_message(name: str, message: str) -> None:
    path = DATA / name
    assert errors_of(path) == [f"{path}:{message}"]


def test_every_bad_file_in_the_data_folder_has_a_row_in_the_table() -> None:
    on_disk = {p.name for p in DATA.glob("bad-*.yaml")}
    assert on_disk == {row[0] for row in BAD_FILES} | {"bad-multiple-errors.yaml"}


def test_all_errors_of_a_file_are_reported_together_in_file_order() -> None:
    path = DATA / "bad-multiple-errors.yaml"
    assert errors_of(path) == [
        f"{path}:1:1: version: unsupported format version 3 (this tracker reads version 1)",
        f"{path}:8:5: rules[0].first_expiry: '2017-11-31' is not a valid date "
        "(day is out of range for month; expected YYYY-MM-DD)",
        f"{path}:10:5: rules[0].notice: '90 dais' is not a duration (examples: '90 days', 'P3M')",
        f"{path}:11:5: rules[0].colour: unknown key (allowed: label, source, kind, first_expiry, "
        "start, term, renewal_term, notice, notice_window, max_renewals)",
    ]


def test_a_valid_file_loads_with_its_path_hash_and_text() -> None:
    loaded = load_file(GSOMIA)
    assert isinstance(loaded, LoadedAgreement)
    assert loaded.agreement.id == "kr-jp-gsomia"
    assert loaded.path == str(GSOMIA)
    assert loaded.text == GSOMIA.read_text(encoding="utf-8")
    assert len(loaded.sha256) == 64
    assert loaded.agreement.rules[0].notice.days == 90  # type: ignore[union-attr]


def test_dates_stay_dates_and_norway_stays_a_country_code() -> None:
    # YAML 1.1 would read NO as False; the loader reads the YAML 1.2 core schema.
    text = GSOMIA.read_text(encoding="utf-8").replace("parties: [KR, JP]", "parties: [NO, SE]")
    agreement = load_text(text).agreement
    assert agreement.parties == ["NO", "SE"]
    assert agreement.signed is not None and agreement.signed.isoformat() == "2016-11-23"


def test_duplicate_ids_across_files_are_an_error_naming_both_files() -> None:
    folder = DATA / "duplicate-ids"
    with pytest.raises(ValidationFailed) as caught:
        load_paths([folder])
    assert [str(e) for e in caught.value.errors] == [
        f"{folder / 'two' / 'gsomia-copy.yaml'}:2:1: id: duplicate agreement id 'gsomia-copy': "
        "also the id of "
        f"{folder / 'one' / 'gsomia-copy.yaml'}; ids must be unique"
    ]


def test_load_paths_with_one_bad_file_raises_and_returns_nothing(tmp_path: Path) -> None:
    (tmp_path / "kr-jp-gsomia.yaml").write_bytes(GSOMIA.read_bytes())
    (tmp_path / "nested").mkdir()
    bad = tmp_path / "nested" / "bad-duration.yml"
    bad.write_bytes((DATA / "bad-duration.yaml").read_bytes())
    result: list[LoadedAgreement] | None = None
    with pytest.raises(ValidationFailed) as caught:
        result = load_paths([tmp_path])
    assert result is None
    assert [e.file for e in caught.value.errors] == [str(bad)]


def test_load_paths_reads_folders_recursively_in_sorted_order_and_each_file_once(
    tmp_path: Path,
) -> None:
    text = GSOMIA.read_text(encoding="utf-8")
    for name in ("b/z.yaml", "a.yml", "c.yaml", ".hidden/x.yaml", "notes.txt"):
        target = tmp_path / name
        target.parent.mkdir(exist_ok=True)
        target.write_text(text.replace("id: kr-jp-gsomia", f"id: {target.stem}"), encoding="utf-8")
    loaded = load_paths([tmp_path, tmp_path / "c.yaml"])
    assert [x.agreement.id for x in loaded] == ["a", "z", "c"]


def test_a_missing_path_is_an_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_paths([DATA / "no-such-folder"])
    assert str(caught.value) == f"{DATA / 'no-such-folder'}: no such file or folder"


def test_an_oversize_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    # Not even valid YAML: a parser that read it would report a syntax error instead.
    path.write_bytes(b"version: [\n" + b"x" * MAX_FILE_BYTES)
    assert errors_of(path) == [
        f"{path}: the file is 1,000,011 bytes, over the limit of 1,000,000 bytes; "
        "an agreement is a few kilobytes (is this the right file?)"
    ]


def test_the_alias_bomb_is_refused_within_a_second() -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationFailed):
        load_file(DATA / "bad-alias-bomb.yaml")
    assert time.perf_counter() - started < 1.0


def test_a_deeper_alias_bomb_inside_an_agreement_is_refused_within_a_second() -> None:
    lines = ['l0: &l0 ["lol"]'] + [
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 30)
    ]
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as caught:
        load_text("\n".join(lines))
    assert time.perf_counter() - started < 1.0
    assert "alias '*l0' is not allowed" in str(caught.value)


def test_a_python_tag_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for text in (
        '!!python/object/apply:os.system ["touch pwned"]',
        'version: !!python/object/apply:os.system ["touch pwned"]',
        'version: 1\nid: !!python/object/new:os.system ["touch pwned"]',
    ):
        with pytest.raises(ValidationFailed) as caught:
            load_text(text)
        assert "is not allowed" in str(caught.value)
    assert not os.path.exists("pwned")


def test_json_bodies_validate_and_their_errors_name_the_line() -> None:
    agreement = load_file(GSOMIA).agreement
    body = agreement.model_dump(mode="json", exclude_none=True)
    assert load_text(json.dumps(body), content_type="application/json").agreement == agreement
    body["rules"][0]["notice"] = "90 dais"
    with pytest.raises(ValidationFailed) as caught:
        load_text(json.dumps(body, indent=2), name="body", content_type="application/json")
    assert str(caught.value).startswith("body:30:7: rules[0].notice: '90 dais' is not a duration")


def test_json_syntax_errors_are_worded_for_json() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_text('{"version": 1,', content_type="application/json; charset=utf-8")
    assert str(caught.value) == (
        "<request>:1:15: JSON syntax error: Expecting property name enclosed in double quotes"
    )


def test_bodies_are_called_documents_in_messages() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_text(b"   \n", name="body")
    assert str(caught.value) == (
        "body: the document is empty (expected an agreement: version, id, title, parties, rules)"
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(b" " * (MAX_FILE_BYTES + 1), name="body")
    assert str(caught.value) == (
        "body: the document is 1,000,001 bytes, over the limit of 1,000,000 bytes; "
        "an agreement is a few kilobytes (is this the right document?)"
    )


def test_yaml_text_without_a_content_type_is_read_as_yaml() -> None:
    loaded = load_text(GSOMIA.read_bytes(), name="upload")
    assert loaded.path is None
    assert loaded.agreement.title.startswith("Korea–Japan")


def test_the_json_schema_is_draft_2020_12_and_describes_the_rule_kinds() -> None:
    schema = agreement_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://")
    assert schema["title"] == "Treaty tracker agreement file (format version 1)"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"version", "id", "title", "parties", "rules"}
    kinds = {
        definition["properties"]["kind"]["const"]
        for definition in schema["$defs"].values()
        if "kind" in definition.get("properties", {})
    }
    assert kinds == set(RULE_KINDS.split(", "))
    json.dumps(schema)  # serialisable as is


def test_deep_nesting_is_refused_without_exhausting_the_stack() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_text("tags: " + "[" * 900 + "]" * 900)
    messages = [str(e) for e in caught.value.errors]
    assert f"<request>:1:38: tags{'[0]' * 31}: nested more than 32 levels deep" in messages


AGREEMENT_HEAD = "version: 1\nid: x\ntitle: T\nparties: [A]\nrules:\n"


def test_a_rule_without_kind_points_at_the_rule_and_lists_the_kinds() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_text(AGREEMENT_HEAD + "  - {label: no kind}\n", name="f.yaml")
    assert str(caught.value) == (
        f"f.yaml:6:5: rules[0].kind: required field is missing (one of: {RULE_KINDS})"
    )


def test_a_date_or_duration_field_names_both_only_when_the_value_is_neither() -> None:
    text = AGREEMENT_HEAD + (
        "  - {kind: withdrawal, notice: 1 year, earliest_notice: 2020-02-30}\n"
        "  - {kind: withdrawal, notice: 1 year, earliest_notice: soon}\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(text, name="f.yaml")
    assert [str(e) for e in caught.value.errors] == [
        "f.yaml:6:40: rules[0].earliest_notice: '2020-02-30' is not a valid date "
        "(day is out of range for month; expected YYYY-MM-DD)",
        "f.yaml:7:40: rules[1].earliest_notice: 'soon' is not a date (expected YYYY-MM-DD) "
        "or 'soon' is not a duration (examples: '90 days', 'P3M')",
    ]


# --- bounded work: nesting, numbers, error counts (issue 8, items 2 and 12) -------------

VALID_JSON = (
    '{"version": 1, "id": "x", "title": "T", "parties": ["A"], '
    '"rules": [{"kind": "milestone", "label": "m", "date": "2030-01-01"}]'
)


def test_json_nested_100000_deep_is_refused_at_its_place_without_exhausting_the_stack() -> None:
    body = VALID_JSON + ', "tags": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ValidationFailed) as caught:
        load_text(body, name="body", content_type="application/json")
    assert [str(e) for e in caught.value.errors] == [
        "body:1:138: tags[0]: expected text, got a list",
        f"body:1:168: tags{'[0]' * 31}: nested more than 32 levels deep",
    ]


def test_json_and_yaml_nested_deeper_than_the_limit_get_the_same_message() -> None:
    nested = "[" * 40 + "]" * 40
    with pytest.raises(ValidationFailed) as from_json:
        load_text('{"tags": ' + nested + "}", name="b", content_type="application/json")
    with pytest.raises(ValidationFailed) as from_yaml:
        load_text("{tags: " + nested + "}", name="b")
    expected = f"tags{'[0]' * 31}: nested more than 32 levels deep"
    assert [e.message for e in from_json.value.errors if "nested" in e.message] == [
        "nested more than 32 levels deep"
    ]
    assert [f"{e.path}: {e.message}" for e in from_json.value.errors][-1] == expected
    assert [f"{e.path}: {e.message}" for e in from_yaml.value.errors][-1] == expected


def test_a_5000_digit_integer_is_refused_at_its_place_in_yaml() -> None:
    text = AGREEMENT_HEAD.replace("version: 1", "version: " + "9" * 5000) + (
        "  - {kind: auto_renewal, first_expiry: 2017-11-22, renewal_term: 1 year,\n"
        f"     notice: 90 days, max_renewals: {'7' * 5000}}}\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(text, name="f.yaml")
    assert [str(e) for e in caught.value.errors] == [
        "f.yaml:1:10: version: a number with 5,000 digits is too large: "
        "no field takes more than 15 digits",
        "f.yaml:7:37: rules[0].max_renewals: a number with 5,000 digits is too large: "
        "no field takes more than 15 digits",
    ]


def test_a_5000_digit_integer_is_refused_at_its_place_in_json() -> None:
    body = (
        '{"version": ' + "9" * 5000 + ', "id": "x", "title": "T", "parties": ["A"],\n'
        '"rules": [{"kind": "auto_renewal", "first_expiry": "2017-11-22", '
        '"renewal_term": "1 year", "notice": "90 days", "max_renewals": -' + "7" * 5000 + "}]}"
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(body, name="body", content_type="application/json")
    assert [str(e) for e in caught.value.errors] == [
        "body:1:13: version: a number with 5,000 digits is too large: "
        "no field takes more than 15 digits",
        "body:2:129: rules[0].max_renewals: a number with 5,000 digits is too large: "
        "no field takes more than 15 digits",
    ]


def test_a_5000_digit_integer_in_quotes_is_refused_by_the_model() -> None:
    text = AGREEMENT_HEAD + (
        "  - {kind: auto_renewal, first_expiry: 2017-11-22, renewal_term: 1 year,\n"
        f"     notice: 90 days, max_renewals: '{'7' * 5000}'}}\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(text, name="f.yaml")
    assert str(caught.value) == (
        "f.yaml:7:23: rules[0].max_renewals: the number is too large: "
        "no field takes more than 15 digits"
    )


def test_yaml_infinity_and_nan_are_numbers_the_fields_refuse() -> None:
    text = AGREEMENT_HEAD.replace("version: 1", "version: .nan") + (
        "  - {kind: milestone, label: m, date: 2030-01-01, source: -.inf}\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(text, name="f.yaml")
    assert [str(e) for e in caught.value.errors] == [
        "f.yaml:1:1: version: unsupported format version nan (this tracker reads version 1)",
        "f.yaml:6:51: rules[0].source: expected a finite number or expected text, got -inf",
    ]


def test_true_and_1_0_are_not_format_version_1() -> None:
    for value in ("true", "1.0"):
        with pytest.raises(ValidationFailed) as caught:
            load_text(AGREEMENT_HEAD.replace("version: 1", f"version: {value}") + "  - x\n")
        assert str(caught.value.errors[0]) == (
            f"<request>:1:1: version: unsupported format version "
            f"{'True' if value == 'true' else value} (this tracker reads version 1)"
        )


JSON_REST = (
    '"title": "T", "parties": ["A"], '
    '"rules": [{"kind": "milestone", "label": "m", "date": "2030-01-01"}]'
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # libyaml, which reads most JSON, refuses each of these; they are valid JSON.
        (
            '{"version": 1, ' + JSON_REST + ',\n"id"\n:\n"Bad Id"}',
            "body:2:1: id: 'Bad Id' is not a valid id (lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, e.g. 'kr-jp-gsomia')",
        ),
        (
            '{"version": 1, "tags": ["\\ud83d\\ude00\x85"], "id": 7, ' + JSON_REST + "}",
            "body:1:43: id: expected text, got 7",
        ),
        (
            '{"version": 1, "id": "x", "id": "y", ' + JSON_REST + "}",
            "body:1:27: id: duplicate key (first given on line 1); keep only one",
        ),
    ],
)
def test_json_errors_are_located_even_where_libyaml_cannot_read_the_json(
    body: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_text(body, name="body", content_type="application/json")
    assert [str(e) for e in caught.value.errors] == [message]


def test_50000_unknown_keys_are_refused_with_the_first_50_errors_and_a_count() -> None:
    text = AGREEMENT_HEAD + "  - {kind: milestone, label: m, date: 2030-01-01}\n"
    text += "".join(f"unknown{i}: 1\n" for i in range(50_000))
    assert len(text) > 489_000
    with pytest.raises(ValidationFailed) as caught:
        load_text(text, name="f.yaml")
    assert [str(e) for e in caught.value.errors] == [
        *(
            f"f.yaml:{7 + i}:1: unknown{i}: unknown key (allowed: {AGREEMENT_KEYS})"
            for i in range(50)
        ),
        "f.yaml:57:1: ... and 49,950 more errors from here on (fix the errors above first)",
    ]


def test_the_same_50000_unknown_keys_in_json_get_the_same_answer() -> None:
    body = VALID_JSON + "".join(f',\n"unknown{i}": 1' for i in range(50_000)) + "}"
    with pytest.raises(ValidationFailed) as caught:
        load_text(body, name="body", content_type="application/json")
    assert [str(e) for e in caught.value.errors] == [
        *(
            f"body:{2 + i}:1: unknown{i}: unknown key (allowed: {AGREEMENT_KEYS})"
            for i in range(50)
        ),
        "body:52:1: ... and 49,950 more errors from here on (fix the errors above first)",
    ]


def test_many_duplicate_keys_and_unknown_keys_together_are_capped_too() -> None:
    text = AGREEMENT_HEAD + "  - {kind: milestone, label: m, date: 2030-01-01}\n"
    text += "".join(f"a{i}: 1\ntitle: again\n" for i in range(20_000))
    with pytest.raises(ValidationFailed) as caught:
        load_text(text, name="f.yaml")
    messages = [str(e) for e in caught.value.errors]
    assert messages[:3] == [
        f"f.yaml:7:1: a0: unknown key (allowed: {AGREEMENT_KEYS})",
        "f.yaml:8:1: title: duplicate key (first given on line 3); keep only one",
        f"f.yaml:9:1: a1: unknown key (allowed: {AGREEMENT_KEYS})",
    ]
    assert messages[50:] == [
        "f.yaml:57:1: ... and 39,950 more errors from here on (fix the errors above first)"
    ]


def test_empty_parties_tags_and_labels_are_refused() -> None:
    text = AGREEMENT_HEAD.replace("parties: [A]", 'parties: ["", A]') + (
        '  - {kind: milestone, label: " ", date: 2030-01-01}\ntags: [""]\n'
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(text, name="f.yaml")
    assert [str(e) for e in caught.value.errors] == [
        "f.yaml:4:11: parties[0]: must not be empty",
        "f.yaml:6:23: rules[0].label: must not be empty",
        "f.yaml:7:8: tags[0]: must not be empty",
    ]


def test_an_id_that_is_not_the_file_name_is_reported_with_the_files_other_errors(
    tmp_path: Path,
) -> None:
    path = tmp_path / "renamed.yaml"
    path.write_bytes((DATA / "bad-duration.yaml").read_bytes())
    assert errors_of(path) == [
        f"{path}:2:1: id: 'bad-duration' differs from the file's name 'renamed': the id must be "
        "the file's name (rename the file to 'bad-duration.yaml', or write id: renamed)",
        f"{path}:10:5: rules[0].notice: '90 dais' is not a duration (examples: '90 days', 'P3M')",
    ]


def test_channels_are_checked_only_against_the_configuration_the_caller_passes() -> None:
    path = DATA / "bad-unknown-channel.yaml"
    assert load_file(path).agreement.channels == ["desk-email", "ops-webhok"]  # library use
    with pytest.raises(ValidationFailed) as caught:
        load_paths([path], known_channels=["log", "ops-webhook"])
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:8:12: channels[0]: 'desk-email' is not a channel of the configuration in "
        "force (defined: log, ops-webhook)",
        f"{path}:8:24: channels[1]: 'ops-webhok' is not a channel of the configuration in "
        "force (defined: log, ops-webhook)",
    ]


def test_api_bodies_have_no_file_name_to_match_but_their_channels_are_checked() -> None:
    text = (DATA / "bad-unknown-channel.yaml").read_text(encoding="utf-8")
    body = text.replace("id: bad-unknown-channel", "id: any-name")
    assert load_text(body).agreement.id == "any-name"
    with pytest.raises(ValidationFailed) as caught:
        load_text(body, name="body", known_channels=KNOWN_CHANNELS)
    assert [str(e) for e in caught.value.errors] == [
        "body:8:24: channels[1]: 'ops-webhok' is not a channel of the configuration in force "
        "(defined: desk-email, log)"
    ]
    as_json = json.dumps(
        {
            "version": 1,
            "id": "any-name",
            "title": "T",
            "parties": ["KR"],
            "rules": [{"kind": "fixed_term", "expires": "2030-01-01"}],
            "channels": ["ops-webhok"],
        },
        indent=1,
    )
    with pytest.raises(ValidationFailed) as caught:
        load_text(as_json, name="body", content_type="application/json", known_channels=["log"])
    assert [str(e) for e in caught.value.errors] == [
        "body:15:3: channels[0]: 'ops-webhok' is not a channel of the configuration in force "
        "(defined: log)"
    ]
