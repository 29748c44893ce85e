"""What the reminder plan would send over a period, sending and storing nothing.

Works on agreements from files as well as from the database, so it imports no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tracker.app.deadlines import check_day
from tracker.domain.agreement import Agreement
from tracker.domain.planner import Simulated, simulate
from tracker.settings import Settings


def simulated(
    settings: Settings, agreements: Sequence[Agreement], *, start: date, end: date
) -> tuple[list[Simulated], dict[str, str]]:
    """Every reminder a running service would send from ``start`` to ``end`` (inclusive),
    each decided with what is known that day, and the agreements whose rules failed (id ->
    why). WindowError for a day outside the days the tracker answers for."""
    check_day(start, "from")
    check_day(end, "to")
    return simulate(agreements, settings.reminder_policy(), start=start, end=end)
