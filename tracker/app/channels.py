"""Delivery channels: bringing back one that a receiver disabled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.store import reminders as outbox

if TYPE_CHECKING:
    from tracker.app.context import Context


def enable(context: Context, name: str) -> bool:
    """Re-enable a channel disabled by HTTP 410 for every replica; whether it was disabled.
    Reminders already dead stay dead; later ones are sent again."""
    return outbox.enable_channel(context.engine, name)
