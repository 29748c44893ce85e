"""``/openapi.json`` and ``/docs`` (Swagger UI), served entirely by this process.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and start them with an inline script;
here the assets come from the ``fastapi-offline`` package (mounted at :data:`DOCS_ASSETS`)
and Swagger UI starts from ``/static/swagger-init.js``, so the docs work on a machine without
internet access and under a Content-Security-Policy that allows scripts from this origin only.
``/redoc`` is not served: ReDoc's bundle always shows its vendor's logo from that vendor's
CDN, which the policy (rightly) blocks; ``/docs`` documents the same schema.

Both are reads: with ``read_requires_token`` they need the bearer token like every other
read. A browser sends that header only through a proxy that adds it (as it must for the web
page too); the schema itself is what a client generator fetches, with the token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from tracker.api.auth import require_read
from tracker.api.routers.pages import templates

#: Where the Swagger UI and ReDoc assets are mounted, and the app's own static files.
DOCS_ASSETS = "/static/docs"
STATIC = "/static"
OPENAPI_PATH = "/openapi.json"

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_read)])


def _context(request: Request) -> dict[str, Any]:
    root = request.scope.get("root_path", "")
    return {
        "title": request.app.title,
        "openapi_url": root + OPENAPI_PATH,
        "assets": root + DOCS_ASSETS,
        "static": root + STATIC,
    }


@router.get(OPENAPI_PATH)
def openapi_schema(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "docs.html", _context(request))
