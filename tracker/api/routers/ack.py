"""``/ack/{token}``: the one-click acknowledgement link in every reminder.

GET shows what the link acknowledges and a button, and changes nothing (mail scanners fetch
links); only the button's POST acknowledges. The link itself is the permission: no API token
is asked for, whatever ``read_requires_token`` says. An invalid link answers 404, an expired
one 410, both as a page that says why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from tracker.api import deps
from tracker.api.routers.pages import CALENDAR_PATH, templates
from tracker.app import ack
from tracker.app.context import Context

router = APIRouter(include_in_schema=False)

#: Tokens are well under this; anything longer is not one of ours.
MAX_TOKEN_CHARS = 1000
Token = Annotated[str, PathParam(max_length=MAX_TOKEN_CHARS)]
STATUS = {
    ack.LinkState.INVALID: 404,
    ack.LinkState.EXPIRED: 410,
    ack.LinkState.OPEN: 200,
    ack.LinkState.ACKNOWLEDGED: 200,
}


def _page(request: Request, view: ack.AckView, token: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "ack.html",
        {"view": view, "token": token, "calendar_path": CALENDAR_PATH},
        status_code=STATUS[view.state],
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get("/ack/{token}", response_class=HTMLResponse)
def show(
    request: Request,
    token: Token,
    context: Annotated[Context, Depends(deps.get_context)],
    now: Annotated[datetime, Depends(deps.get_now)],
) -> HTMLResponse:
    return _page(request, ack.look(context, token, now=now), token)


@router.post("/ack/{token}", response_class=HTMLResponse)
def acknowledge(
    request: Request,
    token: Token,
    context: Annotated[Context, Depends(deps.get_context)],
    now: Annotated[datetime, Depends(deps.get_now)],
    name: Annotated[str | None, Form(max_length=ack.MAX_NAME_CHARS * 2)] = None,
) -> HTMLResponse:
    return _page(request, ack.confirm(context, token, by=name, now=now), token)
