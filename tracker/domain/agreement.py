"""The agreement file format, version 1 (SPEC section 2), as pydantic models.

Unknown keys are errors everywhere (``extra="forbid"``). Validation here covers each field
and the consistency of a single agreement; the loader adds file/line/column to every error
and checks things that span files (duplicate ids).

Everything an agreement may contain is decided here, once, for every door (files, the API,
folder sync) and every database:

* Text: no control characters (one-line fields none at all, ``quote`` and ``note`` may hold
  tabs and line breaks). PostgreSQL cannot store NUL, and a line break in a label would end up
  in an email header.
* Lengths and counts (the ``MAX_*`` constants): every value fits its database column whole
  (:mod:`tracker.store.tables`), and the work one document can cause is bounded (offsets ×
  channels is the number of reminders per deadline).
* Dates: every date the engine derives from the document's fixed values (an expiry minus its
  notice, a start plus its term, a notice plus its period ...) lies within 0001-01-01 ..
  9999-12-31, so whatever passes validation computes without error. Open-ended series
  (renewals, recurring dates) are not refused: the engine stops them at 9999-12-31.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tracker.domain.durations import (
    DATE_RANGE_TEXT,
    Duration,
    DurationField,
    IsoDate,
    last_index_within,
    shift,
    shift_within,
)
from tracker.domain.monthday import (
    MONTH_DAY_PATTERN,
    MonthDay,
    MonthDayField,
    parse_month_day,
)

ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
_ID_RE = re.compile(ID_PATTERN)

FORMAT_VERSION = 1

# --- limits ----------------------------------------------------------------------------
# Lengths are in characters. Those marked "column" are the width of a VARCHAR column that
# holds the value (PostgreSQL enforces it; SQLite would not), the others keep a document
# readable and its work bounded.

MAX_TITLE_CHARS = 500
MAX_LABEL_CHARS = 200
MAX_PARTY_CHARS = 100  # column: events.party, deadlines.party, reminders.party
MAX_TAG_CHARS = 50
MAX_CITE_CHARS = 200
MAX_URL_CHARS = 2000
MAX_QUOTE_CHARS = 10_000
MAX_NOTE_CHARS = 2000
MAX_CHANNEL_CHARS = 100  # column: reminders.channel
MAX_TIMEZONE_CHARS = 100
MAX_PARTIES = 300  # the most widely joined treaties have about 200 parties
MAX_TAGS = 30  # with MAX_TAG_CHARS: ",tag,...," fits the 2,000-character tags columns
MAX_SOURCES = 100
MAX_RULES = 50
MAX_EVENTS = 1000
MAX_REMINDERS = 20  # offsets; × channels = reminders per deadline
MAX_CHANNELS = 10
MAX_RENEWALS = 10_000

# --- text ------------------------------------------------------------------------------

# Written as escapes that Python's re and ECMA-262 (JSON Schema) read alike.
_LINE_REFUSED = r"\x00-\x1f\x7f-\x9f\u2028\u2029"  # C0, DEL, C1, Unicode line breaks
_TEXT_REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # the same, but tab, LF, CR pass
_LINE_BAD = re.compile(f"[{_LINE_REFUSED}]")
_TEXT_BAD = re.compile(f"[{_TEXT_REFUSED}]")
#: JSON Schema (ECMA-262) patterns saying the same as the checks below.
LINE_PATTERN = f"^[^{_LINE_REFUSED}]*$"
TEXT_PATTERN = f"^[^{_TEXT_REFUSED}]*$"

_CHARACTER_NAMES = {
    "\x00": "a NUL character (U+0000)",
    "\t": "a tab (U+0009)",
    "\n": "a line break (U+000A)",
    "\r": "a carriage return (U+000D)",
    "\x85": "a line break (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}


def _character_name(char: str) -> str:
    return _CHARACTER_NAMES.get(char, f"the control character U+{ord(char):04X}")


def _check_line(value: str) -> str:
    bad = _LINE_BAD.search(value)
    if bad is not None:
        raise PydanticCustomError(
            "control_character",
            "{name} at character {position} is not allowed: write one line of printable text",
            {"name": _character_name(bad.group()), "position": bad.start() + 1},
        )
    return value


def _check_text(value: str) -> str:
    bad = _TEXT_BAD.search(value)
    if bad is not None:
        raise PydanticCustomError(
            "control_character",
            "{name} at character {position} is not allowed: write printable text "
            "(tabs and line breaks are fine)",
            {"name": _character_name(bad.group()), "position": bad.start() + 1},
        )
    return value


def _string_schema(*, min_length: int, max_length: int, pattern: str) -> WithJsonSchema:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length, "pattern": pattern}
    if min_length:
        schema["minLength"] = min_length
    return WithJsonSchema(schema)


def _length(max_length: int, *, min_length: int = 1) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length)


def _line_schema(max_length: int) -> WithJsonSchema:
    return _string_schema(min_length=1, max_length=max_length, pattern=LINE_PATTERN)


_LINE = AfterValidator(_check_line)
Title = Annotated[str, _length(MAX_TITLE_CHARS), _LINE, _line_schema(MAX_TITLE_CHARS)]
Label = Annotated[str, _length(MAX_LABEL_CHARS), _LINE, _line_schema(MAX_LABEL_CHARS)]
Party = Annotated[str, _length(MAX_PARTY_CHARS), _LINE, _line_schema(MAX_PARTY_CHARS)]
Cite = Annotated[str, _length(MAX_CITE_CHARS), _LINE, _line_schema(MAX_CITE_CHARS)]
ChannelName = Annotated[str, _length(MAX_CHANNEL_CHARS), _LINE, _line_schema(MAX_CHANNEL_CHARS)]
TimeZoneName = Annotated[str, _length(MAX_TIMEZONE_CHARS), _LINE, _line_schema(MAX_TIMEZONE_CHARS)]
Quote = Annotated[
    str,
    StringConstraints(max_length=MAX_QUOTE_CHARS),
    AfterValidator(_check_text),
    _string_schema(min_length=0, max_length=MAX_QUOTE_CHARS, pattern=TEXT_PATTERN),
]
Note = Annotated[
    str,
    StringConstraints(max_length=MAX_NOTE_CHARS),
    AfterValidator(_check_text),
    _string_schema(min_length=0, max_length=MAX_NOTE_CHARS, pattern=TEXT_PATTERN),
]


def _check_tag(value: str) -> str:
    _check_line(value)
    if "," in value:
        # The tags column is ",a,b," and filters match ",tag,": a comma would split the tag.
        raise PydanticCustomError(
            "tag_comma",
            "{tag} contains a comma: write each tag as its own list item",
            {"tag": repr(value)},
        )
    return value


TAG_PATTERN = f"^[^{_LINE_REFUSED},]*$"
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TAG_CHARS),
    AfterValidator(_check_tag),
    _string_schema(min_length=1, max_length=MAX_TAG_CHARS, pattern=TAG_PATTERN),
]

# Links on the agreement page: web pages and mail only (never javascript:, data:, file:).
_URL = re.compile(r"^(?:https?://[^\s/?#]+[^\s]*|mailto:[^\s]+)$", re.IGNORECASE)


def _any_case(word: str) -> str:
    # ECMA-262 patterns have no case-insensitive flag; URL schemes are case-insensitive.
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


URL_PATTERN = rf"^(?:{_any_case('http')}[sS]?://[^\s/?#]+[^\s]*|{_any_case('mailto')}:[^\s]+)$"


def _check_url(value: str) -> str:
    _check_line(value)
    if _URL.match(value) is None:
        raise PydanticCustomError(
            "url_scheme",
            "{url} is not a web or mail link: write an http://, https:// or mailto: URL "
            "(e.g. 'https://example.org/treaty-text')",
            {"url": repr(value) if len(value) <= 60 else repr(value[:57] + "...")},
        )
    return value


Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_CHARS),
    AfterValidator(_check_url),
    _string_schema(min_length=1, max_length=MAX_URL_CHARS, pattern=URL_PATTERN),
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(StrictModel):
    """Where a rule or event comes from: an article citation, a URL, the quoted clause."""

    cite: Cite = Field(description="Article or paragraph, e.g. 'Art. 21(3)'.")
    url: Url | None = Field(default=None, description="An http, https or mailto link.")
    quote: Quote | None = None


class _RuleBase(StrictModel):
    label: Label | None = Field(default=None, description="Short name shown with each deadline.")
    source: int | str | None = Field(
        default=None, description="Index into `sources` (0-based) or one of their `cite`s."
    )


class AutoRenewal(_RuleBase):
    """A term renewed automatically unless notice is given by ``expiry − notice``."""

    kind: Literal["auto_renewal"]
    first_expiry: IsoDate | None = None
    start: IsoDate | None = None
    term: DurationField | None = None
    renewal_term: DurationField | None = None
    notice: DurationField
    notice_window: DurationField | None = None
    max_renewals: int | None = Field(default=None, ge=0, le=MAX_RENEWALS)

    @model_validator(mode="after")
    def _check_anchor(self) -> AutoRenewal:
        if self.first_expiry is None and (self.start is None or self.term is None):
            raise ValueError("give either first_expiry, or start and term")
        if self.first_expiry is not None and self.start is not None:
            raise ValueError("give either first_expiry, or start and term, not both")
        if self.renewal_term is None and self.term is None:
            raise ValueError("renewal_term is required when term is not given")
        step = self.renewal_term or self.term
        if step is not None and step.months == 0 and step.days == 0:
            raise ValueError("renewal_term must be longer than 0 days")
        if (
            self.notice_window is not None
            and self.notice_window.approx_days() < self.notice.approx_days()
        ):
            raise ValueError("notice_window must be at least as long as notice")
        return self

    @property
    def step(self) -> Duration:
        """The renewal term (``renewal_term``, defaulting to ``term``)."""
        step = self.renewal_term or self.term
        assert step is not None  # checked by the validator
        return step

    @property
    def anchor(self) -> date:
        """The first expiry: ``first_expiry``, or ``start + term`` (the anniversary)."""
        if self.first_expiry is not None:
            return self.first_expiry
        assert self.start is not None and self.term is not None  # checked by the validator
        return shift(self.start, self.term)


class FixedTerm(_RuleBase):
    """A term that ends on a date; optionally a decision deadline ``notice`` before it."""

    kind: Literal["fixed_term"]
    expires: IsoDate | None = None
    start: IsoDate | None = None
    term: DurationField | None = None
    notice: DurationField | None = None

    @model_validator(mode="after")
    def _check_anchor(self) -> FixedTerm:
        if self.expires is None and (self.start is None or self.term is None):
            raise ValueError("give either expires, or start and term")
        if self.expires is not None and self.start is not None:
            raise ValueError("give either expires, or start and term, not both")
        return self

    @property
    def expiry(self) -> date:
        """``expires``, or ``start + term`` (the anniversary)."""
        if self.expires is not None:
            return self.expires
        assert self.start is not None and self.term is not None  # checked by the validator
        return shift(self.start, self.term)


class Effective(StrEnum):
    """When a withdrawal takes effect, counted from the date notice is given (N)."""

    SAME_DAY = "same_day"  # N + notice
    DAY_AFTER = "day_after"  # N + notice + 1 day (Energy Charter Treaty Art. 47(2))
    FIRST_OF_NEXT_MONTH = "first_of_next_month"  # 1st of the month after N + notice (CoE)
    END_OF_FOLLOWING_YEAR = "end_of_following_year"  # 31 Dec of year(N) + 1 (UNESCO)


@dataclass(frozen=True, slots=True)
class YearlyEffective:
    """``effective: MM-DD`` (with ``notice_by``: the first such day strictly after the
    ``notice_by`` day the notice counts toward) or ``effective: next MM-DD`` (the first such day
    strictly after notice + period: "1 January next following the expiry of six months")."""

    day: MonthDay
    next: bool

    def __str__(self) -> str:
        return f"next {self.day}" if self.next else str(self.day)

    @property
    def value(self) -> str:
        """The convention as written, as :class:`Effective` members give it."""
        return str(self)


_YEARLY_EFFECTIVE = re.compile(r"(next )?(\d{2}-\d{2})")
_EFFECTIVE_EXPECTED = ", ".join([*(e.value for e in Effective), "MM-DD", "next MM-DD"])


def _validate_effective(value: Any) -> Effective | YearlyEffective:
    if isinstance(value, Effective | YearlyEffective):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return Effective(text)
        except ValueError:
            pass
        yearly = _YEARLY_EFFECTIVE.fullmatch(text)
        if yearly is not None:
            try:
                day = parse_month_day(yearly.group(2))
            except ValueError as exc:
                raise PydanticCustomError("month_day", "{message}", {"message": str(exc)}) from None
            return YearlyEffective(day, yearly.group(1) is not None)
    raise PydanticCustomError(
        "effective",
        "{value} is not a known effective convention (expected one of: {expected})",
        {"value": repr(value), "expected": _EFFECTIVE_EXPECTED},
    )


EffectiveField = Annotated[
    Effective | YearlyEffective,
    PlainValidator(_validate_effective),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": [e.value for e in Effective]},
                {"type": "string", "pattern": f"^(?:next )?{MONTH_DAY_PATTERN}$"},
            ],
            "description": (
                "same_day, day_after, first_of_next_month, end_of_following_year; MM-DD "
                "(with notice_by); or 'next MM-DD' (the first such day after notice + period)."
            ),
            "default": Effective.SAME_DAY.value,
        }
    ),
]


class Windows(StrictModel):
    """Denunciation windows: window k opens on ``first + k × every`` (from the anchor, never
    chained) and its last day is that date + ``length`` − 1 day."""

    first: IsoDate | DurationField = Field(
        description="The first window opens on this date, or this long after `in_force`."
    )
    every: DurationField
    length: DurationField

    @model_validator(mode="after")
    def _check_lengths(self) -> Windows:
        if self.every.months == 0 and self.every.days == 0:
            raise ValueError("windows.every must be longer than 0 days")
        if self.length.months == 0 and self.length.days == 0:
            raise ValueError("windows.length must be longer than 0 days")
        if self.length.approx_days() > self.every.approx_days():
            raise ValueError("windows.length must not be longer than windows.every")
        return self


class Withdrawal(_RuleBase):
    """A party may withdraw by notice; it takes effect by the ``effective`` convention."""

    kind: Literal["withdrawal"]
    notice: DurationField | None = None
    effective: EffectiveField = Effective.SAME_DAY
    notice_by: MonthDayField | None = Field(
        default=None,
        description="Notice counts toward the first such day (MM-DD) on or after it is given.",
    )
    windows: Windows | None = None
    earliest_notice: IsoDate | DurationField | None = Field(
        default=None, description="A date, or a duration after `in_force`."
    )
    not_before: IsoDate | DurationField | None = Field(
        default=None,
        description="The withdrawal never takes effect earlier: a date, or a duration after "
        "`in_force`.",
    )

    @model_validator(mode="after")
    def _check_notice(self) -> Withdrawal:
        problem = _withdrawal_shape_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    def counts_toward(self, given: date) -> date:
        """With ``notice_by``: the first ``notice_by`` day on or after ``given`` (``given``
        itself when it is that day). Raises OverflowError past 9999-12-31."""
        assert self.notice_by is not None
        return self.notice_by.on_or_after(given)

    def takes_effect(self, given: date) -> tuple[date, date]:
        """(the date the effect is counted from, the day the withdrawal takes effect) for a
        notice given (or resumed) on ``given``, by the rule's own terms (``not_before`` and an
        event's ``effective_on`` are applied by the engine). The first is notice + period, or
        with ``notice_by`` the ``notice_by`` day the notice counts toward. Validation makes
        sure both exist for every notice recorded."""
        effective = self.effective
        if isinstance(effective, YearlyEffective):
            if self.notice_by is not None:
                counted = self.counts_toward(given)
                return counted, effective.day.after(counted)
            base = shift(given, self.notice) if self.notice is not None else given
            return base, effective.day.after(base)
        base = shift(given, self.notice) if self.notice is not None else given
        if effective == Effective.SAME_DAY:
            return base, base
        if effective == Effective.DAY_AFTER:
            return base, base + timedelta(days=1)
        if effective == Effective.FIRST_OF_NEXT_MONTH:
            if base.month == 12:
                return base, date(base.year + 1, 1, 1)
            return base, date(base.year, base.month + 1, 1)
        return base, date(base.year + 1, 12, 31)

    def not_before_date(self, in_force: date | None) -> date | None:
        """``not_before`` as a date (a duration counts from ``in_force``); None without one."""
        if self.not_before is None or isinstance(self.not_before, date):
            return self.not_before
        if in_force is None:
            return None  # the agreement's validator requires in_force
        return shift(in_force, self.not_before)


def _withdrawal_shape_problem(rule: Withdrawal) -> str:
    """What is inconsistent about the fields of ``rule``; "" when nothing."""
    effective = rule.effective
    if rule.notice_by is not None:
        if rule.windows is not None:
            return "give notice_by or windows, not both"
        if rule.notice is not None:
            return "with notice_by, omit notice: a notice counts toward the next notice_by day"
        if not isinstance(effective, YearlyEffective) or effective.next:
            return "with notice_by, effective must be a day of the year (MM-DD, e.g. '01-01')"
        return ""
    if isinstance(effective, YearlyEffective):
        if not effective.next:
            return (
                f"effective: {effective} needs notice_by (or write 'next {effective}' with a "
                "notice period)"
            )
        if rule.notice is None:
            return f"effective: {effective} needs a notice period (notice)"
        return ""
    if rule.notice is None and effective != Effective.END_OF_FOLLOWING_YEAR:
        return "notice is required unless effective is end_of_following_year or notice_by is given"
    return ""


class Recurring(_RuleBase):
    """Something that happens every ``every`` from ``first`` (a review, a report, a meeting)."""

    kind: Literal["recurring"]
    label: Label
    first: IsoDate
    every: DurationField
    until: IsoDate | None = None

    @model_validator(mode="after")
    def _check_every(self) -> Recurring:
        if self.every.months == 0 and self.every.days == 0:
            raise ValueError("every must be longer than 0 days")
        if self.until is not None and self.until < self.first:
            raise ValueError("until must not be before first")
        return self


class Milestone(_RuleBase):
    """A single dated event: ``date``, or ``after`` a duration from ``in_force``."""

    kind: Literal["milestone"]
    label: Label
    date: IsoDate | None = None
    after: DurationField | None = None

    @model_validator(mode="after")
    def _check_when(self) -> Milestone:
        if (self.date is None) == (self.after is None):
            raise ValueError("give exactly one of date or after")
        return self


class Survival(_RuleBase):
    """Obligations that survive the end (of the agreement or a party's participation)."""

    kind: Literal["survival"]
    period: DurationField


Rule = Annotated[
    AutoRenewal | FixedTerm | Withdrawal | Recurring | Milestone | Survival,
    Field(discriminator="kind"),
]
RULE_KINDS = ("auto_renewal", "fixed_term", "withdrawal", "recurring", "milestone", "survival")


class EventType(StrEnum):
    NOTICE_GIVEN = "notice_given"
    NOTICE_SUSPENDED = "notice_suspended"
    NOTICE_RESUMED = "notice_resumed"
    NOTICE_WITHDRAWN = "notice_withdrawn"
    EXTENDED = "extended"
    TERMINATED = "terminated"
    REJOINED = "rejoined"
    SUSPENDED = "suspended"
    SUSPENSION_LIFTED = "suspension_lifted"
    CEASED = "ceased"


#: Event types that name the party they concern, always.
_NEEDS_PARTY = (EventType.REJOINED, EventType.CEASED)


class Event(StrictModel):
    """Something that happened: a notice, its suspension or retraction, an extension, an end,
    a re-joining, a suspension of obligations, a party ceasing to be one."""

    date: IsoDate
    type: EventType
    party: Party | None = None
    note: Note | None = None
    source: int | str | None = None
    until: IsoDate | None = Field(default=None, description="New expiry, for `extended`.")
    effective_on: IsoDate | None = Field(
        default=None,
        description="A later date the notice names for its effect, for `notice_given`.",
    )

    @model_validator(mode="after")
    def _check_until(self) -> Event:
        if self.type == EventType.EXTENDED and self.until is None:
            raise ValueError("an `extended` event needs `until` (the new expiry date)")
        if self.type != EventType.EXTENDED and self.until is not None:
            raise ValueError("`until` belongs only to `extended` events")
        if self.effective_on is not None and self.type != EventType.NOTICE_GIVEN:
            raise ValueError("`effective_on` belongs only to `notice_given` events")
        if self.type in _NEEDS_PARTY and self.party is None:
            raise ValueError(f"a `{self.type.value}` event needs `party` (who it concerns)")
        return self


class Agreement(StrictModel):
    """One agreement file (format version 1)."""

    version: Literal[1] = Field(description="Format version; must be 1.")
    id: str = Field(pattern=ID_PATTERN, description="Lowercase letters, digits and '-'.")
    title: Title
    parties: list[Party] = Field(min_length=1, max_length=MAX_PARTIES)
    signed: IsoDate | None = None
    in_force: IsoDate | None = None
    in_force_for: dict[Party, IsoDate] | None = Field(
        default=None,
        max_length=MAX_PARTIES,
        description="Entry into force for particular parties, e.g. {CA: 1996-03-20}.",
    )
    timezone: TimeZoneName | None = Field(default=None, description="IANA zone, e.g. Asia/Seoul.")
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    sources: list[Source] = Field(default_factory=list, max_length=MAX_SOURCES)
    rules: list[Rule] = Field(min_length=1, max_length=MAX_RULES)
    events: list[Event] = Field(default_factory=list, max_length=MAX_EVENTS)
    reminders: list[DurationField] | None = Field(default=None, max_length=MAX_REMINDERS)
    channels: list[ChannelName] | None = Field(default=None, max_length=MAX_CHANNELS)

    @field_validator("version", mode="before")
    @classmethod
    def _check_version(cls, value: Any) -> Any:
        # ``type(...) is int``: true and 1.0 equal 1 in Python, but are not a version number.
        if type(value) is not int or value != FORMAT_VERSION:
            raise ValueError(f"unsupported format version {value!r} (this tracker reads version 1)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone (examples: 'Europe/Berlin', 'Asia/Seoul')"
            ) from None
        return value

    @model_validator(mode="after")
    def _check_references(self) -> Agreement:
        cites = {s.cite for s in self.sources}
        problems: list[str] = []

        def check(ref: int | str | None, where: str) -> None:
            if ref is None:
                return
            if isinstance(ref, int):
                if not 0 <= ref < len(self.sources):
                    problems.append(f"{where}.source: index {ref} is not in sources")
            elif ref not in cites:
                problems.append(f"{where}.source: {ref!r} is not the cite of any source")

        for i, rule in enumerate(self.rules):
            check(rule.source, f"rules[{i}]")
            if _needs_in_force(rule) and self.in_force is None:
                problems.append(f"rules[{i}]: a duration after entry into force needs `in_force`")
        for i, event in enumerate(self.events):
            check(event.source, f"events[{i}]")
        problems.extend(_order_problems(self))
        if not problems:  # the date checks rely on the references being sound
            problems.extend(_date_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def source_cite(self, ref: int | str | None) -> str | None:
        """The ``cite`` a rule or event points at, or None."""
        if ref is None:
            return None
        if isinstance(ref, int):
            return self.sources[ref].cite if 0 <= ref < len(self.sources) else None
        return ref


def _needs_in_force(rule: Rule) -> bool:
    """Whether ``rule`` counts a duration from ``in_force``."""
    if isinstance(rule, Milestone):
        return rule.after is not None
    if not isinstance(rule, Withdrawal):
        return False
    counted = [rule.earliest_notice, rule.not_before]
    if rule.windows is not None:
        counted.append(rule.windows.first)
    return any(isinstance(value, Duration) for value in counted)


def _order_problems(agreement: Agreement) -> list[str]:
    """Dates out of order: ``signed`` after ``in_force``, an event before the agreement
    existed (before ``in_force``, or before ``signed`` without it), a party's own entry into
    force before the agreement's or for someone who is not a party."""
    problems: list[str] = []
    signed, in_force = agreement.signed, agreement.in_force
    if signed is not None and in_force is not None and signed > in_force:
        problems.append(
            f"signed: {signed} is after in_force {in_force}: an agreement is signed before or "
            "when it enters into force"
        )
    start, name = (in_force, "in_force") if in_force is not None else (signed, "signed")
    if start is not None:
        for i, event in enumerate(agreement.events):
            if event.date < start:
                problems.append(
                    f"events[{i}].date: {event.date} is before {name} {start}: nothing can "
                    "happen under an agreement before it exists"
                )
    parties = set(agreement.parties)
    for party, day in (agreement.in_force_for or {}).items():
        if party not in parties:
            problems.append(f"in_force_for: {party!r} is not one of the parties")
        elif in_force is not None and day < in_force:
            problems.append(
                f"in_force_for: {party} {day} is before in_force {in_force}: a party's own "
                "entry into force is on or after the agreement's"
            )
    return problems


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


# --- dates within 0001-01-01..9999-12-31 -------------------------------------------------


def _after_last_day(arithmetic: str, hint: str = "") -> str:
    return f"{arithmetic} falls after 9999-12-31: {DATE_RANGE_TEXT}{hint}"


def _before_first_day(arithmetic: str) -> str:
    return f"{arithmetic} falls before 0001-01-01: {DATE_RANGE_TEXT}"


def _date_problems(agreement: Agreement) -> list[str]:
    """``path: message`` for every date the engine would derive from fixed values of
    ``agreement`` outside 0001-01-01..9999-12-31.

    Checked: start + term, expiry − notice and − notice_window (also after an extension),
    the final expiry under max_renewals, in_force + after, in_force + earliest_notice, the
    effect of every notice recorded under every withdrawal rule, and each of those ends +
    a survival period. Not checked, because the engine stops them at 9999-12-31 instead:
    the terms of a renewal series and the dates of a recurring rule, which never end.
    Linear in the size of the document (each event is checked once per rule).
    """
    problems: list[str] = []
    # Dates on which the agreement, or a party's participation, ends for certain; a
    # survival period counts from each. (date, what it is: formatted only into a message)
    ends: list[tuple[date, str]] = []
    extensions = [
        (j, event.until)
        for j, event in enumerate(agreement.events)
        if event.type == EventType.EXTENDED and event.until is not None
    ]
    notices = [
        (j, event.date)
        for j, event in enumerate(agreement.events)
        if event.type in (EventType.NOTICE_GIVEN, EventType.NOTICE_RESUMED)
    ]
    refused_notices: set[int] = set()
    for i, rule in enumerate(agreement.rules):
        where = f"rules[{i}]"
        if isinstance(rule, AutoRenewal | FixedTerm):
            _term_problems(rule, where, extensions, problems, ends)
        elif isinstance(rule, Milestone):
            problems.extend(_milestone_problems(agreement, rule, where))
        elif isinstance(rule, Withdrawal):
            _withdrawal_problems(agreement, rule, where, notices, refused_notices, problems, ends)
    ends.extend(
        (event.date, "the termination" if event.type == EventType.TERMINATED else "ceased")
        for event in agreement.events
        if event.type in (EventType.TERMINATED, EventType.CEASED)
    )
    for i, rule in enumerate(agreement.rules):
        if isinstance(rule, Survival):
            problems.extend(_survival_problems(rule, f"rules[{i}]", ends))
    return problems


def _milestone_problems(agreement: Agreement, rule: Milestone, where: str) -> list[str]:
    """in_force + after, for a milestone given that way."""
    if rule.after is None:
        return []
    assert agreement.in_force is not None  # checked with the references
    if shift_within(agreement.in_force, rule.after) is None:
        arithmetic = f"in force {agreement.in_force} + {rule.after}"
        return [f"{where}.after: {_after_last_day(arithmetic)}"]
    return []


def _term_problems(
    rule: AutoRenewal | FixedTerm,
    where: str,
    extensions: list[tuple[int, date]],
    problems: list[str],
    ends: list[tuple[date, str]],
) -> None:
    """A renewal or fixed term: its (first) expiry, each lead before it and before every
    extended expiry, and the final expiry under max_renewals. Adds the ends it fixes."""
    expiry: date | None
    if isinstance(rule, AutoRenewal):
        expiry, name = rule.first_expiry, "first expiry"
    else:
        expiry, name = rule.expires, "expiry"
    if expiry is None:
        assert rule.start is not None and rule.term is not None  # rule validator
        expiry = shift_within(rule.start, rule.term)
        if expiry is None:
            problems.append(f"{where}.term: {_after_last_day(f'start {rule.start} + {rule.term}')}")
            return
    leads = [("notice", rule.notice)]
    if isinstance(rule, AutoRenewal):
        leads.append(("notice_window", rule.notice_window))
    for field, lead in leads:
        if lead is not None:
            problems.extend(_lead_problems(where, field, name, expiry, lead, extensions))
    if isinstance(rule, FixedTerm):
        ends.append((expiry, "the expiry"))
        ends.extend((until, "the extended expiry") for _, until in extensions)
    elif rule.max_renewals is not None:
        final = shift_within(expiry, rule.step, times=rule.max_renewals)
        if final is None:
            arithmetic = f"the final expiry {expiry} + {rule.max_renewals} × {rule.step}"
            hint = f" (at most {last_index_within(expiry, rule.step)} renewals fit)"
            problems.append(f"{where}.max_renewals: {_after_last_day(arithmetic, hint)}")
        else:
            ends.append((final, "the final expiry"))


def _lead_problems(
    where: str,
    field: str,
    name: str,
    expiry: date,
    lead: Duration,
    extensions: list[tuple[int, date]],
) -> list[str]:
    """The lead ``field`` (notice, notice_window) before ``expiry`` (called ``name``: "first
    expiry") and before every extended expiry, where it falls before 0001-01-01."""
    problems = []
    if shift_within(expiry, lead, times=-1) is None:
        problems.append(f"{where}.{field}: {_before_first_day(f'{name} {expiry} − {lead}')}")
    for j, until in extensions:
        if shift_within(until, lead, times=-1) is None:
            arithmetic = f"the extended expiry {until} − {lead} ({where}.{field})"
            problems.append(f"events[{j}].until: {_before_first_day(arithmetic)}")
    return problems


def _withdrawal_problems(
    agreement: Agreement,
    rule: Withdrawal,
    where: str,
    notices: list[tuple[int, date]],
    refused_notices: set[int],
    problems: list[str],
    ends: list[tuple[date, str]],
) -> None:
    """in_force + earliest_notice, and the effect of every recorded notice (each notice
    refused once, under the first rule it overflows). Adds the withdrawal dates as ends."""
    problems.extend(_counted_from_in_force_problems(agreement, rule, where))
    for j, given in notices:
        try:
            _, day = rule.takes_effect(given)
        except (OverflowError, ValueError):
            if j not in refused_notices:
                refused_notices.add(j)
                if rule.notice_by is not None:
                    period = f"notice_by {rule.notice_by}"
                else:
                    period = str(rule.notice or "no notice period")
                arithmetic = (
                    f"withdrawal by notice {given} under {where} ({period}, "
                    f"effective: {rule.effective.value})"
                )
                problems.append(f"events[{j}].date: {_after_last_day(arithmetic)}")
            continue
        ends.append((day, "the withdrawal effective"))


def _counted_from_in_force_problems(
    agreement: Agreement, rule: Withdrawal, where: str
) -> list[str]:
    """Durations of ``rule`` counted from ``in_force`` (and from each party's own entry into
    force and each re-joining, for ``earliest_notice``) that leave the calendar, and the end
    of the first denunciation window."""
    problems: list[str] = []
    in_force = agreement.in_force
    starts: list[tuple[str, date]] = []
    if in_force is not None:
        starts.append(("in force", in_force))
    starts.extend((f"in force for {p}", d) for p, d in (agreement.in_force_for or {}).items())
    starts.extend(
        (f"rejoined by {e.party}", e.date) for e in agreement.events if e.type == EventType.REJOINED
    )
    if isinstance(rule.earliest_notice, Duration):
        for name, start in starts:
            if shift_within(start, rule.earliest_notice) is None:
                arithmetic = f"{name} {start} + {rule.earliest_notice}"
                problems.append(f"{where}.earliest_notice: {_after_last_day(arithmetic)}")
                break
    not_before = rule.not_before
    if isinstance(not_before, Duration) and in_force and shift_within(in_force, not_before) is None:
        arithmetic = f"in force {in_force} + {not_before}"
        problems.append(f"{where}.not_before: {_after_last_day(arithmetic)}")
    windows = rule.windows
    if windows is not None:
        first: date | None = windows.first if isinstance(windows.first, date) else None
        if isinstance(windows.first, Duration) and in_force is not None:
            first = shift_within(in_force, windows.first)
            if first is None:
                arithmetic = f"in force {in_force} + {windows.first}"
                problems.append(f"{where}.windows.first: {_after_last_day(arithmetic)}")
        if first is not None and shift_within(first, windows.length) is None:
            arithmetic = f"the first window {first} + {windows.length}"
            problems.append(f"{where}.windows.length: {_after_last_day(arithmetic)}")
    return problems


def _survival_problems(rule: Survival, where: str, ends: list[tuple[date, str]]) -> list[str]:
    """The survival period after the first end it would carry past 9999-12-31 (one message
    per rule is enough to see what to change)."""
    for day, what in ends:
        if shift_within(day, rule.period) is None:
            return [f"{where}.period: {_after_last_day(f'{what} {day} + {rule.period}')}"]
    return []
