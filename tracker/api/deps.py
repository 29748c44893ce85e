"""Dependencies shared by the routers: the application context, the service, the memo and
the clock.

The API is an entry point, so it may read the clock; it does so in one place,
``app.state.clock`` (a callable returning an aware UTC datetime), which tests replace to
pin "now".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from fastapi import Request

from tracker.api.memo import Memo
from tracker.app.context import Context
from tracker.app.status import Health
from tracker.settings import Settings


class ServiceLike(Protocol):
    """What the app needs of the service it runs (:class:`tracker.service.Service`)."""

    context: Context
    last_tick_at: datetime | None
    invalid_files: dict[str, list[str]]

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def replan(self, *, now: datetime | None = None) -> object: ...

    def health(self) -> Health: ...

    @property
    def last_tick_duration_s(self) -> float | None: ...


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_service(request: Request) -> ServiceLike | None:
    service: ServiceLike | None = request.app.state.service
    return service


def get_memo(request: Request) -> Memo:
    memo: Memo = request.app.state.memo
    return memo


def get_now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def today(request: Request) -> date:
    """Today in the configured time zone: the default ``as_of``."""
    return get_context(request).today(get_now(request))
