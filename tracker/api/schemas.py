"""Response and request bodies of the JSON API (documented in the OpenAPI schema).

Deadlines are the objects of SPEC 2.4, the same as ``tracker deadlines --format json``.
List responses are ``{"data": [...], "count": N}`` where ``count`` is the total number of
matches, not the length of this page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tracker.domain.agreement import ID_PATTERN
from tracker.domain.deadline import Deadline

#: A tag in a query: no control characters and no commas (tags are stored comma-separated).
TAG_PATTERN = r"^[^\x00-\x1f\x7f,]+$"


TagStr = Annotated[str, StringConstraints(pattern=TAG_PATTERN, min_length=1, max_length=100)]
AgreementIdStr = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=100)]
#: An agreement id in a filter: any text, so that one that names no agreement (``UNKNOWN``)
#: is answered "no agreement 'UNKNOWN' exists" (404) rather than a pattern mismatch.
AgreementFilterStr = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(_Out):
    detail: str | list[str] = Field(
        description="A message, or for invalid input the list of file-style messages "
        "(`<request>:7:5: rules[0].notice: ...`)."
    )


class DeadlineOut(_Out):
    agreement: str
    title: str
    kind: str
    date: date
    party: str | None
    label: str | None
    days_left: int
    explanation: str
    source: str | None
    action: Literal["act_by", "act_from", "info"] = Field(
        description="act_by: the last day to act; act_from: the first day one may act; "
        "info: something happens by itself."
    )
    outcome: Literal["renews", "ends"] | None = Field(
        description="For an expiry: whether the agreement renews there or ends; else null."
    )
    weekday_note: str | None

    @classmethod
    def of(cls, deadline: Deadline) -> DeadlineOut:
        return cls.model_validate(deadline.to_dict())


class AgreementErrorOut(_Out):
    agreement: str = Field(description="Id of the agreement whose deadlines are missing.")
    detail: str = Field(description="Why its deadlines could not be computed.")


class DeadlineList(_Out):
    data: list[DeadlineOut]
    count: int = Field(description="Total number of matching deadlines (all pages).")
    start: date = Field(description="First day of the window (inclusive).")
    end: date = Field(description="Last day of the window (inclusive).")
    as_of: date
    errors: list[AgreementErrorOut] = Field(
        description="Agreements in scope whose deadlines could not be computed: they are "
        "missing from `data` and `count`; every other agreement's deadlines are there. "
        "Empty when all computed."
    )


class AgreementSummary(_Out):
    id: str
    title: str
    parties: list[str]
    tags: list[str]
    origin: str = Field(description="'file' (read-only over the API) or 'api'.")
    path: str | None = Field(description="The file it was loaded from, for origin 'file'.")
    revision: int
    updated_at: datetime


class AgreementOut(AgreementSummary):
    document: dict[str, Any] = Field(description="The validated agreement (format version 1).")


class AgreementList(_Out):
    data: list[AgreementSummary]
    count: int
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page; null when this page is the last.",
    )


class RuleSummaryOut(_Out):
    index: int
    kind: str
    label: str | None
    cite: str | None
    text: str


class EventFindingOut(_Out):
    index: int
    event: dict[str, Any]
    counted: bool
    finding: str


class ExplanationOut(_Out):
    agreement: str
    title: str
    as_of: date
    status: str
    rules: list[RuleSummaryOut]
    events: list[EventFindingOut]
    deadlines: list[DeadlineOut]


class AttemptOut(_Out):
    id: int
    attempt: int
    channel: str
    started_at: datetime
    duration_ms: float
    outcome: str
    status_code: int | None
    detail: str | None
    error: str | None


class ReminderOut(_Out):
    id: int
    agreement: str
    deadline_kind: str
    deadline_date: date
    party: str | None
    offset: str
    channel: str
    purpose: str = Field(
        default="reminder",
        description="'reminder', 'escalation' (offset is its when_left) or 'digest' "
        "(agreement is the digest's name, deadline_date its day).",
    )
    due_at: datetime
    status: str
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status_code: int | None
    sent_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class ReminderDetail(ReminderOut):
    deadline: dict[str, Any] | None = Field(description="The deadline object as planned.")
    delivery_attempts: list[AttemptOut]


class ReminderList(_Out):
    data: list[ReminderOut]
    count: int


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(default=None, max_length=200, description="Who acknowledged.")


class InvalidFileOut(BaseModel):
    file: str
    errors: list[str] = Field(description="Each 'file:line:col: field: what is wrong'.")


class HealthOut(BaseModel):
    status: str = Field(
        description="'ok'; 'degraded' when the scheduler is not running or a file in the "
        "agreements folder is invalid (still HTTP 200); 'unavailable' when the database is "
        "unreachable (HTTP 503)."
    )
    database: bool
    scheduler: bool | None = Field(description="Scheduler running; null without a service.")
    last_tick_at: datetime | None = Field(description="Last successful dispatch tick.")
    last_plan_at: datetime | None = Field(description="Last reminder planning run.")
    worker: str | None = Field(description="This process's worker name; null without a service.")
    invalid_files: list[InvalidFileOut] = Field(
        default_factory=list,
        description="Files of the agreements folder that failed validation at the last sync; "
        "the other files are synced, and each invalid file's agreement keeps its last good "
        "version.",
    )
    version: str
