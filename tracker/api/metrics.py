"""``/metrics``: Prometheus metrics, collected from the database at scrape time.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (no global state, so
several apps in one test process do not collide). A custom collector reads the database on
every scrape, so every replica reports the same shared truth:

* ``tracker_reminders{status}``                     reminders by status
* ``tracker_delivery_attempts_total{channel}``      delivery attempts by channel
* ``tracker_delivery_failures_total{channel}``      attempts that did not deliver
* ``tracker_tick_duration_seconds``                 duration of this process's last tick
* ``tracker_last_tick_timestamp_seconds``           end of this process's last successful tick
* ``tracker_deadline_seconds{agreement,kind,date,party}``  seconds from now until the start
  (00:00 UTC) of each upcoming deadline day, the nearest :data:`MAX_DEADLINE_SERIES`
* ``tracker_database_up``                           1 when the scrape could read the database
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from tracker.api.auth import require_read
from tracker.api.deps import ServiceLike
from tracker.api.schemas import ErrorOut
from tracker.app import status
from tracker.app.context import Context
from tracker.domain.reminder import ReminderStatus

#: Upcoming deadlines exported as series; more would make every scrape expensive.
MAX_DEADLINE_SERIES = 1000


class TrackerCollector(Collector):
    """Reads reminders, attempts and upcoming deadlines from the database on each scrape."""

    def __init__(
        self,
        context: Callable[[], Context],
        *,
        clock: Callable[[], datetime],
        service: ServiceLike | None,
    ) -> None:
        self.context = context
        self.clock = clock
        self.service = service

    def describe(self) -> list[Any]:
        # Returning nothing keeps registration from running a scrape (and a query).
        return []

    def collect(self) -> Iterator[Any]:
        now = self.clock()
        counts = status.counts(self.context(), now=now, upcoming=MAX_DEADLINE_SERIES)
        up = GaugeMetricFamily("tracker_database_up", "1 when the scrape could read the database.")
        up.add_metric([], 0 if counts is None else 1)
        yield up
        if counts is not None:
            yield from self._from_database(counts, now)
        yield from self._from_service()

    def _from_database(self, counts: status.Counts, now: datetime) -> list[Any]:
        reminders = GaugeMetricFamily(
            "tracker_reminders", "Reminders by status.", labels=["status"]
        )
        attempts = CounterMetricFamily(
            "tracker_delivery_attempts", "Delivery attempts by channel.", labels=["channel"]
        )
        failures = CounterMetricFamily(
            "tracker_delivery_failures",
            "Delivery attempts that failed, by channel.",
            labels=["channel"],
        )
        deadlines = GaugeMetricFamily(
            "tracker_deadline_seconds",
            "Seconds from now until the start (00:00 UTC) of each upcoming deadline day.",
            labels=["agreement", "kind", "date", "party"],
        )
        for value in ReminderStatus:
            reminders.add_metric([value.value], counts.reminders_by_status.get(value.value, 0))
        for channel in counts.attempts_by_channel:
            attempts.add_metric([channel.channel], channel.attempts)
            failures.add_metric([channel.channel], channel.failures)
        for upcoming in counts.upcoming:
            day = upcoming.date
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            deadlines.add_metric(
                [upcoming.agreement, upcoming.kind, day.isoformat(), upcoming.party],
                (start - now).total_seconds(),
            )
        return [reminders, attempts, failures, deadlines]

    def _from_service(self) -> Iterator[Any]:
        if self.service is None:
            return
        invalid = GaugeMetricFamily(
            "tracker_agreement_files_invalid",
            "Files of the agreements folder that failed validation at the last sync.",
        )
        invalid.add_metric([], len(self.service.invalid_files))
        yield invalid
        duration = self.service.last_tick_duration_s
        if duration is not None:
            gauge = GaugeMetricFamily(
                "tracker_tick_duration_seconds", "Duration of this process's last dispatch tick."
            )
            gauge.add_metric([], float(duration))
            yield gauge
        last = self.service.last_tick_at
        if isinstance(last, datetime):
            gauge = GaugeMetricFamily(
                "tracker_last_tick_timestamp_seconds",
                "Unix time of this process's last successful dispatch tick.",
            )
            gauge.add_metric([], last.timestamp())
            yield gauge


router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_read)],
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format.",
        },
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
    },
)
def metrics(request: Request) -> Response:
    """Metrics in the Prometheus text format."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> None:
    """Give ``app`` its own registry with the database collector, and mount ``/metrics``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        TrackerCollector(
            lambda: app.state.context, clock=lambda: app.state.clock(), service=app.state.service
        )
    )
    app.state.metrics_registry = registry
    app.include_router(router)
