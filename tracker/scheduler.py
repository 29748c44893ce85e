"""APScheduler wiring only: a few interval jobs that call the service.

Jobs (never one per reminder; reminder state lives in the ``reminders`` table):

* ``dispatch`` every ``tick_seconds``: claim and send what is due;
* ``replan`` every hour: recompute deadlines and reconcile the reminder plan;
* ``watch`` every few seconds, when an agreements folder is configured: a cheap ``stat`` of the
  folder; a sync (and a replan) only when something changed.

The scheduler is a :class:`BackgroundScheduler` (its own threads, independent of uvicorn's
event loop) with the default in-memory job store: APScheduler 3.x cannot share a job store
between processes, and nothing here needs to, because replicas coordinate through row claims.
``coalesce`` folds runs missed while a job was busy into one, ``max_instances=1`` keeps a job
from overlapping itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from tracker.logs import fields

log = logging.getLogger(__name__)

REPLAN_INTERVAL_S = 3600
WATCH_INTERVAL_S = 2.0
#: A run that starts this late (the process was suspended, the job was busy) still runs once.
MISFIRE_GRACE_S = 60
#: One thread per job: jobs never overlap themselves, and the three may run side by side.
SCHEDULER_THREADS = 3


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:
            # APScheduler would log this too, but without our event name; the job stays
            # scheduled either way.
            log.exception("job.failed", extra=fields(job=name))

    return run


class Scheduler:
    """Owns the BackgroundScheduler and its jobs; knows nothing about reminders."""

    def __init__(
        self,
        *,
        tick_seconds: float,
        dispatch: Callable[[], object],
        replan: Callable[[], object],
        watch: Callable[[], object] | None = None,
        watch_seconds: float = WATCH_INTERVAL_S,
        replan_seconds: float = REPLAN_INTERVAL_S,
    ) -> None:
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(SCHEDULER_THREADS)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
            timezone=UTC,
        )
        now = datetime.now(UTC)
        self._scheduler.add_job(
            _guarded("dispatch", dispatch),
            IntervalTrigger(seconds=tick_seconds),
            id="dispatch",
            name="dispatch",
            next_run_time=now,
        )
        self._scheduler.add_job(
            _guarded("replan", replan),
            IntervalTrigger(seconds=replan_seconds),
            id="replan",
            name="replan",
        )
        if watch is not None:
            self._scheduler.add_job(
                _guarded("watch", watch),
                IntervalTrigger(seconds=watch_seconds),
                id="watch",
                name="watch",
            )

    def start(self) -> None:
        self._scheduler.start()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def run_soon(self, job_id: str) -> None:
        """Run a job now (in the scheduler's threads) instead of at its next interval."""
        if self.running:
            self._scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    def shutdown(self) -> None:
        """Stop scheduling and wait for running jobs (a tick in progress) to finish."""
        if self.running:
            self._scheduler.shutdown(wait=True)
