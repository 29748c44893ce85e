"""The ASGI application factory.

``create_app(settings, service=...)`` builds the FastAPI app; when a service (scheduler and
dispatcher, :class:`tracker.service.Service`) is given, the app's lifespan starts it on
startup and stops it on shutdown, so ``tracker serve`` runs everything in one process and
SIGTERM (handled by uvicorn) stops the scheduler cleanly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI

from tracker import __version__
from tracker.settings import Settings


class ServiceLike(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(settings: Settings, *, service: ServiceLike | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if service is not None:
            service.start()
        try:
            yield
        finally:
            if service is not None:
                service.stop()

    app = FastAPI(title="Treaty deadline tracker", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.service = service

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    return app
