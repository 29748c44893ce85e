"""The one place where the API turns errors into HTTP responses.

Routes hold no ``try``/``except``: they raise from the :mod:`tracker.errors` tree and the
handlers here map it to a status code and a JSON body ``{"detail": ...}``:

====================  ======  ==============================================================
error                 status  detail
====================  ======  ==============================================================
ValidationFailed      422     list of file-style messages (``<request>:7:5: rules[0]...``)
ConfigError, RuleError 422    list with one message
WindowError           422     list with one message naming the query field (``query.from: ...``)
NotFoundError         404     the message
ConflictError         409     the message (e.g. which file owns the agreement)
AuthError             401     the message, with ``WWW-Authenticate: Bearer``
WritesDisabled        403     the message
BodyTooLarge          413     the message
UnsupportedMediaType  415     the message
other TrackerError    400     the message
request validation    422     list of ``location: message`` strings
DatabaseUnavailable   503     "the database is unavailable; try again shortly", with
                              ``Retry-After`` (the store raises it for a refused or dropped
                              connection, a locked file or a pool timeout; the cause is logged)
====================  ======  ==============================================================

A browser asking for the web page (``Accept: text/html``, not an API path) gets the same
status with the message in a small HTML page instead.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracker.app.deadlines import WindowError, WindowProblem
from tracker.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    DatabaseUnavailable,
    NotFoundError,
    RuleError,
    TrackerError,
    ValidationFailed,
)
from tracker.logs import fields
from tracker.redact import redact

log = logging.getLogger(__name__)

#: What a client is told to wait before trying again while the database is unavailable.
RETRY_AFTER_S = 5
DATABASE_UNAVAILABLE = "the database is unavailable; try again shortly"


class WritesDisabled(AuthError):
    """No API token is configured, so every write is refused (403)."""


class BodyTooLarge(TrackerError):
    """The request body is larger than ``max_body_bytes`` (413)."""


class UnsupportedMediaType(TrackerError):
    """A body in a format the endpoint does not read (415)."""


class BadRequest(TrackerError):
    """A request that is well-formed but makes no sense (e.g. an id that is not the path's):
    422."""


def window_detail(exc: WindowError) -> str:
    """A window problem in the query's terms: ``query.<field>: ...`` or ``query: ...``."""
    if exc.problem is WindowProblem.ENDS_BEFORE_START and exc.start and exc.end:
        return f"query: 'to' {exc.end.isoformat()} is before 'from' {exc.start.isoformat()}"
    return f"query.{exc.field}: {exc.message}" if exc.field else f"query: {exc.message}"


def _status_and_detail(exc: TrackerError) -> tuple[int, Any]:
    if isinstance(exc, ValidationFailed):
        return 422, [str(e) for e in exc.errors]
    if isinstance(exc, WindowError):
        return 422, [window_detail(exc)]
    if isinstance(exc, ConfigError | RuleError | BadRequest):
        return 422, [str(exc)]
    if isinstance(exc, NotFoundError):
        return 404, str(exc)
    if isinstance(exc, ConflictError):
        return 409, str(exc)
    if isinstance(exc, WritesDisabled):
        return 403, str(exc)
    if isinstance(exc, AuthError):
        return 401, str(exc)
    if isinstance(exc, BodyTooLarge):
        return 413, str(exc)
    if isinstance(exc, UnsupportedMediaType):
        return 415, str(exc)
    if isinstance(exc, DatabaseUnavailable):
        return 503, DATABASE_UNAVAILABLE
    return 400, str(exc)


def _headers(status: int) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if status == 503:
        return {"Retry-After": str(RETRY_AFTER_S)}
    return None


def error_response(exc: TrackerError) -> JSONResponse:
    status, detail = _status_and_detail(exc)
    return JSONResponse({"detail": detail}, status_code=status, headers=_headers(status))


#: Paths that are not the web page: they always answer errors in JSON.
_MACHINE_PREFIXES = ("/api/", "/calendar.ics", "/metrics", "/healthz", "/docs", "/openapi")


def wants_page(request: Request) -> bool:
    """A browser asking for the web page gets errors as a small HTML page."""
    path = request.url.path
    return not path.startswith(_MACHINE_PREFIXES) and "text/html" in request.headers.get(
        "accept", ""
    )


_TITLES = {
    401: "Token needed",
    403: "Forbidden",
    404: "Not found",
    422: "Bad request",
    503: "Unavailable",
}


def page_error(exc: TrackerError) -> HTMLResponse:
    status, detail = _status_and_detail(exc)
    return error_page(status, detail)


def error_page(status: int, detail: Any, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A small HTML page saying what went wrong, with the site's style and a way back."""
    text = "; ".join(str(d) for d in detail) if isinstance(detail, list) else str(detail)
    title = _TITLES.get(status, "Error")
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{status} {title} · Treaty deadlines</title>"
        '<link rel="stylesheet" href="/static/tracker.css"></head><body>'
        '<header><a href="/">Treaty deadlines</a></header><main>'
        f"<h1>{status}</h1><p>{html.escape(text)}</p>"
        '<p><a href="/">All deadlines</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers=headers or _headers(status))


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return "request"
    head, rest = parts[0], parts[1:]
    return f"{head}.{'.'.join(rest)}" if rest else head


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; called once by :func:`tracker.api.app.create_app`."""

    async def tracker_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TrackerError)
        if isinstance(exc, DatabaseUnavailable):
            log.warning(
                "api.database_unavailable",
                extra=fields(
                    method=request.method,
                    path=request.url.path,
                    error=f"{exc.kind}: {redact(exc.reason, ())}",
                ),
            )
        if wants_page(request):
            return page_error(exc)
        return error_response(exc)

    async def request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        detail = [
            f"{_location(err.get('loc', ()))}: {err.get('msg', 'invalid')}" for err in exc.errors()
        ]
        if wants_page(request):
            return error_page(422, detail)
        return JSONResponse({"detail": detail}, status_code=422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_page(request):
            detail = "no such page" if exc.status_code == 404 else exc.detail
            return error_page(exc.status_code, detail, getattr(exc, "headers", None))
        return JSONResponse(
            {"detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    app.add_exception_handler(TrackerError, tracker_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
