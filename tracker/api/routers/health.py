"""``/healthz`` (also ``/api/v1/healthz``): database reachable, scheduler alive, last tick.

Never needs a token (load balancers and orchestrators call it). 200 when the database
answers (``status`` "ok", or "degraded" when this process's scheduler is not running), 503
with ``status`` "unavailable" and ``Retry-After`` when the database does not answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from tracker import __version__
from tracker.api import deps
from tracker.api.errors import RETRY_AFTER_S
from tracker.api.schemas import HealthOut

router = APIRouter(tags=["health"])


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return False
    return True


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def service_state(service: Any) -> dict[str, Any]:
    """What :meth:`tracker.service.Service.health` says about this process's scheduler."""
    if service is None:
        return {"scheduler": None, "last_tick_at": None, "last_plan_at": None, "worker": None}
    report: dict[str, Any] = service.health()
    return {
        "scheduler": bool(report.get("scheduler")),
        "last_tick_at": _instant(report.get("last_tick_at")),
        "last_plan_at": _instant(report.get("last_plan_at")),
        "worker": report.get("worker"),
    }


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
)
def healthz(
    engine: Annotated[Engine, Depends(deps.get_engine)],
    service: Annotated[Any, Depends(deps.get_service)],
) -> JSONResponse:
    """Whether the database answers, the scheduler runs, and when the last tick succeeded."""
    database = database_reachable(engine)
    state = service_state(service)
    status = "unavailable" if not database else "degraded" if state["scheduler"] is False else "ok"
    body = HealthOut(status=status, database=database, version=__version__, **state)
    if database:
        return JSONResponse(body.model_dump(mode="json"))
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
