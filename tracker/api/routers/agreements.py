"""``/api/v1/agreements``: list, read, create (JSON or YAML), replace, delete, explain.

Bodies are read by the same loader as agreement files, so a bad body gets the same
``file:line:col: path: message`` errors, with ``<request>`` as the file name.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.engine import Engine

from tracker.api import deps
from tracker.api.auth import require_read, require_write
from tracker.api.errors import BadRequest, UnsupportedMediaType
from tracker.api.routers.deadlines import check_day
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
from tracker.domain.agreement import ID_PATTERN
from tracker.store.engine import session_scope
from tracker.store.tables import AgreementRow

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


def summary_of(row: AgreementRow) -> dict[str, Any]:
    document = json.loads(row.document)
    return {
        "id": row.id,
        "title": row.title,
        "parties": document.get("parties", []),
        "tags": document.get("tags", []),
        "origin": row.origin,
        "path": row.path,
        "revision": row.revision,
        "updated_at": row.updated_at,
    }


def detail_of(row: AgreementRow) -> dict[str, Any]:
    return {**summary_of(row), "document": json.loads(row.document)}


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

    return load_text(body, name=BODY_NAME, content_type=_media_type(request))


@router.get("", response_model=AgreementList, dependencies=[Depends(require_read)])
def list_agreements(
    engine: Annotated[Engine, Depends(deps.get_engine)],
    tag: Annotated[
        str | None,
        Query(max_length=100, pattern=TAG_PATTERN, description="Only agreements with this tag."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Agreements ordered by id; ``count`` is the number of all matches."""
    from tracker.store.repository import count_agreement_rows, list_agreement_rows

    with session_scope(engine) as session:
        rows = list_agreement_rows(session, tag=tag, limit=limit, offset=offset)
        total = count_agreement_rows(session, tag=tag)
        return {"data": [summary_of(row) for row in rows], "count": total}


@router.get("/{agreement_id}", response_model=AgreementOut, dependencies=[Depends(require_read)])
def get_agreement(
    agreement_id: AgreementId, engine: Annotated[Engine, Depends(deps.get_engine)]
) -> dict[str, Any]:
    """The validated document, where it comes from (``file``: read-only here) and when it
    last changed."""
    from tracker.store.repository import get_agreement_row

    with session_scope(engine) as session:
        return detail_of(get_agreement_row(session, agreement_id))


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
    engine: Annotated[Engine, Depends(deps.get_engine)],
    now: Annotated[datetime, Depends(deps.get_now)],
) -> dict[str, Any]:
    """Create an agreement from a JSON or YAML body (``Content-Type`` decides); 409 when the
    id exists; 422, storing nothing, when it is invalid or its deadlines cannot be computed.
    The service re-plans its deadlines and reminders right away."""
    from tracker.store.repository import save_api_agreement

    loaded = _load(request, body)
    row = save_api_agreement(engine, loaded, now=now, replace=False, horizon=deps.horizon(request))
    deps.after_write(request)
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{row.id}"
    return detail_of(row)


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
    engine: Annotated[Engine, Depends(deps.get_engine)],
    now: Annotated[datetime, Depends(deps.get_now)],
) -> dict[str, Any]:
    """Replace an agreement written through the API; the body's ``id`` must be the one in
    the path. File-owned agreements are read-only (409)."""
    from tracker.store.repository import save_api_agreement

    loaded = _load(request, body)
    if loaded.agreement.id != agreement_id:
        raise BadRequest(
            f"{BODY_NAME}: id: '{loaded.agreement.id}' does not match the agreement in the "
            f"path '{agreement_id}'"
        )
    row = save_api_agreement(engine, loaded, now=now, replace=True, horizon=deps.horizon(request))
    deps.after_write(request)
    return detail_of(row)


@router.delete(
    "/{agreement_id}",
    status_code=204,
    response_class=Response,
    dependencies=[Depends(require_write)],
    responses={409: {"model": ErrorOut}},
)
def delete_agreement(
    agreement_id: AgreementId,
    request: Request,
    engine: Annotated[Engine, Depends(deps.get_engine)],
    now: Annotated[datetime, Depends(deps.get_now)],
) -> Response:
    """Delete an agreement written through the API; its pending reminders are cancelled."""
    from tracker.store.repository import delete_api_agreement

    delete_api_agreement(engine, agreement_id, now=now)
    deps.after_write(request)
    return Response(status_code=204)


@router.get(
    "/{agreement_id}/explain", response_model=ExplanationOut, dependencies=[Depends(require_read)]
)
def explain(
    agreement_id: AgreementId,
    engine: Annotated[Engine, Depends(deps.get_engine)],
    today: Annotated[date, Depends(deps.today)],
    as_of: Annotated[date | None, Query(description="Compute as if today were this day.")] = None,
) -> dict[str, Any]:
    """The agreement's rules with their sources, its events with what each did, and how
    each upcoming date is derived (the same text as ``tracker explain``)."""
    from tracker.store.repository import get_agreement

    if as_of is not None:
        check_day(as_of, "as_of")
    agreement = get_agreement(engine, agreement_id)
    return explanation_of(agreement, as_of=as_of or today)


def explanation_of(agreement: Any, *, as_of: date) -> dict[str, Any]:
    from tracker.domain.explain import explain_or_fail

    result = explain_or_fail(agreement, as_of=as_of)
    return {
        "agreement": agreement.id,
        "title": agreement.title,
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
