"""One-click acknowledgement: what ``{public_url}/ack/{token}`` shows and does.

Looking at the link (GET) changes nothing: mail scanners and link previews fetch links
before anyone reads the mail. Only confirming it (POST) acknowledges. Acknowledging is
idempotent: the first acknowledgement (who, when) is kept and shown on every later visit,
and the deadline's unsent reminders and escalations become ``acknowledged``; the planner
plans none for it afterwards.

A link that does not verify (changed, signed with another key, or no ``ack_secret``
configured) is ``invalid``; one past its last day is ``expired``
(:mod:`tracker.domain.ack`). Either way nothing is read from it and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from tracker.domain.ack import AckTarget, TokenError, verify
from tracker.store import reminders as outbox
from tracker.store.repository import agreement_documents

if TYPE_CHECKING:
    from tracker.app.context import Context

#: Longest name a person may give when acknowledging.
MAX_NAME_CHARS = 200
#: Who acknowledged, when the person gives no name.
ANONYMOUS_NAME = "someone (via the link)"


class LinkState(StrEnum):
    INVALID = "invalid"
    EXPIRED = "expired"
    OPEN = "open"  # valid, not acknowledged yet
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class AckView:
    """What an acknowledgement page shows."""

    state: LinkState
    problem: str | None = None
    agreement: str | None = None
    title: str | None = None
    kind: str | None = None
    date: date | None = None
    party: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    stopped: int = 0  # reminders stopped by this very request


def _target(context: Context, token: str, *, now: datetime) -> AckTarget | AckView:
    secret = context.settings.ack_secret
    if secret is None:
        return AckView(LinkState.INVALID, "acknowledgement links are not configured here")
    try:
        return verify(token, secret=secret.get_secret_value(), today=now.astimezone(UTC).date())
    except TokenError as exc:
        return AckView(LinkState.EXPIRED if exc.expired else LinkState.INVALID, str(exc))


def _view(
    context: Context, target: AckTarget, record: outbox.Acknowledgement | None, stopped: int = 0
) -> AckView:
    title = agreement_documents(context.engine, [target.agreement]).get(target.agreement)
    return AckView(
        LinkState.ACKNOWLEDGED if record is not None else LinkState.OPEN,
        agreement=target.agreement,
        title=title[0] if title else None,
        kind=target.kind,
        date=target.date,
        party=target.party or None,
        acknowledged_at=record.acknowledged_at if record else None,
        acknowledged_by=record.acknowledged_by if record else None,
        stopped=stopped,
    )


def look(context: Context, token: str, *, now: datetime) -> AckView:
    """What the link names and whether it was acknowledged; changes nothing."""
    target = _target(context, token, now=now)
    if isinstance(target, AckView):
        return target
    return _view(context, target, outbox.get_acknowledgement(context.engine, target.deadline_key))


def confirm(context: Context, token: str, *, by: str | None, now: datetime) -> AckView:
    """Acknowledge the deadline the link names (idempotent), recording ``by`` (the name the
    person gave, else :data:`ANONYMOUS_NAME`) and ``now``."""
    target = _target(context, token, now=now)
    if isinstance(target, AckView):
        return target
    name = " ".join((by or "").split())[:MAX_NAME_CHARS] or ANONYMOUS_NAME
    record, changed = outbox.acknowledge_deadline(
        context.engine, target.deadline_key, by=name, via="link", now=now
    )
    return _view(context, target, record, stopped=len(changed))
