"""The web page: ``/`` (upcoming deadlines by month) and ``/agreements/{id}``.

Server-rendered with jinja2 (autoescaped), no JavaScript; a source URL becomes a link only
when it is http(s) or mailto (:func:`linkable`), and the Content-Security-Policy forbids
scripts altogether.

Each date says in words what happens or what is due (:func:`tracker.domain.wording.headline`).
Only an ``act_by`` date still ahead is urgent, shown by a CSS class *and* a word ("This week",
"This month"), never by colour alone; a date that has gone by is "Passed", never overdue; an
expiry where the agreement renews reads as a renewal ("Renews"), not an alarm. Files of the
agreements folder that fail validation are named in a banner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tracker.api import deps
from tracker.api.auth import require_read
from tracker.app import agreements
from tracker.app.context import Context
from tracker.app.deadlines import Window, query
from tracker.domain.deadline import Action, Deadline, Outcome
from tracker.domain.wording import headline
from tracker.errors import NotFoundError

if TYPE_CHECKING:
    from tracker.app.deadlines import AgreementFailure

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)

#: The only URL schemes an agreement's source may be linked with; any other (javascript:,
#: data:, vbscript:, file:...) is shown as plain text.
LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def linkable(url: object) -> bool:
    """Whether a URL written in an agreement may become a link on the page (Jinja test
    ``is linkable``). ``urlsplit`` drops what browsers drop before reading the scheme
    (leading control characters and spaces, tabs and line breaks anywhere), so
    ``" java\tscript:..."`` is seen as the ``javascript`` scheme it is. http(s) links need a
    host."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        return False
    return scheme == "mailto" or bool(parts.netloc)


templates.env.tests["linkable"] = linkable

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_read)])

#: How far back the page shows deadlines that have passed.
PAST_DAYS = 30
#: How far ahead the page looks.
AHEAD_DAYS = 366
#: Passed deadlines are listed only when at most this many agreements are in
#: scope: they are recomputed from the documents on every request.
MAX_RECOMPUTED_AGREEMENTS = 2000
#: Most deadlines on one page.
MAX_ROWS = 500
#: Agreement ids offered in the filter's suggestions.
MAX_SUGGESTIONS = 200
CALENDAR_PATH = "/calendar.ics"


@dataclass(frozen=True)
class Row:
    """A deadline as the page shows it."""

    agreement: str
    title: str
    kind: str
    what: str
    date: date
    party: str | None
    source: str | None
    explanation: str
    weekday_note: str | None
    urgency: str
    badge: str
    days_text: str


def urgency(d: Deadline) -> tuple[str, str]:
    """CSS class and the word that says the same thing without colour: "Passed" for a day
    gone by ("Renewed" for an expiry where it renewed), "Renews" for a renewing expiry,
    "This week"/"This month" for an ``act_by`` date ahead, "Opens" for an ``act_from`` date
    ahead, else nothing."""
    days_left = d.days_left
    if days_left < 0:
        return "passed", "Renewed" if d.outcome is Outcome.RENEWS else "Passed"
    if d.outcome is Outcome.RENEWS:
        return "renews", "Renews"
    if d.action is Action.ACT_FROM:
        return "opens", "Opens"
    if d.action is not Action.ACT_BY:
        return "later", ""
    if days_left <= 7:
        return "this-week", "This week"
    if days_left <= 31:
        return "this-month", "This month"
    return "later", ""


def days_text(days_left: int) -> str:
    if days_left == 0:
        return "today"
    if days_left == 1:
        return "tomorrow, 1 day left"
    if days_left > 0:
        return f"{days_left} days left"
    return "passed yesterday" if days_left == -1 else f"passed {-days_left} days ago"


def row_of(d: Deadline) -> Row:
    css, badge = urgency(d)
    return Row(
        agreement=d.agreement,
        title=d.title,
        kind=d.kind.value,
        what=headline(d),
        date=d.date,
        party=d.party,
        source=d.source,
        explanation=d.explanation,
        weekday_note=d.weekday_note,
        urgency=css,
        badge=badge,
        days_text=days_text(d.days_left),
    )


def by_month(rows: list[Row]) -> list[dict[str, Any]]:
    months: list[dict[str, Any]] = []
    for row in rows:
        label = row.date.strftime("%B %Y")
        if not months or months[-1]["label"] != label:
            months.append({"label": label, "rows": []})
        months[-1]["rows"].append(row)
    return months


def merge_failures(*groups: list[AgreementFailure]) -> list[AgreementFailure]:
    """Each failing agreement once (the upcoming and the passed query both report it)."""
    seen: dict[str, AgreementFailure] = {}
    for group in groups:
        for failure in group:
            seen.setdefault(failure.agreement, failure)
    return sorted(seen.values(), key=lambda f: f.agreement)


def _webcal(request: Request, query: str) -> str:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"webcal://{host}{CALENDAR_PATH}{query}"


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    context: Annotated[Context, Depends(deps.get_context)],
    today: Annotated[date, Depends(deps.today)],
    tag: Annotated[str | None, Query(max_length=100)] = None,
    agreement: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    tag = tag or None
    agreement = (agreement or "").strip() or None
    unknown = _unknown_agreement(context, agreement)
    if unknown is not None:
        agreement = None
    agreements_wanted: tuple[str, ...] = (agreement,) if agreement else ()
    tags_wanted: tuple[str, ...] = (tag,) if tag else ()
    memo = deps.get_memo(request)
    end = today + timedelta(days=AHEAD_DAYS)
    # Upcoming dates come from the materialised table; passed ones must be recomputed from
    # the documents, which is affordable only for a bounded number of agreements.
    found, total, failures = query(
        context,
        Window(today, today, end),
        agreement=agreements_wanted,
        tag=tags_wanted,
        limit=MAX_ROWS,
        cache=memo,
    )
    in_scope = 1 if agreement else agreements.count(context, tag=tag)
    start = today
    if in_scope <= MAX_RECOMPUTED_AGREEMENTS:
        start = today - timedelta(days=PAST_DAYS)
        passed, passed_total, passed_failures = query(
            context,
            Window(today, start, today - timedelta(days=1)),
            agreement=agreements_wanted,
            tag=tags_wanted,
            cache=memo,
        )
        found, total = passed + found[: MAX_ROWS - len(passed)], total + passed_total
        failures = merge_failures(passed_failures, failures)
    params = {k: v for k, v in (("tag", tag), ("agreement", agreement)) if v}
    query_text = "?" + urlencode(params) if params else ""
    page = {
        "passed_listed": start < today,
        "past_days": PAST_DAYS,
        "months": by_month([row_of(d) for d in found]),
        "count": total,
        "shown": len(found),
        "as_of": today,
        "start": start,
        "end": end,
        "timezone": deps.get_settings(request).timezone,
        "tags": agreements.tags(context),
        "agreements": agreements.suggestions(context, limit=MAX_SUGGESTIONS),
        "tag": tag,
        "agreement": agreement,
        "calendar_path": CALENDAR_PATH + query_text,
        "webcal_url": _webcal(request, query_text),
        "failures": failures,
        "invalid_files": _invalid_files(request),
        "unknown_agreement": unknown,
    }
    if unknown is not None:
        page.update(months=[], count=0, shown=0)
    return templates.TemplateResponse(
        request, "index.html", page, status_code=404 if unknown is not None else 200
    )


def _unknown_agreement(context: Context, agreement: str | None) -> str | None:
    """``agreement`` when the filter names no stored agreement (the page then says so)."""
    if agreement is None:
        return None
    try:
        agreements.require_known(context, [agreement])
    except NotFoundError:
        return agreement
    return None


def _invalid_files(request: Request) -> dict[str, list[str]]:
    """The agreements folder's invalid files (file -> errors), for the banner."""
    service = deps.get_service(request)
    return dict(service.invalid_files) if service is not None else {}


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement_page(
    request: Request,
    # Any text: an id that cannot exist is answered like one that does not ("no agreement").
    agreement_id: Annotated[str, PathParam(max_length=100)],
    context: Annotated[Context, Depends(deps.get_context)],
    today: Annotated[date, Depends(deps.today)],
) -> HTMLResponse:
    overview = agreements.overview(context, agreement_id, as_of=today)
    upcoming = [row_of(d) for d in overview.explanation.deadlines if d.date >= today]
    if overview.next_act_by is not None:
        upcoming.append(row_of(overview.next_act_by))
    page = {
        "agreement": overview.agreement,
        "origin": overview.origin,
        "path": overview.path,
        "as_of": today,
        "explanation": overview.explanation,
        "upcoming": upcoming,
        "reminders": overview.reminders,
        "calendar_path": CALENDAR_PATH,
        "invalid_files": _invalid_files(request),
    }
    return templates.TemplateResponse(request, "agreement.html", page)
