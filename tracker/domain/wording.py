"""What a deadline means, in words: the one headline every reader sees.

Email subjects, webhook payloads (``summary``), calendar ``SUMMARY`` lines, the log channel and
the web page all call :func:`headline`, so a date says the same thing everywhere. It follows
the deadline's ``action`` and, for an expiry, its ``outcome``:

==========================  ====================================================================
``notice_deadline``         ``Last day to give notice: GSOMIA (expiry 2027-11-22)``
``notice_window_opens``     ``First day to give notice: GSOMIA (expiry 2027-11-22)``
``earliest_notice``         ``First day US may give notice of withdrawal: Paris Agreement``
``expiry`` (renews)         ``GSOMIA renews for 1 year``
``expiry`` (ends)           ``New START expires``
``termination``             ``GSOMIA ends (notice given)``
``withdrawal_effective``    ``US withdrawal from the Paris Agreement takes effect``
``membership_ended``        ``RU membership of the Council of Europe ends``
``survival_ends``           ``Surviving obligations of the INF Treaty end``
``recurring``/``milestone`` ``Review conference: NPT`` (the rule's label)
==========================  ====================================================================

The expiry a notice date precedes and the renewal term are read from the deadline's own
``explanation`` (``expiry 2027-11-22 − 90 days = 2027-08-24``; ``first expiry 2017-11-22 +
10 × 1 year = 2027-11-22``), the engine's record of the arithmetic; when an explanation does
not name them the headline simply leaves them out. Pure: no clock, no I/O.
"""

from __future__ import annotations

import re

from tracker.domain.deadline import Deadline, DeadlineKind, Outcome

#: Agreement titles longer than this are shortened in headlines.
TITLE_CHARS = 50

# A trailing "(GSOMIA)", "(New START)", "(ECT)": the short name people actually use.
_TRAILING_SHORT_NAME = re.compile(r"\(([A-Z][A-Za-z0-9&.' /–-]{1,24})\)\s*$")
# "expiry 2027-11-22 − 90 days = 2027-08-24": the expiry a notice date is counted back from.
_EXPIRY_BEFORE = re.compile(r"^expiry (\d{4}-\d{2}-\d{2}) − ")
# "... + 10 × 1 year = 2027-11-22": the renewal step of a series.
_RENEWAL_STEP = re.compile(r" × (.+?) = \d{4}-\d{2}-\d{2}")


def short_title(title: str, *, max_chars: int = TITLE_CHARS) -> str:
    """The name a headline uses: a trailing parenthesised short name if the title has one
    (``... Agreement (GSOMIA)`` → ``GSOMIA``), else the title, cut at a word boundary."""
    title = " ".join(title.split())
    match = _TRAILING_SHORT_NAME.search(title)
    if match and len(title) > len(match.group(0)) + 1:
        return match.group(1).strip()
    if len(title) <= max_chars:
        return title
    cut = title[: max_chars - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:–-") + "…"


def _the(name: str) -> str:
    """``the Paris Agreement``; a name that already starts with "the" keeps its own."""
    return name if name.lower().startswith("the ") else f"the {name}"


def _expiry_in(d: Deadline) -> str:
    match = _EXPIRY_BEFORE.match(d.explanation)
    return f" (expiry {match.group(1)})" if match else (f" ({d.label})" if d.label else "")


def _notice(d: Deadline, name: str) -> str:
    if d.kind is DeadlineKind.NOTICE_DEADLINE:
        who = f" ({d.party})" if d.party else ""
        return f"Last day to give notice{who}: {name}{_expiry_in(d)}"
    if d.kind is DeadlineKind.NOTICE_WINDOW_OPENS:
        return f"First day to give notice: {name}{_expiry_in(d)}"
    if d.party:
        return f"First day {d.party} may give notice of withdrawal: {name}"
    return f"First day to give notice of withdrawal: {name}"


def _expiry(d: Deadline, name: str) -> str:
    if d.outcome is Outcome.RENEWS:
        step = _RENEWAL_STEP.search(d.explanation)
        return f"{name} renews for {step.group(1)}" if step else f"{name} renews"
    return f"{name} expires"


def _ending(d: Deadline, name: str) -> str:
    kind = d.kind
    if kind is DeadlineKind.TERMINATION:
        return f"{name} ends (notice given)"
    if kind is DeadlineKind.WITHDRAWAL_EFFECTIVE:
        who = f"{d.party} withdrawal" if d.party else "Withdrawal"
        return f"{who} from {_the(name)} takes effect"
    if kind is DeadlineKind.MEMBERSHIP_ENDED:
        who = f"{d.party} membership" if d.party else "Membership"
        return f"{who} of {_the(name)} ends"
    return f"Surviving obligations of {_the(name)} end"


def headline(d: Deadline) -> str:
    """What happens on the deadline's day, or what is due by it, in one line (see the module
    docstring). The date itself is not part of it; callers add it where they need it."""
    name = short_title(d.title)
    kind = d.kind
    if kind in (
        DeadlineKind.NOTICE_DEADLINE,
        DeadlineKind.NOTICE_WINDOW_OPENS,
        DeadlineKind.EARLIEST_NOTICE,
    ):
        return _notice(d, name)
    if kind is DeadlineKind.EXPIRY:
        return _expiry(d, name)
    if kind in (DeadlineKind.RECURRING, DeadlineKind.MILESTONE):
        what = " ".join((d.label or kind.value.replace("_", " ")).split())
        who = f" ({d.party})" if d.party else ""
        return f"{what[:1].upper()}{what[1:]}{who}: {name}"
    return _ending(d, name)


def days_phrase(days_left: int) -> str:
    """``in 17 days``, ``in 1 day``, ``today``, ``passed 3 days ago``: a past date has
    passed, it is never "overdue" (an expiry that renewed is not late)."""
    if days_left == 0:
        return "today"
    if days_left > 0:
        return f"in {days_left} day{'' if days_left == 1 else 's'}"
    ago = -days_left
    return f"passed {ago} day{'' if ago == 1 else 's'} ago"
