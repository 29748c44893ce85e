"""The ASGI application factory.

``create_app(settings, service=...)`` builds the FastAPI app; when a service (scheduler and
dispatcher, :class:`tracker.service.Service`) is given, the app's lifespan starts it on
startup and stops it on shutdown, so ``tracker serve`` runs everything in one process and
SIGTERM (handled by uvicorn) stops the scheduler cleanly.

What is mounted where:

* ``/api/v1/...``      the JSON API (one router per resource), OpenAPI at ``/docs``
* ``/calendar.ics``    the iCalendar feed
* ``/healthz``         health (also ``/api/v1/healthz``)
* ``/metrics``         Prometheus metrics, collected from the database at scrape time
* ``/`` and ``/agreements/{id}``  the server-rendered web page
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tracker import __version__
from tracker.api.errors import BodyTooLarge, error_response, install_error_handlers
from tracker.api.memo import Memo
from tracker.api.metrics import install_metrics
from tracker.api.routers import agreements, calendar, deadlines, health, pages, reminders
from tracker.settings import Settings
from tracker.store.engine import make_engine

API_PREFIX = "/api/v1"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServiceLike(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, by ``Content-Length`` and by count.

    The declared length is checked first (cheap, and the body is never read); a body sent
    chunked or with a lying header is counted as it arrives and refused once it passes the
    limit. Bodies here are small documents, so buffering up to the limit is fine.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                messages.append(message)
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            BodyTooLarge(f"request body is larger than {self.max_bytes} bytes (max_body_bytes)")
        )
        await response(scope, receive, send)


def _openapi_with_agreement_schema(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated schema plus the agreement format, so that the YAML/JSON body of
    ``POST``/``PUT /agreements`` (read by the loader, not by FastAPI) is documented; reads
    are documented as needing the token only when ``read_requires_token`` is set."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        from tracker.domain.agreement import Agreement

        agreement_schema = Agreement.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(agreement_schema.pop("$defs", {}))
        components["Agreement"] = agreement_schema
        if not app.state.settings.read_requires_token:
            for operations in schema.get("paths", {}).values():
                if "get" in operations:
                    operations["get"].pop("security", None)
        app.openapi_schema = schema
        return schema

    return openapi


def create_app(settings: Settings, *, service: ServiceLike | None = None) -> FastAPI:
    engine = getattr(service, "engine", None)
    owns_engine = engine is None
    if engine is None:
        engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if service is not None:
            service.start()
        try:
            yield
        finally:
            if service is not None:
                service.stop()
            if owns_engine:
                engine.dispose()

    app = FastAPI(
        title="Treaty deadline tracker",
        version=__version__,
        lifespan=lifespan,
        description="Agreements, their computed deadlines, reminders and a calendar feed. "
        "Writes need `Authorization: Bearer <api_token>`.",
    )
    app.state.settings = settings
    app.state.service = service
    app.state.engine = engine
    app.state.clock = lambda: datetime.now(UTC)
    app.state.memo = Memo()

    install_error_handlers(app)
    for module in (agreements, deadlines, reminders):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(health.router)
    # The same check under the API prefix; documented once to keep operation ids unique.
    app.include_router(health.router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(calendar.router)
    install_metrics(app)
    app.include_router(pages.router)
    app.openapi = _openapi_with_agreement_schema(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
