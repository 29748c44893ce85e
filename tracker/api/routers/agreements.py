"""``/api/v1/agreements``: list, read, create (JSON or YAML), replace, delete, explain.

Bodies are read by the same loader as agreement files, so a bad body gets the same
``file:line:col: path: message`` errors, with ``<request>`` as the file name.
"""

from __future__ import annotations

import base64
import re
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from tracker.api import deps
from tracker.api.auth import require_read, require_write
from tracker.api.errors import BadRequest, UnsupportedMediaType
from tracker.api.schemas import (
    TAG_PATTERN,
    AgreementList,
    AgreementOut,
    DeadlineOut,
    ErrorOut,
    EventFindingOut,
    ExplanationOut,
    RuleSummaryOut,
)
from tracker.app import agreements
from tracker.app.context import Context
from tracker.domain.agreement import ID_PATTERN
from tracker.domain.explain import Explanation

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 422)
}
router = APIRouter(prefix="/agreements", tags=["agreements"], responses=ERRORS)

#: Media types of agreement bodies; YAML is the file format, JSON its equivalent.
BODY_TYPES = (
    "application/json",
    "application/yaml",
    "text/yaml",
    "application/x-yaml",
    "text/x-yaml",
)
BODY_NAME = "<request>"

AgreementId = Annotated[str, Path(description="Agreement id.", pattern=ID_PATTERN, max_length=100)]

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One agreement (format version 1) as JSON, or as YAML text.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Agreement"}},
            "application/yaml": {"schema": {"type": "string"}},
            "text/yaml": {"schema": {"type": "string"}},
        },
    }
}


async def body_bytes(request: Request) -> bytes:
    """The raw body (already size-checked by the BodyLimit middleware)."""
    return await request.body()


def _media_type(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in BODY_TYPES:
        shown = media or "none"
        raise UnsupportedMediaType(
            f"unsupported content type {shown!r}: send application/json or application/yaml"
        )
    return media


def _load(request: Request, body: bytes) -> Any:
    from tracker.loader import load_text

    # Channel names are checked against the configuration the service runs with.
    known = deps.get_settings(request).channel_names()
    return load_text(body, name=BODY_NAME, content_type=_media_type(request), known_channels=known)


@router.get("", response_model=AgreementList, dependencies=[Depends(require_read)])
def list_agreements(
    context: Annotated[Context, Depends(deps.get_context)],
    tag: Annotated[
        str | None,
        Query(max_length=100, pattern=TAG_PATTERN, description="Only agreements with this tag."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Continue after the page that returned this `next_cursor` "
            "(keyset paging: as fast at any depth; instead of `offset`).",
        ),
    ] = None,
) -> dict[str, Any]:
    """Agreements ordered by id; ``count`` is the number of all matches; ``next_cursor``
    continues after this page (null when it is the last)."""
    after = None
    if cursor is not None:
        if offset:
            raise BadRequest("query: give cursor or offset, not both")
        after = decode_cursor(cursor)
    page = agreements.list_agreements(context, tag=tag, limit=limit, offset=offset, after=after)
    return {
        # A shallow copy of the fields: asdict() deep-copies every value (most of the time
        # of a page of 500 agreements went there).
        "data": [dict(vars(summary)) for summary in page.data],
        "count": page.count,
        "next_cursor": encode_cursor(page.last_id) if page.last_id is not None else None,
    }


_CURSOR_PREFIX = "id:"


def encode_cursor(last_id: str) -> str:
    """An opaque cursor for the page after ``last_id`` (URL-safe base64, no padding)."""
    raw = (_CURSOR_PREFIX + last_id).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor continues after; anything not made by :func:`encode_cursor` is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    last_id = raw.removeprefix(_CURSOR_PREFIX)
    if not raw.startswith(_CURSOR_PREFIX) or not re.fullmatch(ID_PATTERN, last_id):
        raise BadRequest("query.cursor: not a cursor this API gave (use next_cursor as it is)")
    return last_id


@router.get("/{agreement_id}", response_model=AgreementOut, dependencies=[Depends(require_read)])
def get_agreement(
    agreement_id: AgreementId, context: Annotated[Context, Depends(deps.get_context)]
) -> dict[str, Any]:
    """The validated document, where it comes from (``file``: read-only here) and when it
    last changed."""
    return asdict(agreements.get(context, agreement_id))


@router.post(
    "",
    status_code=201,
    response_model=AgreementOut,
    dependencies=[Depends(require_write)],
    responses={409: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
    openapi_extra=_BODY_DOC,
)
def create_agreement(
    request: Request,
    response: Response,
    body: Annotated[bytes, Depends(body_bytes)],
    context: Annotated[Context, Depends(deps.get_context)],
    now: Annotated[datetime, Depends(deps.get_now)],
) -> dict[str, Any]:
    """Create an agreement from a JSON or YAML body (``Content-Type`` decides); 409 when the
    id exists; 422, storing nothing, when it is invalid or its deadlines cannot be computed.
    The service re-plans its deadlines and reminders right away."""
    saved = agreements.save(context, _load(request, body), now=now, replace=False)
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{saved.id}"
    return asdict(saved)


@router.put(
    "/{agreement_id}",
    response_model=AgreementOut,
    dependencies=[Depends(require_write)],
    responses={409: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
    openapi_extra=_BODY_DOC,
)
def replace_agreement(
    agreement_id: AgreementId,
    request: Request,
    body: Annotated[bytes, Depends(body_bytes)],
    context: Annotated[Context, Depends(deps.get_context)],
    now: Annotated[datetime, Depends(deps.get_now)],
) -> dict[str, Any]:
    """Replace an agreement written through the API; the body's ``id`` must be the one in
    the path. File-owned agreements are read-only (409)."""
    loaded = _load(request, body)
    if loaded.agreement.id != agreement_id:
        raise BadRequest(
            f"{BODY_NAME}: id: '{loaded.agreement.id}' does not match the agreement in the "
            f"path '{agreement_id}'"
        )
    return asdict(agreements.save(context, loaded, now=now, replace=True))


@router.delete(
    "/{agreement_id}",
    status_code=204,
    response_class=Response,
    dependencies=[Depends(require_write)],
    responses={409: {"model": ErrorOut}},
)
def delete_agreement(
    agreement_id: AgreementId,
    context: Annotated[Context, Depends(deps.get_context)],
    now: Annotated[datetime, Depends(deps.get_now)],
) -> Response:
    """Delete an agreement written through the API; its pending reminders are cancelled."""
    agreements.delete(context, agreement_id, now=now)
    return Response(status_code=204)


@router.get(
    "/{agreement_id}/explain", response_model=ExplanationOut, dependencies=[Depends(require_read)]
)
def explain(
    agreement_id: AgreementId,
    context: Annotated[Context, Depends(deps.get_context)],
    today: Annotated[date, Depends(deps.today)],
    as_of: Annotated[date | None, Query(description="Compute as if today were this day.")] = None,
) -> dict[str, Any]:
    """The agreement's rules with their sources, its events with what each did, and how
    each upcoming date is derived (the same text as ``tracker explain``)."""
    agreement, result = agreements.explain(context, agreement_id, as_of=as_of or today)
    return explanation_of(agreement.id, agreement.title, result)


def explanation_of(agreement_id: str, title: str, result: Explanation) -> dict[str, Any]:
    return {
        "agreement": agreement_id,
        "title": title,
        "as_of": result.as_of,
        "status": str(result.status),
        "rules": [
            RuleSummaryOut(index=r.index, kind=str(r.kind), label=r.label, cite=r.cite, text=r.text)
            for r in result.rules
        ],
        "events": [
            EventFindingOut(
                index=e.index,
                event=e.event.model_dump(mode="json", exclude_none=True)
                if hasattr(e.event, "model_dump")
                else dict(e.event),
                counted=bool(e.counted),
                finding=e.finding,
            )
            for e in result.events
        ],
        "deadlines": [DeadlineOut.of(d) for d in result.deadlines],
    }
