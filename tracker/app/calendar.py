"""The iCalendar output's alarms: which reminder offsets are in force for each agreement.

Both doors use it: the API's ``/calendar.ics`` (agreements from the database) and the CLI's
``deadlines --format ics`` (from files or the database).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from tracker import __version__
from tracker.domain.alarms import alarm_triggers
from tracker.domain.deadline import Deadline
from tracker.domain.durations import Duration, DurationParseError, parse_duration
from tracker.feed import Alarms
from tracker.settings import Settings

if TYPE_CHECKING:
    from tracker.app.context import Context
    from tracker.app.deadlines import Window


def alarms(settings: Settings, offsets: Mapping[str, Sequence[Duration] | None]) -> Alarms:
    """The alarms of each deadline: its agreement's own ``reminders`` (from ``offsets``, by
    agreement id; None or absent: the configured ones) at the configured ``send_time``, for
    the kinds ``reminder_kinds`` allows."""
    policy = settings.reminder_policy()

    def triggers(deadline: Deadline) -> list[timedelta]:
        own = offsets.get(deadline.agreement)
        return alarm_triggers(
            deadline,
            own if own is not None else policy.offsets,
            send_time=policy.send_time,
            kinds=policy.kinds,
        )

    return triggers


def feed_tag(
    context: Context,
    window: Window,
    agreement: Sequence[str],
    kind: Sequence[str],
    tag: Sequence[str],
) -> str | None:
    """An ``ETag`` for the feed of this query, known before the feed is built: a digest of
    what the feed is a function of (the data version, the window, the filters, the alarm
    settings, the code's version), or None when the database keeps no data version.

    The version is read before the feed would be, so a feed built from newer data may carry
    an older tag (the next request then gets the feed again), never the reverse."""
    from tracker.store.counts import current_version

    version = current_version(context.engine)
    if version is None:
        return None
    policy = context.settings.reminder_policy()
    facts = [
        __version__,
        version,
        window.as_of.isoformat(),
        window.start.isoformat(),
        window.end.isoformat(),
        sorted(agreement),
        sorted(kind),
        sorted(tag),
        # what alarms() reads of the policy
        repr(policy.offsets),
        policy.send_time.isoformat(),
        sorted(policy.kinds) if policy.kinds is not None else None,
    ]
    digest = hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def stored_offsets(context: Context, ids: Iterable[str]) -> dict[str, list[Duration] | None]:
    """The ``reminders`` of the stored agreements among ``ids`` that name their own (absent
    or None: they name none)."""
    from tracker.store.repository import own_reminders

    found: dict[str, list[Duration] | None] = {}
    # Few agreements name their own reminders; the database lists those once per data
    # version, instead of sending the documents of every agreement in a feed (up to 5,000).
    named = own_reminders(context.engine)
    for agreement_id in set(ids) & named.keys():
        texts = named[agreement_id]
        try:
            found[agreement_id] = None if texts is None else [parse_duration(t) for t in texts]
        except (DurationParseError, TypeError):
            found[agreement_id] = None  # stored by a version that read it differently
    return found
