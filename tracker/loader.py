"""Agreement files (YAML or JSON) -> validated :class:`~tracker.domain.agreement.Agreement`.

Every problem is reported as a :class:`~tracker.errors.ConfigError` whose ``str()`` is
``file:line:col: path: message`` (SPEC 2.5), and all problems of a file are raised together in
one :class:`~tracker.errors.ValidationFailed`. A batch (:func:`load_paths`) is all or nothing.

How a file is read, and why:

* Size first: a file over :data:`MAX_FILE_BYTES` is refused before a byte of it is parsed.
* UTF-8 only (a leading BOM is allowed); a bad byte is reported at its line and column.
* libyaml (``CParser``) composes the node tree. It records line/column marks on every node in
  C anyway, so keeping the tree costs little and an invalid file needs no second parse: the
  pydantic error locations are mapped back onto the same nodes.
* We build Python values from the nodes ourselves instead of using ``SafeConstructor``. The
  builder accepts only plain scalars, lists and mappings: any explicit tag
  (``!!python/object/apply:...``, ``!!set``, ``!!binary``) is an error and nothing is ever
  constructed from it. It reports duplicate keys (PyYAML silently keeps the last one).
* Implicit typing follows YAML 1.2's core schema rather than PyYAML's YAML 1.1 one: dates stay
  strings (so ``2019-02-30`` is reported by the model as an invalid date, at its line, instead
  of crashing the timestamp constructor), and only ``true``/``false`` are booleans, so Norway
  (``NO``) stays a country code rather than becoming ``False``.
* Aliases (``*name``) are refused on the event stream before anything is composed, which is
  what stops "billion laughs" documents: agreement files never need them. The event scan runs
  only when the text contains a ``*`` at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.cyaml import CParser  # type: ignore[attr-defined]  # libyaml; PyYAML without it is not supported (too slow)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tracker.domain.agreement import (
    RULE_KINDS,
    Agreement,
    AutoRenewal,
    Event,
    FixedTerm,
    Milestone,
    Recurring,
    Source,
    Survival,
    Withdrawal,
)
from tracker.errors import ConfigError, ValidationFailed

#: Files (and API bodies) larger than this are refused before parsing.
MAX_FILE_BYTES = 1_000_000

#: Deepest nesting of lists and mappings accepted (agreement files need four levels).
MAX_NESTING_DEPTH = 32

#: ``$id`` of the published JSON Schema (``tracker schema``).
SCHEMA_ID = "https://treaty-tracker.example.org/schema/agreement-v1.json"

AGREEMENT_SUFFIXES = (".yaml", ".yml")

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT = _TAG_PREFIX + "str", _TAG_PREFIX + "int", _TAG_PREFIX + "float"
_BOOL, _NULL = _TAG_PREFIX + "bool", _TAG_PREFIX + "null"
_SEQ, _MAP = _TAG_PREFIX + "seq", _TAG_PREFIX + "map"


@dataclass(frozen=True)
class LoadedAgreement:
    """A validated agreement and where it came from.

    ``path`` is the file as the caller named it (``None`` for API bodies), ``sha256`` the hex
    digest of the raw bytes (to notice changed files), ``text`` the decoded document.
    """

    agreement: Agreement
    path: str | None
    sha256: str
    text: str


# --- YAML reading -------------------------------------------------------------------------


# Implicit scalar types of YAML 1.2's core schema: null, bool, int, float. No timestamps, no
# yes/no/on/off booleans, no sexagesimal or octal-by-leading-zero integers, no ``<<`` merges.
_IMPLICIT = re.compile(
    r"(?P<int>[-+]?[0-9]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
    r"|(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<null>~|null|Null|NULL|)"
)
_IMPLICIT_TAGS = {"int": _INT, "float": _FLOAT, "bool": _BOOL, "null": _NULL}


class _CoreResolver(yaml.resolver.BaseResolver):
    """Resolves untagged nodes by the core schema with one regular expression.

    PyYAML's generic resolver walks a per-first-character list of patterns in Python for every
    scalar; this is most of the cost of reading a file, so we resolve in one match.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:  # a plain (unquoted) scalar
                match = _IMPLICIT.fullmatch(value)
                if match is not None:
                    return _IMPLICIT_TAGS[match.lastgroup or "null"]
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


class _ComposeLoader(CParser, _CoreResolver):
    """libyaml parser and composer with the core resolver; it never constructs objects."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        _CoreResolver.__init__(self)


def _pretty_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


class _Builder:
    """Turns a node tree into plain Python values, collecting structural errors with marks."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ConfigError] = []
        self.bad_paths: list[tuple[str | int, ...]] = []

    def error(self, node: Node, path: tuple[str | int, ...], message: str) -> None:
        mark = node.start_mark
        self.errors.append(
            ConfigError(message, self.file, mark.line + 1, mark.column + 1, format_path(path))
        )
        self.bad_paths.append(path)

    def build(self, node: Node, path: tuple[str | int, ...] = ()) -> Any:
        tag = node.tag
        if isinstance(node, ScalarNode):
            value: str = node.value
            if tag == _STR:
                return value
            if tag == _INT:
                return int(value)
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return value.lower() == "true"
            if tag == _FLOAT:
                return float(value)
        elif len(path) >= MAX_NESTING_DEPTH:
            # Agreement files nest four levels deep; this keeps the builder's recursion bounded.
            self.error(node, path, f"nested more than {MAX_NESTING_DEPTH} levels deep")
            return None
        elif isinstance(node, SequenceNode) and tag == _SEQ:
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        elif isinstance(node, MappingNode) and tag == _MAP:
            return self._mapping(node, path)
        self.error(
            node,
            path,
            f"the tag {_pretty_tag(tag)!r} is not allowed; agreement files contain only "
            "plain text, numbers, lists and mappings",
        )
        return None

    def _mapping(self, node: MappingNode, path: tuple[str | int, ...]) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (
                _STR,
                _INT,
                _BOOL,
                _NULL,
            ):
                self.error(key_node, path, "a key must be plain text")
                continue
            key = key_node.value
            if key in first_line:
                self.error(
                    key_node,
                    (*path, key),
                    f"duplicate key (first given on line {first_line[key]}); keep only one",
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        return result


def _first_alias(text: str) -> yaml.AliasEvent | None:
    """The first alias event of ``text``, or None; stops there, before any expansion."""
    loader = _ComposeLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                return event
        return None
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.YAMLError, file: str, what: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.composer.ComposerError) and "single document" in (exc.context or ""):
        problem = "only one agreement per file; found a second document (remove the '---')"
        return ConfigError(
            problem, file, mark.line + 1 if mark else None, mark.column + 1 if mark else None
        )
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    message = f"{what} syntax error: {problem}"
    if context:
        message += f" ({context}"
        if context_mark is not None and mark is not None and context_mark.line != mark.line:
            message += (
                f" that starts at line {context_mark.line + 1}, column {context_mark.column + 1}"
            )
        message += ")"
    if mark is None:
        return ConfigError(message, file)
    return ConfigError(message, file, mark.line + 1, mark.column + 1)


def _compose(text: str, file: str) -> Node | None:
    """The document's root node, or None when empty; refuses aliases and syntax errors."""
    try:
        if "*" in text:
            alias = _first_alias(text)
            if alias is not None:
                mark = alias.start_mark
                assert mark is not None  # libyaml always sets marks
                raise ValidationFailed(
                    [
                        ConfigError(
                            f"alias '*{alias.anchor}' is not allowed: agreement files may not use "
                            "anchors and aliases (write the value out)",
                            file,
                            mark.line + 1,
                            mark.column + 1,
                        )
                    ]
                )
        loader = _ComposeLoader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ValidationFailed([_syntax_error(exc, file, "YAML")]) from None


# --- pydantic errors -> file:line:col: path: message --------------------------------------

_MODELS_BY_KIND: dict[str, type[Any]] = {
    "auto_renewal": AutoRenewal,
    "fixed_term": FixedTerm,
    "withdrawal": Withdrawal,
    "recurring": Recurring,
    "milestone": Milestone,
    "survival": Survival,
}
_ENUM_NOUNS = {"effective": "effective convention", "type": "event type"}
# Location elements pydantic adds for the members of a union; they are not keys of the file.
_UNION_MEMBER = re.compile(r"^(?:str|int|float|bool|none|list\[.*|dict\[.*|date|.*\[.*\].*)$")
_GENERIC_MISMATCH = re.compile(r"^'.*' is not an? (?:date|duration) \(")
_REF_PATH = re.compile(r"^((?:[a-z_]+|\[\d+\])(?:\.[a-z_]+|\[\d+\])*): (.+)$", re.DOTALL)
_REF_ELEMENT = re.compile(r"([a-z_]+)|\[(\d+)\]")


def format_path(path: Iterable[str | int]) -> str:
    """``('rules', 0, 'notice')`` -> ``rules[0].notice``."""
    text = ""
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        else:
            text += f".{element}" if text else str(element)
    return text


def _kind_of(node: MappingNode) -> str | None:
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == "kind" and isinstance(value, ScalarNode):
            return str(value.value)
    return None


def _locate(
    root: Node, loc: tuple[str | int, ...]
) -> tuple[Node, tuple[str | int, ...], Node | None]:
    """Walk ``loc`` down the node tree.

    Returns the node to point at (for a mapping member: its key, as the SPEC example does),
    the location as the file sees it (discriminator and union-member tags removed), and the
    deepest node reached (a missing key's parent mapping).
    """
    node: Node = root
    where: Node = root
    path: list[str | int] = []
    for i, element in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == str(element):
                    path.append(element)
                    where, node = key_node, value_node
                    break
            else:
                is_tag = isinstance(element, str) and (
                    element == _kind_of(node) or _UNION_MEMBER.match(element) is not None
                )
                if not is_tag and last:
                    path.append(element)  # a missing key: point at the mapping that lacks it
            continue
        if (
            isinstance(node, SequenceNode)
            and isinstance(element, int)
            and element < len(node.value)
        ):
            path.append(element)
            where = node = node.value[element]
            continue
        # anything else below a scalar is a union member tag
    return where, tuple(path), node


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    model: type[Any] = Agreement
    if len(loc) > 1 and loc[0] == "sources":
        model = Source
    elif len(loc) > 1 and loc[0] == "events":
        model = Event
    elif len(loc) > 2 and loc[0] == "rules" and isinstance(loc[2], str):
        model = _MODELS_BY_KIND.get(loc[2], Agreement)
    return list(model.model_fields)


def _plain_message(err: Any, path: tuple[str | int, ...]) -> str:
    """pydantic's wording -> what a YAML author needs to read."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    field = next((p for p in reversed(path) if isinstance(p, str)), "")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown key (allowed: {', '.join(_allowed_keys(err['loc']))})"
    if kind == "union_tag_invalid":
        return f"unknown rule kind {ctx.get('tag')!r} (expected one of: {', '.join(RULE_KINDS)})"
    if kind == "union_tag_not_found":
        return f"required field is missing (one of: {', '.join(RULE_KINDS)})"
    if kind == "enum":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        noun = _ENUM_NOUNS.get(field, "value")
        return f"{value!r} is not a known {noun} (expected one of: {expected})"
    if kind == "string_pattern_mismatch" and field == "id":
        return (
            f"{value!r} is not a valid id (lowercase letters, digits and '-', starting and "
            "ending with a letter or digit, e.g. 'kr-jp-gsomia')"
        )
    if kind == "string_type":
        return f"expected text, got {_describe(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {_describe(value)}"
    if kind == "list_type":
        return f"expected a list, got {_describe(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of keys to values, got {_describe(value)}"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"needs at least {ctx.get('min_length')} items"
    if kind == "duration" and isinstance(value, str) and value.strip().startswith("-"):
        return f"{value!r} is negative; write the length of the period (e.g. '90 days')"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    message = str(err["msg"]).removeprefix("Value error, ")
    return message.replace("Input should be", "expected", 1)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _errors_from_validation(
    exc: ValidationError, root: Node | None, file: str, skip: list[tuple[str | int, ...]]
) -> list[ConfigError]:
    found: dict[tuple[int | None, int | None, str], list[str]] = {}
    for err in exc.errors(include_url=False):
        loc: tuple[str | int, ...] = tuple(err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")  # the bad kind itself, or the rule that lacks one
        if root is None:
            line = column = None
            path = tuple(e for e in loc if not (isinstance(e, str) and e in _MODELS_BY_KIND))
        else:
            where, path, _ = _locate(root, loc)
            line, column = where.start_mark.line + 1, where.start_mark.column + 1
        if any(path[: len(bad)] == bad for bad in skip):
            continue  # already reported as a structural error (a refused tag, a duplicate key)
        message = _plain_message(err, path)
        # Errors about several places at once (cross-references) name their own paths.
        parts = message.split("; ") if err["type"] == "value_error" and not path else [message]
        for part in parts:
            match = _REF_PATH.match(part)
            if match and root is not None:
                ref = tuple(
                    int(index) if index else name
                    for name, index in _REF_ELEMENT.findall(match.group(1))
                )
                where, ref_path, _ = _locate(root, ref)
                key = (
                    where.start_mark.line + 1,
                    where.start_mark.column + 1,
                    format_path(ref_path),
                )
                found.setdefault(key, []).append(match.group(2))
            else:
                found.setdefault((line, column, format_path(path)), []).append(part)
    errors = []
    for (line, column, path_text), messages in found.items():
        # A union reports one error per member: "'x' is not a date" or "... not a duration".
        unique = list(dict.fromkeys(messages))
        # ... unless one member says more: '2020-02-30' is a date, just not a valid one.
        specific = [m for m in unique if not _GENERIC_MISMATCH.match(m)]
        if specific:
            unique = specific
        errors.append(ConfigError(" or ".join(unique), file, line, column, path_text or None))
    return sorted(errors, key=lambda e: (e.line or 0, e.column or 0))


# --- public API ---------------------------------------------------------------------------


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ValidationFailed(
            [
                ConfigError(
                    f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
                    file,
                    line,
                    column,
                )
            ]
        ) from None


def _too_large(size: int, file: str, noun: str) -> ValidationFailed:
    return ValidationFailed(
        [
            ConfigError(
                f"the {noun} is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes; "
                f"an agreement is a few kilobytes (is this the right {noun}?)",
                file,
            )
        ]
    )


def _validate(data: Any, root: Node | None, file: str, structural: _Builder | None) -> Agreement:
    errors = list(structural.errors) if structural else []
    skip = structural.bad_paths if structural else []
    if errors and () in skip:
        raise ValidationFailed(errors)  # the document itself was refused (e.g. a python tag)
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"the value {data!r}"
        mark = root.start_mark if root is not None else None
        raise ValidationFailed(
            [
                ConfigError(
                    f"an agreement must be a mapping of keys to values (version, id, title, "
                    f"parties, rules, ...), not {what}",
                    file,
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                )
            ]
        )
    try:
        agreement = Agreement.model_validate(data)
    except ValidationError as exc:
        errors.extend(_errors_from_validation(exc, root, file, skip))
        errors.sort(key=lambda e: (e.line or 0, e.column or 0))
        raise ValidationFailed(errors) from None
    if errors:
        raise ValidationFailed(errors)
    return agreement


def _load_yaml(text: str, file: str, noun: str = "file") -> Agreement:
    root = _compose(text, file)
    if root is None:
        raise ValidationFailed(
            [
                ConfigError(
                    f"the {noun} is empty "
                    "(expected an agreement: version, id, title, parties, rules)",
                    file,
                )
            ]
        )
    builder = _Builder(file)
    data = builder.build(root)
    return _validate(data, root, file, builder)


def _load_json(text: str, file: str) -> Agreement:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            [ConfigError(f"JSON syntax error: {exc.msg}", file, exc.lineno, exc.colno)]
        ) from None
    if duplicates:
        # Rare: locate them through the YAML composer, which reads JSON too.
        return _load_yaml(text, file, "document")
    try:
        return _validate(data, None, file, None)
    except ValidationFailed:
        # Only now pay for marks: JSON is YAML, so the composer locates each error.
        try:
            root = _compose(text, file)
        except ValidationFailed:
            root = None
        if root is None:
            raise
        return _validate(data, root, file, None)


def _loaded(
    data: bytes, path: str | None, name: str, *, json_body: bool = False, noun: str = "file"
) -> LoadedAgreement:
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data), name, noun)
    text = _decode(data, name)
    agreement = _load_json(text, name) if json_body else _load_yaml(text, name, noun)
    return LoadedAgreement(agreement, path, hashlib.sha256(data).hexdigest(), text)


def load_file(path: str | Path) -> LoadedAgreement:
    """Read and validate one agreement file.

    Raises :class:`ValidationFailed` with every error of the file (each ``file:line:col:
    path: message``; ``file`` is ``path`` as given). A file over :data:`MAX_FILE_BYTES` is
    refused from its size alone.
    """
    name = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ValidationFailed([ConfigError("no such file", name)]) from None
    except IsADirectoryError:
        raise ValidationFailed([ConfigError("is a folder, not a file", name)]) from None
    except OSError as exc:
        raise ValidationFailed(
            [ConfigError(f"cannot read the file: {exc.strerror}", name)]
        ) from None
    if len(data) > MAX_FILE_BYTES:
        size = Path(path).stat().st_size
        raise _too_large(size, name, "file")
    return _loaded(data, name, name)


def _expand(paths: Iterable[str | Path]) -> Iterator[Path | ConfigError]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in AGREEMENT_SUFFIXES
                and p.is_file()
                # hidden folders (.git, editor backups) never hold agreements
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            yield from found
        elif path.exists():
            yield path
        else:
            yield ConfigError("no such file or folder", str(given))


def load_paths(paths: Iterable[str | Path]) -> list[LoadedAgreement]:
    """Load files and folders (``*.yaml`` and ``*.yml`` found recursively, in sorted order).

    All or nothing: the errors of every file, plus one error per agreement id that appears in
    more than one file (naming both files), are raised together in one
    :class:`ValidationFailed`; nothing is returned unless every file is valid. A file named
    twice (directly and through its folder) is read once.
    """
    errors: list[ConfigError] = []
    loaded: list[LoadedAgreement] = []
    seen_files: set[Path] = set()
    first_file: dict[str, LoadedAgreement] = {}
    for item in _expand(paths):
        if isinstance(item, ConfigError):
            errors.append(item)
            continue
        resolved = item.resolve()
        if resolved in seen_files:
            continue
        seen_files.add(resolved)
        try:
            result = load_file(item)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        other = first_file.get(result.agreement.id)
        if other is not None:
            errors.append(_duplicate_id(result, other))
            continue
        first_file[result.agreement.id] = result
        loaded.append(result)
    if errors:
        raise ValidationFailed(errors)
    return loaded


def _duplicate_id(result: LoadedAgreement, other: LoadedAgreement) -> ConfigError:
    name = result.path or "<input>"
    root = _compose(result.text, name)
    line = column = None
    if root is not None:
        where, _, _ = _locate(root, ("id",))
        line, column = where.start_mark.line + 1, where.start_mark.column + 1
    return ConfigError(
        f"duplicate agreement id {result.agreement.id!r}: also the id of {other.path}; "
        "ids must be unique",
        name,
        line,
        column,
        "id",
    )


def load_text(
    text: str | bytes, *, name: str = "<request>", content_type: str | None = None
) -> LoadedAgreement:
    """Validate an agreement given as text (an API body): YAML, or JSON when ``content_type``
    says so (``application/json``), with syntax errors worded for that format.

    Errors have the same ``name:line:col: path: message`` form as files; ``path`` of the
    result is None.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    json_body = content_type is not None and "json" in content_type.lower()
    return _loaded(data, None, name, json_body=json_body, noun="document")


def agreement_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of agreement files, for ``tracker schema`` and editors."""
    schema = Agreement.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "Treaty tracker agreement file (format version 1)",
    }
