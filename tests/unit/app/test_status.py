"""The health of a process, as a value."""

from __future__ import annotations

import pytest

from tracker.app.status import Health


@pytest.mark.parametrize(
    ("health", "status"),
    [
        (Health(database=True), "ok"),  # an API without a scheduler
        (Health(database=True, scheduler=True, worker="w1"), "ok"),
        (Health(database=True, scheduler=False, worker="w1"), "degraded"),
        (Health(database=False, scheduler=True, worker="w1"), "unavailable"),
        (Health(database=False), "unavailable"),
    ],
)
def test_status_says_unavailable_without_a_database_and_degraded_without_a_scheduler(
    health: Health, status: str
) -> None:
    assert health.status == status
