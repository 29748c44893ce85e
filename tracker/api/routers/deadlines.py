"""``/api/v1/deadlines``: the same window as ``tracker deadlines``, the same objects.

The window is inclusive at both ends: ``from`` (default ``as_of``) to ``to``, or to
``from + within``, or by default to ``from + 1 year``. ``as_of`` (default today in the
configured time zone) decides which events count and what ``days_left`` means. The
command line resolves it with the same function (:func:`tracker.app.deadlines.
resolve_window`), so both refuse the same days.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tracker.api import deps
from tracker.api.auth import require_read
from tracker.api.memo import Memo, remembered
from tracker.api.schemas import AgreementFilterStr, DeadlineList, ErrorOut, TagStr
from tracker.app import agreements
from tracker.app.context import Context
from tracker.app.deadlines import Window, query, resolve_window
from tracker.domain.deadline import DeadlineKind

router = APIRouter(
    prefix="/deadlines",
    tags=["deadlines"],
    responses={code: {"model": ErrorOut} for code in (401, 403, 404, 422)},
)


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
        list[AgreementFilterStr] | None,
        Query(description="Only these agreement ids (404 when one names no agreement)."),
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
    context = deps.get_context(request)
    body = await remembered(
        memo,
        ("json", window, *filters, limit, offset),
        lambda: deadlines_json(context, memo, window, *filters, limit, offset),
    )
    return Response(body, media_type="application/json")


def deadlines_json(
    context: Context,
    memo: Memo,
    window: Window,
    agreement: tuple[str, ...],
    kind: tuple[DeadlineKind, ...],
    tag: tuple[str, ...],
    limit: int,
    offset: int,
) -> bytes:
    """The response body: the deadline objects are ``Deadline.to_dict()``, as in the CLI's
    JSON, serialised directly rather than validated again against the response model.
    NotFoundError when an agreement asked for does not exist."""
    agreements.require_known(context, agreement)
    found, total, failures = query(
        context,
        window,
        agreement=agreement,
        kind=kind,
        tag=tag,
        limit=limit,
        offset=offset,
        cache=memo,
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
