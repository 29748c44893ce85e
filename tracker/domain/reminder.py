"""Reminder statuses and the reasons recorded with them (decisions are values)."""

from __future__ import annotations

from enum import StrEnum


class ReminderStatus(StrEnum):
    PENDING = "pending"  # planned, waiting for its due time
    SENDING = "sending"  # claimed by a dispatcher under a lease
    SENT = "sent"
    RETRYING = "retrying"  # failed, next attempt scheduled
    DEAD = "dead"  # gave up: permanent failure or attempts exhausted
    SKIPPED = "skipped"  # its time passed while the service was down and a later one covers it
    CANCELLED = "cancelled"  # its deadline no longer exists (e.g. notice given)
    ACKNOWLEDGED = "acknowledged"  # someone acknowledged the deadline; no more reminders


#: Statuses a reminder never leaves.
FINAL_STATUSES = frozenset(
    {
        ReminderStatus.SENT,
        ReminderStatus.DEAD,
        ReminderStatus.SKIPPED,
        ReminderStatus.CANCELLED,
        ReminderStatus.ACKNOWLEDGED,
    }
)
