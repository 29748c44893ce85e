"""``/api/v1/channels``: the delivery channels and their state, and trying one right now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from tracker.api import deps
from tracker.api.auth import require_read, require_write
from tracker.api.schemas import ErrorOut
from tracker.app import channels
from tracker.app.context import Context

router = APIRouter(
    prefix="/channels",
    tags=["channels"],
    responses={code: {"model": ErrorOut} for code in (401, 403)},
)


class ChannelOut(BaseModel):
    name: str
    type: str = Field(description="webhook, email, log (or any other registered type).")
    enabled: bool = Field(description="False once a receiver answered 410 Gone.")
    problem: str | None = Field(
        description="Why the channel cannot deliver at all (e.g. an unset ${VAR}); null if none."
    )
    disabled_at: datetime | None
    disabled_reason: str | None
    last_success_at: datetime | None = Field(description="Last reminder delivered through it.")
    last_error_at: datetime | None = Field(description="Last failed delivery attempt.")
    last_error: str | None


class ChannelList(BaseModel):
    data: list[ChannelOut]
    count: int


class ChannelTestOut(BaseModel):
    channel: str
    type: str
    ok: bool = Field(description="Whether the receiver accepted the test message.")
    status: int | None = Field(description="HTTP status or SMTP reply code, when there was one.")
    detail: str = Field(description="The receiver's answer, or the error (secrets redacted).")
    sent_at: datetime


@router.get("", response_model=ChannelList, dependencies=[Depends(require_read)])
def list_channels(context: Annotated[Context, Depends(deps.get_context)]) -> ChannelList:
    """Every configured channel (and the built-in ``log``) with its state: enabled or
    disabled by a 410 (when and why), a configuration problem, the last successful delivery
    and the last error."""
    found = [
        ChannelOut.model_validate(state, from_attributes=True)
        for state in channels.list_channels(context)
    ]
    return ChannelList(data=found, count=len(found))


@router.post(
    "/{name}/test",
    response_model=ChannelTestOut,
    dependencies=[Depends(require_write)],
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def test_channel(
    request: Request, name: Annotated[str, PathParam(max_length=100)]
) -> ChannelTestOut:
    """Send one test message through the channel now (webhooks: type ``channel.test``) and
    return what the receiver answered. 200 whether or not it was accepted (see ``ok``); 404
    for a channel the configuration does not define; 422 for one that cannot be built (an
    unset ``${VAR}``). Changes no state: a 410 answer is reported, not acted on."""
    result = await channels.test_channel(
        deps.get_settings(request), name, now=deps.get_now(request)
    )
    return ChannelTestOut.model_validate(result, from_attributes=True)
