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
* JSON bodies are read by :func:`json.loads` first (fast). When that fails in a way the
  author must be told about with a location (a duplicate key, an integer too long to convert,
  nesting deeper than :data:`MAX_NESTING_DEPTH`, or a validation error), the text is read
  again by a small JSON reader of our own (:class:`_JsonComposer`) that builds the same node
  tree as libyaml, with marks, without recursion; from there JSON and YAML share one path.
  libyaml cannot stand in for it: valid JSON it refuses includes a line break before a
  ``:``, surrogate pair escapes and raw C1 control characters.
* The work per document is bounded: at most :data:`MAX_FILE_BYTES`, nesting at most
  :data:`MAX_NESTING_DEPTH`, whole numbers at most :data:`MAX_INT_DIGITS` digits (converted
  only after that check), lists capped by the model (:mod:`tracker.domain.agreement`), at most
  :data:`MAX_REPORTED_ERRORS` errors reported, and every step linear in the document's size.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.cyaml import CParser  # type: ignore[attr-defined]  # libyaml; PyYAML without it is not supported (too slow)
from yaml.error import Mark
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
    is_valid_id,
)
from tracker.errors import ConfigError, ValidationFailed

#: Files (and API bodies) larger than this are refused before parsing.
MAX_FILE_BYTES = 1_000_000

#: Deepest nesting of lists and mappings accepted (agreement files need four levels).
MAX_NESTING_DEPTH = 32

#: Most digits of a whole number; no field takes more than five (``max_renewals``).
MAX_INT_DIGITS = 15

#: Errors reported for one document; the rest are counted in a last line.
MAX_REPORTED_ERRORS = 50

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


def _float(text: str) -> float:
    """A core-schema float; Python's ``float`` does not read ``.inf`` or ``.nan``."""
    special = text.lower().lstrip("+")
    if special in (".inf", "-.inf"):
        return float(special[:-4] + "inf")
    if special == ".nan":
        return float("nan")
    return float(text)


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
                digits = len(value.lstrip("+-"))
                if digits > MAX_INT_DIGITS:
                    # int() of thousands of digits raises (or takes quadratic time): refuse first
                    self.error(
                        node,
                        path,
                        f"a number with {digits:,} digits is too large: no field takes more "
                        f"than {MAX_INT_DIGITS} digits",
                    )
                    return None
                return int(value)
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return value.lower() == "true"
            if tag == _FLOAT:
                return _float(value)
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


# json's own string reader (C), not in the type stubs: the same escapes and errors as loads.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# json.loads reads NaN and Infinity too; the builder turns these core-schema spellings back.
_JSON_LITERALS = {
    "true": (_BOOL, "true"),
    "false": (_BOOL, "false"),
    "null": (_NULL, "null"),
    "NaN": (_FLOAT, ".nan"),
    "Infinity": (_FLOAT, ".inf"),
    "-Infinity": (_FLOAT, "-.inf"),
}
_JSON_CLOSE = {"{": "}", "[": "]"}


class _JsonComposer:
    """JSON text -> the node tree libyaml composes for YAML, with a mark on every node.

    It reads JSON exactly (strings through :func:`json.decoder.scanstring`, numbers by the
    JSON grammar, which the core-schema tags then describe), iteratively, so no nesting depth
    can exhaust the stack: containers deeper than the builder looks
    (:data:`MAX_NESTING_DEPTH`) are read for their syntax and dropped. Syntax errors are
    raised as :class:`ValidationFailed` worded like :func:`json.loads`'s.
    """

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def mark(self, index: int) -> Mark:
        line = bisect_right(self.line_starts, index) - 1
        return Mark(self.file, index, line, index - self.line_starts[line], None, 0)

    def fail(self, message: str, index: int) -> ValidationFailed:
        mark = self.mark(index)
        return ValidationFailed(
            [
                ConfigError(
                    f"JSON syntax error: {message}", self.file, mark.line + 1, mark.column + 1
                )
            ]
        )

    def _space(self, index: int) -> int:
        match = _JSON_SPACE.match(self.text, index)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def _string(self, index: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, index + 1)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg, exc.pos) from None

    def compose(self) -> Node:
        # One frame per open container: [node (None when too deep to keep), closing char,
        # the key node waiting for its value (mappings)].
        stack: list[list[Any]] = []
        root: Node | None = None
        index = self._space(0)
        while True:
            index, node, complete = self._value(stack, index)
            root = root or node
            if not complete:
                continue  # inside a container just opened: its first value starts at index
            following = self._after_value(stack, index)
            if following is None:
                assert root is not None
                return root
            index = following

    def _value(self, stack: list[list[Any]], index: int) -> tuple[int, Node | None, bool]:
        """Read the start of the value at ``index``: a whole scalar, or the opening of a
        container (and its end, when it is empty). Returns where reading goes on, the node
        (None when nested too deep to keep) and whether a whole value was read."""
        text, end = self.text, len(self.text)
        char = text[index] if index < end else ""
        keep = len(stack) <= MAX_NESTING_DEPTH and (not stack or stack[-1][0] is not None)
        if char not in _JSON_CLOSE:
            scalar = self._scalar(index)
            self._attach(stack, scalar if keep else None)
            return scalar.end_mark.index, scalar, True
        node: Node | None = None
        if keep:
            kind = MappingNode if char == "{" else SequenceNode
            node = kind(_MAP if char == "{" else _SEQ, [], self.mark(index), None, True)
        self._attach(stack, node)
        stack.append([node, _JSON_CLOSE[char], None])
        index = self._space(index + 1)
        if index < end and text[index] == stack[-1][1]:
            stack.pop()
            return index + 1, node, True
        if char == "{":
            return self._key(stack, index), node, False
        return index, node, False

    def _after_value(self, stack: list[list[Any]], index: int) -> int | None:
        """After a value: read commas and closing brackets up to where the next value starts;
        None at the end of the document."""
        text, end = self.text, len(self.text)
        while True:
            index = self._space(index)
            if not stack:
                if index < end:
                    raise self.fail("Extra data", index)
                return None
            char = text[index] if index < end else ""
            if char == ",":
                index = self._space(index + 1)
                return self._key(stack, index) if stack[-1][1] == "}" else index
            if char != stack[-1][1]:
                raise self.fail("Expecting ',' delimiter", index)
            index += 1
            stack.pop()

    def _key(self, stack: list[list[Any]], index: int) -> int:
        """Read ``"key":`` at ``index``; returns where its value starts."""
        if index >= len(self.text) or self.text[index] != '"':
            raise self.fail("Expecting property name enclosed in double quotes", index)
        key, after = self._string(index)
        stack[-1][2] = ScalarNode(_STR, key, self.mark(index), None, '"')
        after = self._space(after)
        if after >= len(self.text) or self.text[after] != ":":
            raise self.fail("Expecting ':' delimiter", after)
        return self._space(after + 1)

    def _scalar(self, index: int) -> ScalarNode:
        text = self.text
        start = self.mark(index)
        if index < len(text) and text[index] == '"':
            value, after = self._string(index)
            return ScalarNode(_STR, value, start, self.mark(after), '"')
        number = _JSON_NUMBER.match(text, index)
        if number is not None:
            tag = _FLOAT if number.group(1) or number.group(2) else _INT
            return ScalarNode(tag, number.group(), start, self.mark(number.end()), None)
        for literal, (tag, value) in _JSON_LITERALS.items():
            if text.startswith(literal, index):
                return ScalarNode(tag, value, start, self.mark(index + len(literal)), None)
        raise self.fail("Expecting value", index)

    @staticmethod
    def _attach(stack: list[list[Any]], node: Node | None) -> None:
        if node is None or not stack or stack[-1][0] is None:
            return
        parent = stack[-1][0]
        if isinstance(parent, MappingNode):
            parent.value.append((stack[-1][2], node))
        else:
            parent.value.append(node)


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


def _syntax_error(exc: yaml.YAMLError, file: str, what: str, text: str) -> ConfigError:
    if isinstance(exc, yaml.reader.ReaderError):
        # Raised before scanning (a control character): it knows the offset, not the line.
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        message = f"{what} syntax error: unacceptable character U+{ord(char):04X}: {exc.reason}"
        return ConfigError(message, file, line, column)
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
        raise ValidationFailed([_syntax_error(exc, file, "YAML", text)]) from None


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


class _Locator:
    """Finds the nodes of error locations; each mapping's keys are indexed on first use, so
    locating all errors of a document is linear in its size (50,000 unknown keys included)."""

    def __init__(self, root: Node) -> None:
        self.root = root
        self._members: dict[int, dict[str, tuple[Node, Node]]] = {}

    def members(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        found = self._members.get(id(node))
        if found is None:
            found = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode):
                    found.setdefault(str(key_node.value), (key_node, value_node))
            self._members[id(node)] = found
        return found

    def kind_of(self, node: MappingNode) -> str | None:
        member = self.members(node).get("kind")
        if member is not None and isinstance(member[1], ScalarNode):
            return str(member[1].value)
        return None

    def locate(self, loc: tuple[str | int, ...]) -> tuple[Node, tuple[str | int, ...], Node | None]:
        """Walk ``loc`` down the node tree.

        Returns the node to point at (for a mapping member: its key, as the SPEC example
        does), the location as the file sees it (discriminator and union-member tags removed),
        and the deepest node reached (a missing key's parent mapping).
        """
        node: Node = self.root
        where: Node = self.root
        path: list[str | int] = []
        for i, element in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, MappingNode):
                member = self.members(node).get(str(element))
                if member is not None:
                    path.append(element)
                    where, node = member
                else:
                    is_tag = isinstance(element, str) and (
                        element == self.kind_of(node) or _UNION_MEMBER.match(element) is not None
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
    kind = err["type"]
    if kind in _FIXED_MESSAGES:
        return _FIXED_MESSAGES[kind]
    explain = _MESSAGES.get(kind)
    if explain is not None:
        field = next((p for p in reversed(path) if isinstance(p, str)), "")
        message = explain(err, err.get("ctx") or {}, err.get("input"), field)
        if message is not None:
            return message
    message = str(err["msg"]).removeprefix("Value error, ")
    return message.replace("Input should be", "expected", 1)


_FIXED_MESSAGES = {
    "missing": "required field is missing",
    "union_tag_not_found": f"required field is missing (one of: {', '.join(RULE_KINDS)})",
    "int_parsing_size": (
        f"the number is too large: no field takes more than {MAX_INT_DIGITS} digits"
    ),
    "string_unicode": (
        "is not valid Unicode text (it holds half of a surrogate pair, such as \\ud800): "
        "write the character itself"
    ),
}

#: An explanation of one pydantic error type: (error, its ctx, the input, the field name) ->
#: the message, or None to fall back to pydantic's own wording.
_Explain = Callable[[Any, dict[str, Any], Any, str], str | None]


def _unknown_key(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str:
    return f"unknown key (allowed: {', '.join(_allowed_keys(err['loc']))})"


def _unknown_kind(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str:
    return f"unknown rule kind {ctx.get('tag')!r} (expected one of: {', '.join(RULE_KINDS)})"


def _not_in_enum(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str:
    expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
    noun = _ENUM_NOUNS.get(field, "value")
    return f"{value!r} is not a known {noun} (expected one of: {expected})"


def _bad_id(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str | None:
    if field != "id":
        return None
    return (
        f"{value!r} is not a valid id (lowercase letters, digits and '-', starting and "
        "ending with a letter or digit, e.g. 'kr-jp-gsomia')"
    )


def _expected(what: str) -> _Explain:
    def explain(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str:
        return f"expected {what}, got {_describe(value)}"

    return explain


def _text_too_long(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str:
    length = len(value.strip()) if isinstance(value, str) else 0
    return f"is {length:,} characters long, over the limit of {ctx.get('max_length'):,}"


def _too_many_items(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str:
    return f"has {ctx.get('actual_length'):,} items, over the limit of {ctx.get('max_length'):,}"


def _too_short(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str:
    if ctx.get("min_length") == 1:
        return "must not be empty"
    return f"needs at least {ctx.get('min_length')} items"


def _negative_duration(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str | None:
    if isinstance(value, str) and value.strip().startswith("-"):
        return f"{value!r} is negative; write the length of the period (e.g. '90 days')"
    return None


def _value_error(err: Any, ctx: dict[str, Any], value: Any, field: str) -> str | None:
    return str(ctx["error"]) if "error" in ctx else None


_MESSAGES: dict[str, _Explain] = {
    "extra_forbidden": _unknown_key,
    "union_tag_invalid": _unknown_kind,
    "enum": _not_in_enum,
    "string_pattern_mismatch": _bad_id,
    "string_type": _expected("text"),
    "int_type": _expected("a whole number"),
    "int_parsing": _expected("a whole number"),
    "int_from_float": _expected("a whole number"),
    "string_too_long": _text_too_long,
    "too_long": _too_many_items,
    "list_type": _expected("a list"),
    "model_type": _expected("a mapping of keys to values"),
    "model_attributes_type": _expected("a mapping of keys to values"),
    "dict_type": _expected("a mapping of keys to values"),
    "too_short": _too_short,
    "string_too_short": _too_short,
    "duration": _negative_duration,
    "value_error": _value_error,
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


#: Errors collected per place: (line, column, path) -> messages.
_Found = dict[tuple[int | None, int | None, str], list[str]]


def _errors_from_validation(
    exc: ValidationError, root: Node | None, file: str, skip: list[tuple[str | int, ...]]
) -> list[ConfigError]:
    found: _Found = {}
    locator = _Locator(root) if root is not None else None
    refused = set(skip)
    for err in exc.errors(include_url=False):
        line, column, path = _place(err, locator)
        if refused and any(path[:n] in refused for n in range(len(path) + 1)):
            continue  # already reported as a structural error (a refused tag, a duplicate key)
        message = _plain_message(err, path)
        # Errors about several places at once (cross-references) name their own paths.
        parts = message.split("; ") if err["type"] == "value_error" and not path else [message]
        for part in parts:
            _add_found(found, part, (line, column, format_path(path)), locator)
    return sorted(
        (_merged(messages, file, *place) for place, messages in found.items()),
        key=lambda e: (e.line or 0, e.column or 0),
    )


def _place(
    err: Any, locator: _Locator | None
) -> tuple[int | None, int | None, tuple[str | int, ...]]:
    """Line, column (None without a node tree) and path, as the file sees it, of one error."""
    loc: tuple[str | int, ...] = tuple(err["loc"])
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "kind")  # the bad kind itself, or the rule that lacks one
    if locator is None:
        return (
            None,
            None,
            tuple(e for e in loc if not (isinstance(e, str) and e in _MODELS_BY_KIND)),
        )
    where, path, _ = locator.locate(loc)
    return where.start_mark.line + 1, where.start_mark.column + 1, path


def _add_found(
    found: _Found,
    message: str,
    place: tuple[int | None, int | None, str],
    locator: _Locator | None,
) -> None:
    """File ``message`` under ``place``, or under the path it names itself ("rules[1].source:
    ..."), located in the node tree."""
    match = _REF_PATH.match(message)
    if match and locator is not None:
        ref = tuple(
            int(index) if index else name for name, index in _REF_ELEMENT.findall(match.group(1))
        )
        where, ref_path, _ = locator.locate(ref)
        place = (where.start_mark.line + 1, where.start_mark.column + 1, format_path(ref_path))
        message = match.group(2)
    found.setdefault(place, []).append(message)


def _merged(
    messages: list[str], file: str, line: int | None, column: int | None, path_text: str
) -> ConfigError:
    """One error for all messages about one place."""
    # A union reports one error per member: "'x' is not a date" or "... not a duration".
    unique = list(dict.fromkeys(messages))
    # ... unless one member says more: '2020-02-30' is a date, just not a valid one.
    specific = [m for m in unique if not _GENERIC_MISMATCH.match(m)]
    if specific:
        unique = specific
    return ConfigError(" or ".join(unique), file, line, column, path_text or None)


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


def _failed(errors: list[ConfigError], file: str) -> ValidationFailed:
    """All ``errors`` in file order, or the first :data:`MAX_REPORTED_ERRORS` of them and a
    last line, placed where the unreported ones begin, saying how many more there are."""
    errors = sorted(errors, key=lambda e: (e.line or 0, e.column or 0))
    if len(errors) > MAX_REPORTED_ERRORS:
        rest = errors[MAX_REPORTED_ERRORS:]
        errors = [
            *errors[:MAX_REPORTED_ERRORS],
            ConfigError(
                f"... and {len(rest):,} more errors from here on (fix the errors above first)",
                file,
                rest[0].line,
                rest[0].column,
            ),
        ]
    return ValidationFailed(errors)


@dataclass(frozen=True)
class _Expect:
    """What a document must agree with beyond itself: the name of its file (``stem``: the id
    must equal it; None for API bodies) and the channel names of the configuration in force
    (None: not checked, for pure library use)."""

    stem: str | None = None
    channels: frozenset[str] | None = None


_NO_EXPECT = _Expect()


def _expect_problems(
    data: dict[Any, Any], expect: _Expect
) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, message) for an id that differs from its file's name and for each channel name
    the configuration in force does not define. Read from the raw document, so that these are
    reported together with every other error of the file."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    agreement_id = data.get("id")
    given = agreement_id.strip() if isinstance(agreement_id, str) else None
    # An id that is no id at all is reported by the model (its pattern) instead.
    if expect.stem is not None and given and is_valid_id(given) and given != expect.stem:
        problems.append(
            (
                ("id",),
                f"{given!r} differs from the file's name {expect.stem!r}: the id must be the "
                f"file's name (rename the file to '{given}.yaml', or write id: {expect.stem})",
            )
        )
    channels = data.get("channels")
    if expect.channels is not None and isinstance(channels, list):
        known = ", ".join(sorted(expect.channels)) or "none"
        for j, name in enumerate(channels):
            if isinstance(name, str) and name.strip() not in expect.channels:
                problems.append(
                    (
                        ("channels", j),
                        f"{name.strip()!r} is not a channel of the configuration in force "
                        f"(defined: {known})",
                    )
                )
    return problems


def _expect_errors(
    data: dict[Any, Any], root: Node | None, file: str, expect: _Expect
) -> list[ConfigError]:
    problems = _expect_problems(data, expect)
    if not problems:
        return []
    locator = _Locator(root) if root is not None else None
    errors = []
    for path, message in problems:
        line = column = None
        if locator is not None:
            where, _, _ = locator.locate(path)
            line, column = where.start_mark.line + 1, where.start_mark.column + 1
        errors.append(ConfigError(message, file, line, column, format_path(path)))
    return errors


def _validate(
    data: Any,
    root: Node | None,
    file: str,
    structural: _Builder | None,
    expect: _Expect = _NO_EXPECT,
) -> Agreement:
    errors = list(structural.errors) if structural else []
    skip = structural.bad_paths if structural else []
    if errors and () in skip:
        raise _failed(errors, file)  # the document itself was refused (e.g. a python tag)
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
    errors.extend(_expect_errors(data, root, file, expect))
    try:
        agreement = Agreement.model_validate(data)
    except ValidationError as exc:
        errors.extend(_errors_from_validation(exc, root, file, skip))
        raise _failed(errors, file) from None
    if errors:
        raise _failed(errors, file)
    return agreement


def _load_nodes(root: Node, file: str, expect: _Expect = _NO_EXPECT) -> Agreement:
    builder = _Builder(file)
    data = builder.build(root)
    return _validate(data, root, file, builder, expect)


def _load_yaml(text: str, file: str, noun: str = "file", expect: _Expect = _NO_EXPECT) -> Agreement:
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
    return _load_nodes(root, file, expect)


class _TooManyDigits(Exception):
    """A JSON integer longer than :data:`MAX_INT_DIGITS`; the builder reports it, located."""


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooManyDigits
    return int(text)


def _load_json(text: str, file: str, expect: _Expect = _NO_EXPECT) -> Agreement:
    duplicates = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        result = dict(items)
        duplicates = duplicates or len(result) != len(items)
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            [ConfigError(f"JSON syntax error: {exc.msg}", file, exc.lineno, exc.colno)]
        ) from None
    except (RecursionError, _TooManyDigits):
        # Nested deeper than json's recursive reader goes, or a number to refuse with its
        # place: the composer below reads any depth and the builder reports both.
        data = None
    if data is not None and not duplicates:
        try:
            return _validate(data, None, file, None, expect)
        except ValidationFailed:
            pass  # only now pay for marks
    return _load_nodes(_JsonComposer(text, file).compose(), file, expect)


def _loaded(
    data: bytes,
    path: str | None,
    name: str,
    *,
    json_body: bool = False,
    noun: str = "file",
    expect: _Expect = _NO_EXPECT,
) -> LoadedAgreement:
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data), name, noun)
    text = _decode(data, name)
    if json_body:
        agreement = _load_json(text, name, expect)
    else:
        agreement = _load_yaml(text, name, noun, expect)
    return LoadedAgreement(agreement, path, hashlib.sha256(data).hexdigest(), text)


def load_file(path: str | Path, *, known_channels: Iterable[str] | None = None) -> LoadedAgreement:
    """Read and validate one agreement file.

    Raises :class:`ValidationFailed` with every error of the file (each ``file:line:col:
    path: message``; ``file`` is ``path`` as given). A file over :data:`MAX_FILE_BYTES` is
    refused from its size alone. The agreement's ``id`` must be the file's name without its
    suffix (``seeds/kr-jp-gsomia.yaml``: ``kr-jp-gsomia``). With ``known_channels`` (the
    channel names of the configuration in force), a ``channels`` entry naming any other is an
    error; None skips that check (library use without a configuration).
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
    expect = _Expect(Path(path).stem, _channel_set(known_channels))
    return _loaded(data, name, name, expect=expect)


def _channel_set(known_channels: Iterable[str] | None) -> frozenset[str] | None:
    return None if known_channels is None else frozenset(known_channels)


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


def load_paths(
    paths: Iterable[str | Path],
    *,
    known_channels: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[LoadedAgreement]:
    """Load files and folders (``*.yaml`` and ``*.yml`` found recursively, in sorted order),
    each as :func:`load_file` does (``known_channels`` as there); ``progress(done, total)``
    is called after each file.

    All or nothing: the errors of every file, plus one error per agreement id that appears in
    more than one file (naming both files), are raised together in one
    :class:`ValidationFailed`; nothing is returned unless every file is valid. A file named
    twice (directly and through its folder) is read once. ``progress`` is called with the
    number of files done and the total after each file.
    """
    errors: list[ConfigError] = []
    loaded: list[LoadedAgreement] = []
    seen_files: set[Path] = set()
    first_file: dict[str, LoadedAgreement] = {}
    channels = _channel_set(known_channels)
    items = list(_expand(paths))
    for done, item in enumerate(items, 1):
        if progress is not None:
            progress(done, len(items))
        if isinstance(item, ConfigError):
            errors.append(item)
            continue
        resolved = item.resolve()
        if resolved in seen_files:
            continue
        seen_files.add(resolved)
        try:
            result = load_file(item, known_channels=channels)
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
        where, _, _ = _Locator(root).locate(("id",))
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
    text: str | bytes,
    *,
    name: str = "<request>",
    content_type: str | None = None,
    known_channels: Iterable[str] | None = None,
) -> LoadedAgreement:
    """Validate an agreement given as text (an API body): YAML, or JSON when ``content_type``
    says so (``application/json``), with syntax errors worded for that format.

    Errors have the same ``name:line:col: path: message`` form as files; ``path`` of the
    result is None. ``known_channels`` as for :func:`load_file`; there is no file name for
    the id to match.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    json_body = content_type is not None and "json" in content_type.lower()
    expect = _Expect(None, _channel_set(known_channels))
    return _loaded(data, None, name, json_body=json_body, noun="document", expect=expect)


def agreement_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of agreement files, for ``tracker schema`` and editors."""
    schema = Agreement.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "Treaty tracker agreement file (format version 1)",
    }
