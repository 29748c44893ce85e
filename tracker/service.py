"""The running service: agreements folder, planning, dispatching, on a scheduler.

:class:`Service` is what ``tracker serve`` runs inside the web app's lifespan (and what the
tests drive directly, passing ``now``). It is the entry point that reads the clock; everything
it calls takes ``now``.

Start order: migrations, agreements folder sync (the valid files are synced; an invalid file
is reported in the log, ``/healthz`` ("degraded", with the file and its errors), the
``tracker_agreement_files_invalid`` metric and a banner on the web page, and its agreement
keeps its last good version; the service still starts), deadline
materialisation, planning (this is where reminders missed while the service was down are
decided: the latest one per deadline and channel goes out, older ones are skipped), then the
scheduler. Stop: the scheduler stops and waits for a tick in progress, and any row this
worker still holds is released, so a clean shutdown leaves nothing in ``sending``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from tracker.app.context import Context
from tracker.app.status import Health, database_reachable
from tracker.dispatch import TickReport, tick
from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline
from tracker.domain.durations import shift
from tracker.domain.planner import PlanReason, plan_reminders
from tracker.errors import TrackerError, ValidationFailed, failure_detail
from tracker.logs import fields
from tracker.scheduler import Scheduler
from tracker.settings import Settings
from tracker.store import reminders as outbox
from tracker.store.deadlines import Horizon, materialize_deadlines, stale_agreement_ids
from tracker.store.engine import make_engine
from tracker.store.repository import agreements_version

log = logging.getLogger(__name__)

#: Rows one tick may claim; the dispatch job runs ticks back to back while more are due.
TICK_LIMIT = 2000
#: Deadlines from this many days before today are recomputed too, so that a deadline that is
#: "today" in a zone behind UTC is still seen as ahead.
PLAN_LOOKBACK_DAYS = 1


@dataclass
class PlanReport:
    """What one planning run did (decisions by reason, as counted and logged)."""

    agreements: int = 0
    deadlines: int = 0
    inserted: int = 0
    changed: int = 0
    unchanged: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # agreement id -> error
    problems: list[str] = field(default_factory=list)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def compute_for_planning(
    agreements: list[Agreement], *, now: datetime, settings: Settings
) -> tuple[list[Deadline], dict[str, str]]:
    """Deadlines of every agreement over the planning window; an agreement whose rules fail
    is reported (id -> error) and left out, never stopping the others."""
    from tracker.domain.rules import compute_deadlines

    today = now.astimezone(UTC).date()
    start = today - timedelta(days=PLAN_LOOKBACK_DAYS)
    end = shift(today + timedelta(days=1), settings.planning_horizon)
    deadlines: list[Deadline] = []
    failed: dict[str, str] = {}
    for agreement in agreements:
        try:
            deadlines.extend(compute_deadlines(agreement, as_of=today, start=start, end=end))
        except Exception as exc:
            failed[agreement.id] = failure_detail(exc)
    return deadlines, failed


class Service:
    """Scheduler, planner and dispatcher of one process (one replica)."""

    def __init__(
        self, settings: Settings, *, engine: Engine | None = None, worker: str | None = None
    ) -> None:
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine if engine is not None else make_engine(settings.database_url)
        #: The application context of this process; the API it serves writes through it.
        self.context = Context(settings, self.engine)
        self.worker = worker or default_worker_name()
        self._scheduler: Scheduler | None = None
        self._plan_lock = threading.Lock()
        self._tick_lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: Any = None
        self.last_tick_at: datetime | None = None
        self.last_plan_at: datetime | None = None
        self.last_tick: TickReport | None = None
        self._seen_version: tuple[Any, ...] | None = None
        self._materialized_day: date | None = None
        #: Files of the agreements folder that failed validation at the last sync, with
        #: their error lines (file -> lines); empty when all are valid.
        self.invalid_files: dict[str, list[str]] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        from tracker.store.migrate import upgrade

        self.settings.require_channels()  # every channel must be usable before anything runs
        now = datetime.now(UTC)
        started = time.monotonic()

        def step(name: str) -> None:
            # One line per step of a start, with the seconds since it began: a start over
            # 100,000 files takes a while, and the log says where it is.
            log.info(
                "service.starting",
                extra=fields(step=name, elapsed_s=round(time.monotonic() - started, 2)),
            )

        upgrade(self.engine)
        step("migrated")
        directory = self.settings.agreements_dir
        if directory is not None:
            from tracker.store.sync import DirectoryWatcher

            self._watcher = DirectoryWatcher(directory)
            self._watcher.changed()  # prime it: the sync below covers the current files
            self._sync(now=now)
            step("synced")
        self._materialize(now=now)
        step("materialised")
        self.replan(now=now)
        step("planned")
        self._stopping.clear()
        self._scheduler = Scheduler(
            tick_seconds=self.settings.tick_seconds,
            dispatch=self._dispatch_job,
            replan=self.replan,
            watch=self._watch_job,
        )
        self._scheduler.start()
        log.info(
            "service.started",
            extra=fields(worker=self.worker, tick_seconds=self.settings.tick_seconds),
        )

    def stop(self) -> None:
        self._stopping.set()
        if self._scheduler is not None:
            self._scheduler.shutdown()
        with self._tick_lock:  # a tick started through Service.tick() finishes first
            released = outbox.release_claims(self.engine, worker=self.worker, now=datetime.now(UTC))
        log.info("service.stopped", extra=fields(worker=self.worker, released=released))
        if self._own_engine:
            self.engine.dispose()

    # --- jobs ----------------------------------------------------------------------------------

    def _sync(self, *, now: datetime) -> bool:
        """Sync the agreements folder; True when agreements changed."""
        from tracker.store.sync import sync_directory

        directory = self.settings.agreements_dir
        if directory is None:
            return False
        try:
            report = sync_directory(
                self.engine,
                directory,
                now=now,
                horizon=self._horizon(now),
                known_channels=self.settings.channel_names(),
            )
        except ValidationFailed as exc:
            self.invalid_files = {str(directory): [str(e) for e in exc.errors]}
            log.error(
                "agreements.invalid",
                extra=fields(
                    directory=str(directory),
                    errors=len(exc.errors),
                    detail=str(exc),
                    action="kept the previous agreements",
                ),
            )
            return False
        except TrackerError as exc:
            log.error(
                "agreements.sync_failed", extra=fields(directory=str(directory), error=str(exc))
            )
            return False
        self.invalid_files = report.invalid_files
        for file, lines in self.invalid_files.items():
            log.error(
                "agreements.invalid_file",
                extra=fields(
                    directory=str(directory),
                    file=file,
                    errors=len(lines),
                    detail="\n".join(lines),
                    action="synced the valid files; kept this file's agreement as it was",
                ),
            )
        return bool(report.changed)

    def _watch_job(self) -> None:
        """Every few seconds: sync the folder when its files changed, and replan when the
        agreements changed by any other way (another process ran ``tracker import``, another
        replica's API took a write), so a reminder due now is not an hour late."""
        now = datetime.now(UTC)
        if self._watcher is not None and self._watcher.changed() and self._sync(now=now):
            self._materialize(now=now)
            self.replan(now=now)
            return
        version = agreements_version(self.engine)
        if version != self._seen_version:
            self._materialize(now=now)
            self.replan(now=now)
        elif self.settings.today(now) != self._materialized_day:
            self._materialize(now=now)

    def _horizon(self, now: datetime) -> Horizon:
        return self.context.horizon(now)

    def _materialize(self, *, now: datetime) -> None:
        """Store the deadlines of agreements that changed, or of all of them once a new day
        has begun in the configured zone (the day queries use as their default as-of)."""
        horizon = self._horizon(now)
        today, end = horizon.as_of, horizon.end
        try:
            stale = stale_agreement_ids(self.engine, as_of=today, end=end)
            if stale:
                materialize_deadlines(self.engine, as_of=today, end=end, agreement_ids=stale)
            self._materialized_day = today
        except Exception:
            log.exception("deadlines.materialize_failed")

    def _dispatch_job(self) -> None:
        # Back-to-back ticks while a full tick's worth was due, so a backlog drains at full
        # speed instead of TICK_LIMIT rows per interval; each tick reads the clock afresh.
        while not self._stopping.is_set():
            report = self.tick()
            if report.claimed < TICK_LIMIT:
                break

    # --- operations ----------------------------------------------------------------------------

    def replan(self, *, now: datetime | None = None) -> PlanReport:
        """Recompute deadlines and reconcile the reminder plan (idempotent)."""
        from tracker.store.repository import readable_agreements

        now = now or datetime.now(UTC)
        with self._plan_lock:
            self._seen_version = agreements_version(self.engine)
            agreements, unreadable = readable_agreements(self.engine)
            deadlines, failed = compute_for_planning(agreements, now=now, settings=self.settings)
            failed.update(unreadable)
            for agreement_id, error in failed.items():
                log.error(
                    "plan.agreement_failed", extra=fields(agreement=agreement_id, error=error)
                )
            since = now.astimezone(UTC).date() - timedelta(days=PLAN_LOOKBACK_DAYS)
            stored = outbox.stored_for_planning(self.engine, since=since)
            plan = plan_reminders(
                deadlines,
                {a.id: a for a in agreements},
                stored,
                self.settings.reminder_policy(),
                now=now,
                failed=frozenset(failed),
                acknowledged=outbox.acknowledged_deadlines(self.engine, since=since),
            )
            inserted = outbox.insert_planned(self.engine, plan.new, now=now)
            changed = outbox.apply_changes(self.engine, plan.changes, now=now)
            report = PlanReport(
                agreements=len(agreements),
                deadlines=len(deadlines),
                inserted=inserted,
                changed=changed,
                unchanged=plan.unchanged,
                failed=failed,
                problems=plan.problems,
            )
            for planned in plan.new:
                report.by_reason[planned.reason.value] = (
                    report.by_reason.get(planned.reason.value, 0) + 1
                )
            for change in plan.changes:
                report.by_reason[change.reason.value] = (
                    report.by_reason.get(change.reason.value, 0) + 1
                )
                log.info(
                    "reminder.planned",
                    extra=fields(
                        id=change.id,
                        agreement=change.key.agreement,
                        deadline=change.key.deadline_date,
                        kind=change.key.deadline_kind,
                        offset=change.key.offset,
                        channel=change.key.channel,
                        status=change.status,
                        reason=change.reason_text,
                    ),
                )
            for planned in plan.new:
                if planned.reason != PlanReason.SCHEDULED:
                    log.info(
                        "reminder.planned",
                        extra=fields(
                            agreement=planned.key.agreement,
                            deadline=planned.key.deadline_date,
                            kind=planned.key.deadline_kind,
                            offset=planned.key.offset,
                            channel=planned.key.channel,
                            status=planned.status,
                            reason=planned.reason,
                        ),
                    )
            for problem in plan.problems:
                log.warning("plan.problem", extra=fields(detail=problem))
            self.last_plan_at = now
        log.info(
            "plan.done",
            extra=fields(
                agreements=report.agreements,
                deadlines=report.deadlines,
                inserted=inserted,
                changed=changed,
                unchanged=plan.unchanged,
                failed=len(failed) or None,
            ),
        )
        if inserted and self._scheduler is not None:
            self._scheduler.run_soon("dispatch")  # a missed reminder may be due right now
        return report

    def tick(self, *, now: datetime | None = None, limit: int = TICK_LIMIT) -> TickReport:
        """Claim and send what is due at ``now`` (default: the clock, read again for each
        batch of a long tick)."""
        clock = _utc_now if now is None else None
        now = now or _utc_now()
        with self._tick_lock:
            self.plan_digests(now=now)
            report = tick(
                self.engine,
                None,
                self.settings,
                now=now,
                worker=self.worker,
                limit=limit,
                stop=self._stopping,
                clock=clock,
            )
            self.last_tick_at = now
            self.last_tick = report
        if report.claimed:
            log.info(
                "dispatch.tick",
                extra=fields(
                    worker=self.worker,
                    claimed=report.claimed,
                    duration_s=round(report.duration_s, 3),
                    **{f"n_{k}": v for k, v in sorted(report.outcomes.items())},
                ),
            )
        return report

    def plan_digests(self, *, now: datetime) -> list[str]:
        """Put the digests due today in the outbox (once per digest and day, whichever
        replica comes first); a failure is logged and never stops the tick."""
        if not self.settings.digests:
            return []
        from tracker.digests import plan_digests

        try:
            return plan_digests(self.engine, self.settings, now=now)
        except Exception:
            log.exception("digest.plan_failed")
            return []

    def acknowledge(self, reminder_id: int, *, by: str, now: datetime | None = None) -> list[int]:
        return outbox.acknowledge(self.engine, reminder_id, by=by, now=now or datetime.now(UTC))

    @property
    def last_tick_duration_s(self) -> float | None:
        return self.last_tick.duration_s if self.last_tick is not None else None

    def health(self) -> Health:
        """Liveness for ``/healthz``: database reachable, scheduler running, last runs."""
        return Health(
            database=database_reachable(self.engine),
            scheduler=self._scheduler is not None and self._scheduler.running,
            worker=self.worker,
            last_tick_at=self.last_tick_at,
            last_plan_at=self.last_plan_at,
            invalid_files=dict(self.invalid_files),
        )
