"""``/calendar.ics``: the upcoming deadlines as an iCalendar feed to subscribe to.

The body comes from :func:`tracker.feed.build_calendar`, which is deterministic, so two
requests give identical bytes while nothing changed. The ``ETag`` is a digest of what the
feed is made from (:func:`tracker.app.calendar.feed_tag`: the data version, the window, the
filters, the alarm settings), known before the feed is built, so ``If-None-Match`` gets its
304 without building it; without a data version it is a digest of the bytes.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tracker.api import deps
from tracker.api.auth import require_read
from tracker.api.memo import remembered
from tracker.api.schemas import AgreementFilterStr, ErrorOut, TagStr
from tracker.app import agreements, calendar
from tracker.app.context import Context
from tracker.app.deadlines import Window, query, resolve_window
from tracker.domain.deadline import DeadlineKind
from tracker.feed import build_calendar

router = APIRouter(tags=["calendar"])

CALENDAR_TYPE = "text/calendar; charset=utf-8"
#: Most events in one feed: calendar clients choke on more, and building each costs ~0.5 ms.
MAX_FEED_EVENTS = 5000


def calendar_name(*, tag: list[str], agreement: list[str]) -> str:
    scope = ", ".join([*agreement, *tag])
    return f"Treaty deadlines ({scope})" if scope else "Treaty deadlines"


@router.get(
    "/calendar.ics",
    response_class=Response,
    dependencies=[Depends(require_read)],
    responses={
        200: {
            "content": {"text/calendar": {"schema": {"type": "string"}}},
            "description": "An iCalendar (RFC 5545) feed, one all-day event per deadline.",
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut, "description": "An agreement asked for does not exist."},
        422: {"model": ErrorOut},
    },
)
async def calendar_feed(
    request: Request,
    tag: Annotated[
        list[TagStr] | None, Query(description="Only agreements with one of these tags.")
    ] = None,
    agreement: Annotated[
        list[AgreementFilterStr] | None,
        Query(description="Only these agreement ids (404 when one names no agreement)."),
    ] = None,
    kind: Annotated[list[DeadlineKind] | None, Query(description="Only these kinds.")] = None,
) -> Response:
    """Deadlines from today to one year ahead (the nearest 5,000), as all-day events with
    stable UIDs; ``act_by`` and ``act_from`` events carry a ``VALARM`` per reminder offset in
    force, so a subscribed calendar reminds by itself. ``X-Feed-Truncated: true`` says that
    more matched. Agreements whose deadlines cannot be computed are named in
    ``X-Agreements-Failed`` (ids, comma-separated) and, with the reason, in the calendar's
    ``X-TRACKER-ERROR`` properties; the others' deadlines are all there."""
    window = resolve_window(as_of=deps.today(request), start=None, end=None, within=None)
    filters = (tuple(agreement or ()), tuple(kind or ()), tuple(tag or ()))
    context, memo = deps.get_context(request), deps.get_memo(request)
    wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    # The tag is known before the feed is built: a client polling an unchanged feed gets its
    # 304 for one small query instead of up to 5,000 events.
    tag_now = await run_in_threadpool(calendar.feed_tag, context, window, *filters)
    if tag_now is not None and tag_now in wanted:
        return Response(status_code=304, headers={"ETag": tag_now, "Cache-Control": "no-cache"})
    # The tag is part of the memo's key: a feed remembered from before a write (by another
    # process, which does not clear this memo) must not be sent under the new data's tag, or
    # a client would keep it, answered 304, until the next change.
    body, truncated, failed = await remembered(
        memo,
        ("ics", window, *filters, tag_now),
        lambda: feed_bytes(context, window, *filters),
    )
    etag = tag_now or '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if truncated:
        headers["X-Feed-Truncated"] = "true"
    if failed:
        headers["X-Agreements-Failed"] = ",".join(failed)
    if etag in wanted:
        return Response(status_code=304, headers=headers)
    return Response(
        body,
        media_type=CALENDAR_TYPE,
        headers={**headers, "Content-Disposition": 'inline; filename="deadlines.ics"'},
    )


def feed_bytes(
    context: Context,
    window: Window,
    agreement: tuple[str, ...],
    kind: tuple[DeadlineKind, ...],
    tag: tuple[str, ...],
) -> tuple[bytes, bool, list[str]]:
    """The feed, whether it was cut at :data:`MAX_FEED_EVENTS`, and the ids of agreements
    whose deadlines are missing because they cannot be computed. NotFoundError when an
    agreement asked for does not exist."""
    agreements.require_known(context, agreement)
    # Not from the memo: the feed goes out under the tag of the data version read before it,
    # so it must be built from data at least that new.
    found, total, failures = query(
        context, window, agreement=agreement, kind=kind, tag=tag, limit=MAX_FEED_EVENTS
    )
    name = calendar_name(tag=list(tag), agreement=list(agreement))
    errors = [(failure.agreement, failure.detail) for failure in failures]
    offsets = calendar.stored_offsets(context, {d.agreement for d in found})
    return (
        build_calendar(
            found, name=name, errors=errors, alarms=calendar.alarms(context.settings, offsets)
        ),
        total > len(found),
        [failure.agreement for failure in failures],
    )
