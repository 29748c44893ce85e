"""The one exception tree of the tracker.

    TrackerError
    ├── ConfigError        bad agreement file or configuration; carries file, line, column, path
    │   └── ValidationFailed   several ConfigErrors of one batch, reported together
    ├── RuleError          an agreement is valid YAML but its rules cannot be evaluated
    │   └── ComputeFailed      a stored agreement whose deadlines cannot be computed
    ├── NotFoundError      an agreement, reminder or channel that does not exist
    ├── ConflictError      a write that would break an invariant (e.g. a file-owned agreement)
    ├── AuthError          a missing or wrong API token
    ├── DatabaseError      the database failed; ``kind`` and ``message`` are the driver's words
    │   └── DatabaseUnavailable  it cannot be reached or dropped the connection (try again)
    └── DeliveryError      a channel failed to deliver; ``permanent`` says whether to retry

Entry points map this tree once: the CLI to ``Error: ...`` and exit 1, the API to status codes
and ``{"detail": ...}``. Third-party exceptions are translated at the seam with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class TrackerError(Exception):
    """Base of every error the tracker raises on purpose."""


@dataclass
class ConfigError(TrackerError):
    """One problem in one file: ``file:line:col: path: message``.

    ``line`` and ``column`` are 1-based and ``None`` when unknown (e.g. a document that is
    not YAML at all, or an error about the whole file).
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        prefix = f"{self.path}: " if self.path else ""
        return f"{where}: {prefix}{self.message}"


class ValidationFailed(TrackerError):
    """Several errors found together (all errors of a file, or of a whole batch)."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class RuleError(TrackerError):
    """An agreement's rules cannot be evaluated (e.g. `after` without `in_force`)."""


class ComputeFailed(RuleError):
    """The deadlines of one stored agreement cannot be computed (``agreement``, ``detail``).

    Readers report such an agreement next to the others' deadlines instead of failing; a
    write that would store one is refused and stores nothing.
    """

    def __init__(self, agreement: str, detail: str) -> None:
        super().__init__(f"agreement '{agreement}': {detail}")
        self.agreement = agreement
        self.detail = detail


#: Longest failure detail kept: an exception may quote a whole document.
MAX_DETAIL_CHARS = 500


def failure_detail(exc: BaseException) -> str:
    """One line saying why an agreement's deadlines could not be computed, for people
    (API answers, the page, log lines): a stored document that no longer validates names its
    first problem; anything else names the exception."""
    from pydantic import ValidationError

    if isinstance(exc, ComputeFailed):
        return exc.detail
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        # A model-level check names its field inside the message; a field check has a loc.
        text = f"its stored document is no longer valid: {where + ': ' if where else ''}{message}"
    elif isinstance(exc, RuleError):
        text = f"deadlines cannot be computed: {exc}"
    else:
        text = f"deadlines cannot be computed: {type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


class NotFoundError(TrackerError):
    """The thing asked for does not exist."""


class ConflictError(TrackerError):
    """The write would break an invariant; the message says what owns the object."""


class AuthError(TrackerError):
    """Missing or wrong credentials, or writes disabled because no token is configured."""


class DatabaseError(TrackerError):
    """The database failed: ``kind`` is the name of the database library's exception and
    ``message`` the driver's words (``OperationalError: unable to open database file``). The
    store raises this, translated at its seam, so that nothing above it needs to know the
    database library."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"database error: {kind}: {message}")
        self.kind = kind
        self.message = message

    @property
    def reason(self) -> str:
        """The first line of the driver's message (its exception's name when it says nothing)."""
        return next(iter(self.message.splitlines()), "").strip() or self.kind


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached, refused the connection or dropped it: a state that
    passes (the API answers 503 with ``Retry-After``), not a bug."""


class DeliveryError(TrackerError):
    """A channel failed to deliver a reminder.

    ``permanent`` failures are not retried (4xx other than 408/429, a rejected recipient);
    ``disable_channel`` is set for HTTP 410 Gone; ``retry_after_s`` carries a server's
    ``Retry-After`` when it sent one. ``status`` is the HTTP status code or SMTP reply code.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        disable_channel: bool = False,
        retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or disable_channel
        self.disable_channel = disable_channel
        self.retry_after_s = retry_after_s
        self.status = status
