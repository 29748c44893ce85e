"""Dependencies shared by the routers: the engine, the service, and the clock.

The API is an entry point, so it may read the clock; it does so in one place,
``app.state.clock`` (a callable returning an aware UTC datetime), which tests replace to
pin "now".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy.engine import Engine

from tracker.api.memo import Memo
from tracker.settings import Settings

if TYPE_CHECKING:
    from tracker.store.deadlines import Horizon


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_service(request: Request) -> Any:
    return request.app.state.service


def get_memo(request: Request) -> Memo:
    memo: Memo = request.app.state.memo
    return memo


def get_now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def today(request: Request) -> date:
    """Today in the configured time zone: the default ``as_of``."""
    settings = get_settings(request)
    return settings.today(get_now(request))


def horizon(request: Request) -> Horizon:
    """What a write materialises in its own transaction: the deadlines from today (in the
    configured zone) over the planning horizon, as the service does."""
    from tracker.domain.durations import shift
    from tracker.store.deadlines import Horizon

    as_of = today(request)
    return Horizon(as_of=as_of, end=shift(as_of, get_settings(request).planning_horizon))


def after_write(request: Request) -> None:
    """After an agreement write (whose deadlines the write itself stored): forget remembered
    answers and let the attached service re-plan reminders now."""
    get_memo(request).clear()
    service = get_service(request)
    if service is not None and hasattr(service, "replan"):
        service.replan(now=get_now(request))
