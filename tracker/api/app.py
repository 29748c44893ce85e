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
* ``/docs``, ``/openapi.json``  the API's documentation (reads: they need the token when
  ``read_requires_token`` is set)
* ``/static/...``      the page's style sheet and the docs' scripts (public: no data in them)

Every response carries the security headers of :class:`SecurityHeaders`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from tracker import __version__
from tracker.api.deps import ServiceLike
from tracker.api.errors import BodyTooLarge, error_response, install_error_handlers
from tracker.api.memo import Memo
from tracker.api.metrics import install_metrics
from tracker.api.routers import (
    ack,
    agreements,
    calendar,
    channels,
    deadlines,
    docs,
    health,
    pages,
    reminders,
)
from tracker.app.context import Context
from tracker.settings import Settings

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Swagger UI and ReDoc as the fastapi-offline package ships them.
DOCS_ASSETS_DIR = Path(str(resources.files("fastapi_offline") / "static"))
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: The web page, error pages and every API answer: nothing but this origin's style sheet, no
#: script at all, no framing, forms posting only here.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
#: /docs runs Swagger UI: its scripts come from this origin only (no inline script), it
#: fetches the schema and tries requests here, and it sets styles at run time
#: ('unsafe-inline' for styles only, never for scripts).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PAGES = frozenset({"/docs"})


class SecurityHeaders:
    """Add the browser security headers to every HTTP response: the Content-Security-Policy
    (:data:`PAGE_CSP`, or :data:`DOCS_CSP` on ``/docs``), ``X-Content-Type-Options:
    nosniff``, ``Referrer-Policy: no-referrer`` (links to a treaty's sources do not tell
    other sites which tracker page they came from) and ``X-Frame-Options: DENY`` for
    browsers that predate ``frame-ancestors``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in DOCS_PAGES else PAGE_CSP
        extra = [
            (b"content-security-policy", csp.encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {extra_name for extra_name, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
    base = service.context if service is not None else Context.connect(settings)

    def after_write(*, now: datetime) -> None:
        # The answers this process remembers are stale now, and the service plans the new
        # deadlines' reminders at once instead of at its next hourly run.
        app.state.memo.clear()
        if service is not None:
            service.replan(now=now)

    context = replace(base, after_write=after_write)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The database work of requests runs in anyio's worker threads; bound them.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        if service is not None:
            service.start()
        try:
            yield
        finally:
            if service is not None:
                service.stop()
            else:
                context.close()

    app = FastAPI(
        title="Treaty deadline tracker",
        version=__version__,
        lifespan=lifespan,
        # Served by routers.docs instead: from local assets, and behind read_requires_token.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        description="Agreements, their computed deadlines, reminders and a calendar feed. "
        "Writes need `Authorization: Bearer <api_token>`.",
    )
    app.state.settings = settings
    app.state.service = service
    app.state.context = context
    app.state.clock = lambda: datetime.now(UTC)
    app.state.memo = Memo()

    install_error_handlers(app)
    for module in (agreements, deadlines, reminders, channels):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(health.router)
    # The same check under the API prefix; documented once to keep operation ids unique.
    app.include_router(health.router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(calendar.router)
    install_metrics(app)
    app.include_router(pages.router)
    app.include_router(ack.router)
    app.include_router(docs.router)
    app.mount(docs.DOCS_ASSETS, StaticFiles(directory=DOCS_ASSETS_DIR), name="docs-assets")
    app.mount(docs.STATIC, StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = _openapi_with_agreement_schema(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
