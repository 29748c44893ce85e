"""The agreement file format, version 1 (SPEC section 2), as pydantic models.

Unknown keys are errors everywhere (``extra="forbid"``). Validation here covers each field
and the consistency of a single agreement; the loader adds file/line/column to every error
and checks things that span files (duplicate ids).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker.domain.durations import Duration, DurationField, IsoDate

ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
_ID_RE = re.compile(ID_PATTERN)

FORMAT_VERSION = 1


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(StrictModel):
    """Where a rule or event comes from: an article citation, a URL, the quoted clause."""

    cite: str = Field(min_length=1, description="Article or paragraph, e.g. 'Art. 21(3)'.")
    url: str | None = None
    quote: str | None = None


class _RuleBase(StrictModel):
    label: str | None = Field(default=None, description="Short name shown with each deadline.")
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
    max_renewals: int | None = Field(default=None, ge=0, le=10_000)

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


class Effective(StrEnum):
    """When a withdrawal takes effect, counted from the date notice is given (N)."""

    SAME_DAY = "same_day"  # N + notice
    DAY_AFTER = "day_after"  # N + notice + 1 day (Energy Charter Treaty Art. 47(2))
    FIRST_OF_NEXT_MONTH = "first_of_next_month"  # 1st of the month after N + notice (CoE)
    END_OF_FOLLOWING_YEAR = "end_of_following_year"  # 31 Dec of year(N) + 1 (UNESCO)


class Withdrawal(_RuleBase):
    """A party may withdraw by notice; it takes effect by the ``effective`` convention."""

    kind: Literal["withdrawal"]
    notice: DurationField | None = None
    effective: Effective = Effective.SAME_DAY
    earliest_notice: IsoDate | DurationField | None = Field(
        default=None, description="A date, or a duration after `in_force`."
    )

    @model_validator(mode="after")
    def _check_notice(self) -> Withdrawal:
        if self.notice is None and self.effective != Effective.END_OF_FOLLOWING_YEAR:
            raise ValueError("notice is required unless effective is end_of_following_year")
        return self


class Recurring(_RuleBase):
    """Something that happens every ``every`` from ``first`` (a review, a report, a meeting)."""

    kind: Literal["recurring"]
    label: str = Field(min_length=1)
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
    label: str = Field(min_length=1)
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


class Event(StrictModel):
    """Something that happened: a notice, its suspension or retraction, an extension, an end."""

    date: IsoDate
    type: EventType
    party: str | None = None
    note: str | None = None
    source: int | str | None = None
    until: IsoDate | None = Field(default=None, description="New expiry, for `extended`.")

    @model_validator(mode="after")
    def _check_until(self) -> Event:
        if self.type == EventType.EXTENDED and self.until is None:
            raise ValueError("an `extended` event needs `until` (the new expiry date)")
        if self.type != EventType.EXTENDED and self.until is not None:
            raise ValueError("`until` belongs only to `extended` events")
        return self


class Agreement(StrictModel):
    """One agreement file (format version 1)."""

    version: Literal[1] = Field(description="Format version; must be 1.")
    id: str = Field(pattern=ID_PATTERN, description="Lowercase letters, digits and '-'.")
    title: str = Field(min_length=1)
    parties: list[str] = Field(min_length=1)
    signed: IsoDate | None = None
    in_force: IsoDate | None = None
    timezone: str | None = Field(default=None, description="IANA zone, e.g. Asia/Seoul.")
    tags: list[str] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)
    events: list[Event] = Field(default_factory=list)
    reminders: list[DurationField] | None = None
    channels: list[str] | None = None

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
            needs_in_force = (isinstance(rule, Milestone) and rule.after is not None) or (
                isinstance(rule, Withdrawal) and isinstance(rule.earliest_notice, Duration)
            )
            if needs_in_force and self.in_force is None:
                problems.append(f"rules[{i}]: a duration after entry into force needs `in_force`")
        for i, event in enumerate(self.events):
            check(event.source, f"events[{i}]")
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


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))
