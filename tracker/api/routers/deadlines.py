"""``/api/v1/deadlines``: the same query as ``tracker deadlines``, the same objects.

The window is inclusive at both ends: ``from`` (default ``as_of``) to ``to``, or to
``from + within``, or by default to ``from + 1 year``. ``as_of`` (default today in the
configured time zone) decides which events count and what ``days_left`` means.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.engine import Engine

from tracker.api import deps
from tracker.api.auth import require_read
from tracker.api.errors import BadRequest
from tracker.api.memo import Memo, query_deadlines, remembered
from tracker.api.schemas import AgreementIdStr, DeadlineList, ErrorOut, TagStr
from tracker.domain.deadline import DeadlineKind
from tracker.domain.durations import DurationParseError, parse_duration, shift

router = APIRouter(
    prefix="/deadlines",
    tags=["deadlines"],
    responses={code: {"model": ErrorOut} for code in (401, 403, 422)},
)

DEFAULT_WINDOW = parse_duration("1 year")
#: Dates outside this range are refused: they are typos, and they keep the arithmetic away
#: from the ends of Python's date range.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
#: The longest window one request may ask for.
MAX_WINDOW_DAYS = 366 * 50


@dataclass(frozen=True)
class Window:
    as_of: date
    start: date
    end: date


def check_day(value: date | None, name: str) -> None:
    if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
        raise BadRequest(
            f"query.{name}: {value.isoformat()} is outside {EARLIEST_DAY}..{LATEST_DAY}"
        )


def resolve_window(
    *, as_of: date, start: date | None, end: date | None, within: str | None
) -> Window:
    """The inclusive window a query asks for, or BadRequest saying what is wrong."""
    for value, name in ((as_of, "as_of"), (start, "from"), (end, "to")):
        check_day(value, name)
    if end is not None and within is not None:
        raise BadRequest("query: give either 'to' or 'within', not both")
    first = start or as_of
    if end is None:
        try:
            duration = parse_duration(within) if within is not None else DEFAULT_WINDOW
        except DurationParseError as exc:
            raise BadRequest(f"query.within: {exc}") from None
        if duration.approx_days() > MAX_WINDOW_DAYS:
            raise BadRequest(f"query.within: a window may be at most {MAX_WINDOW_DAYS} days long")
        end = shift(first, duration)
        check_day(end, "within")
    if end < first:
        raise BadRequest(f"query: 'to' {end.isoformat()} is before 'from' {first.isoformat()}")
    if (end - first).days > MAX_WINDOW_DAYS:
        raise BadRequest(f"query: a window may be at most {MAX_WINDOW_DAYS} days long")
    return Window(as_of=as_of, start=first, end=end)


@router.get("", response_model=DeadlineList, dependencies=[Depends(require_read)])
async def list_deadlines(
    request: Request,
    start: Annotated[
        date | None, Query(alias="from", description="First day (inclusive); default as_of.")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day (inclusive).")] = None,
    within: Annotated[
        str | None,
        Query(max_length=40, description="Window length instead of 'to', e.g. '90d', '6 months'."),
    ] = None,
    as_of: Annotated[date | None, Query(description="Compute as if today were this day.")] = None,
    agreement: Annotated[
        list[AgreementIdStr] | None, Query(description="Only these agreement ids.")
    ] = None,
    kind: Annotated[list[DeadlineKind] | None, Query(description="Only these kinds.")] = None,
    tag: Annotated[
        list[TagStr] | None, Query(description="Only agreements with one of these tags.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Deadlines sorted by date in the window; ``count`` is the number of all matches.

    An agreement whose deadlines cannot be computed does not fail the answer: it is listed
    in ``errors`` (id and why), and every other agreement's deadlines are returned."""
    # The hot path of the API: async, so a remembered answer costs no thread hop; the
    # database work runs in the thread pool.
    window = resolve_window(as_of=as_of or deps.today(request), start=start, end=end, within=within)
    memo = deps.get_memo(request)
    filters = (tuple(agreement or ()), tuple(kind or ()), tuple(tag or ()))
    engine = deps.get_engine(request)
    body = await remembered(
        memo,
        ("json", window, *filters, limit, offset),
        lambda: deadlines_json(engine, memo, window, *filters, limit, offset),
    )
    return Response(body, media_type="application/json")


def deadlines_json(
    engine: Engine,
    memo: Memo,
    window: Window,
    agreement: tuple[str, ...],
    kind: tuple[DeadlineKind, ...],
    tag: tuple[str, ...],
    limit: int,
    offset: int,
) -> bytes:
    """The response body: the deadline objects are ``Deadline.to_dict()``, as in the CLI's
    JSON, serialised directly rather than validated again against the response model."""
    found, total, failures = query_deadlines(
        engine,
        memo,
        as_of=window.as_of,
        start=window.start,
        end=window.end,
        agreement=agreement,
        kind=kind,
        tag=tag,
        limit=limit,
        offset=offset,
    )
    body = {
        "data": [d.to_dict() for d in found],
        "count": total,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "as_of": window.as_of.isoformat(),
        "errors": [failure.to_dict() for failure in failures],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
