"""Notifications shared by the channel tests: the GSOMIA notice deadline of 2020."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tracker.notify.base import Notification

GSOMIA_TITLE = "Korea–Japan General Security of Military Information Agreement (GSOMIA)"


def gsomia_deadline(**changes: Any) -> dict[str, Any]:
    deadline = {
        "agreement": "kr-jp-gsomia",
        "title": GSOMIA_TITLE,
        "kind": "notice_deadline",
        "date": "2020-08-24",
        "party": None,
        "label": None,
        "days_left": 17,
        "explanation": "expiry 2020-11-22 − 90 days = 2020-08-24",
        "source": "Art. 21(3)",
        "weekday_note": None,
    }
    deadline.update(changes)
    return deadline


def gsomia_notification(*, deadline: dict[str, Any] | None = None, **changes: Any) -> Notification:
    """The reminder due on 7 August 2020, 17 days before the notice deadline of 24 August."""
    notification = Notification(
        reminder_id=42,
        message_id="msg_2f8c1a0e9b7d4c3a",
        channel="desk",
        offset="17 days",
        due_at=datetime(2020, 8, 7, 0, 0, tzinfo=UTC),  # 09:00 in Seoul
        deadline=deadline or gsomia_deadline(),
        agreement={
            "id": "kr-jp-gsomia",
            "title": GSOMIA_TITLE,
            "sources": [
                {
                    "cite": "Art. 21(3)",
                    "url": "https://example.org/gsomia-text",
                    "quote": "... unless either Party notifies the other in writing ...",
                }
            ],
        },
    )
    return replace(notification, **changes)
