"""``/healthz`` (also ``/api/v1/healthz``): database reachable, scheduler alive, last tick.

Never needs a token (load balancers and orchestrators call it). 200 when the database
answers, 503 when it does not.
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
from tracker.api.schemas import HealthOut

router = APIRouter(tags=["health"])


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return False
    return True


def _scheduler_state(service: Any) -> tuple[bool | None, datetime | None]:
    if service is None:
        return None, None
    report: dict[str, Any] = service.health() if hasattr(service, "health") else {}
    running = report.get("scheduler_running", report.get("scheduler"))
    if isinstance(running, dict):
        running = running.get("running")
    last_tick = report.get("last_tick_at", getattr(service, "last_tick_at", None))
    if isinstance(last_tick, str):
        last_tick = datetime.fromisoformat(last_tick)
    return (None if running is None else bool(running)), last_tick


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
    scheduler, last_tick = _scheduler_state(service)
    body = HealthOut(
        status="ok" if database else "unavailable",
        database=database,
        scheduler=scheduler,
        last_tick_at=last_tick,
        version=__version__,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if database else 503)
