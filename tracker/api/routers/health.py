"""``/healthz`` (also ``/api/v1/healthz``): database reachable, scheduler alive, last tick.

Never needs a token (load balancers and orchestrators call it). 200 when the database
answers (``status`` "ok", or "degraded" when this process's scheduler is not running or a file
in the agreements folder is invalid, with ``invalid_files`` naming each and its errors), 503
with ``status`` "unavailable" and ``Retry-After`` when the database does not answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from tracker import __version__
from tracker.api import deps
from tracker.api.deps import ServiceLike
from tracker.api.errors import RETRY_AFTER_S
from tracker.api.schemas import HealthOut, InvalidFileOut
from tracker.app import status
from tracker.app.context import Context

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
)
def healthz(
    context: Annotated[Context, Depends(deps.get_context)],
    service: Annotated[ServiceLike | None, Depends(deps.get_service)],
) -> JSONResponse:
    """Whether the database answers, the scheduler runs, and when the last tick succeeded."""
    health = service.health() if service is not None else status.health(context)
    body = HealthOut(
        status=health.status,
        database=health.database,
        scheduler=health.scheduler,
        last_tick_at=health.last_tick_at,
        last_plan_at=health.last_plan_at,
        worker=health.worker,
        invalid_files=[
            InvalidFileOut(file=file, errors=lines) for file, lines in health.invalid_files.items()
        ],
        version=__version__,
    )
    if health.database:
        return JSONResponse(body.model_dump(mode="json"))
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
