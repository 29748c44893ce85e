"""One dispatch tick: claim due reminders, send them concurrently, record every outcome.

A tick works in batches: claim up to ``batch_size`` rows (atomically, see
:func:`tracker.store.reminders.claim_due`), send them with at most
``settings.max_concurrent_deliveries`` in flight, and record the batch's attempts while the
next batch is sent. A row is only ever in ``sending`` between its claim and the record of its
attempt; if the process dies in between, the lease expires and another tick sends it again
with the same ``webhook-id`` (receivers deduplicate on it).

Each outcome is a value (:class:`Outcome`), stored on the attempt row and logged:

* 2xx / accepted by the SMTP server: ``sent``;
* :class:`DeliveryError` with ``disable_channel`` (HTTP 410): ``disabled``; the channel is
  disabled for every replica (``channel_state``) and the reminder is ``dead``;
* ``permanent``: ``dead``;
* anything else (5xx, timeouts, a bug in a notifier): ``retrying`` after a backoff, until
  ``retry.max_attempts`` attempts, then ``dead``.

Reminders of a channel that is disabled or no longer configured become ``dead`` without an
attempt (outcomes ``channel_disabled`` / ``no_channel``). One failing channel or reminder never
stops the tick.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tracker.domain.deadline import Deadline
from tracker.domain.reminder import ReminderStatus
from tracker.errors import DeliveryError
from tracker.logs import event
from tracker.notify.base import Notification, Notifier
from tracker.redact import ANONYMOUS
from tracker.settings import Settings
from tracker.store import reminders as outbox
from tracker.store.tables import AgreementRow

log = logging.getLogger("tracker.delivery")

#: Rows claimed per batch, as a multiple of the concurrency bound: enough to keep every
#: slot busy while the previous batch is recorded, few enough that a crash re-sends little.
BATCH_PER_SLOT = 8
MIN_BATCH = 32
#: Longest error text kept on a row or attempt.
ERROR_MAX_CHARS = 2000


class Outcome(StrEnum):
    SENT = "sent"
    RETRYING = "retrying"
    DEAD = "dead"  # permanent failure, or the last attempt failed
    DISABLED = "disabled"  # the receiver answered 410: channel disabled, reminder dead
    CHANNEL_DISABLED = "channel_disabled"  # not tried: the channel was disabled before
    NO_CHANNEL = "no_channel"  # not tried: the channel is no longer configured


@dataclass
class TickReport:
    """What one tick did."""

    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return self.outcomes.get(outcome.value, 0)

    @property
    def sent(self) -> int:
        return self.count(Outcome.SENT)


def retry_delay_s(
    attempt: int,
    *,
    initial_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential backoff with full jitter: a uniform draw between ``initial_s`` and
    ``min(max_s, initial_s × 2^(attempt−1))``, so the first retry waits exactly ``initial_s``
    and retries of many reminders spread out instead of arriving together. A server's
    ``Retry-After`` is a floor (capped at ``max_s``, so a silly value cannot park a reminder
    for a year).
    """
    ceiling = min(max_s, initial_s * 2 ** max(attempt - 1, 0))
    delay = uniform(initial_s, ceiling) if ceiling > initial_s else min(initial_s, max_s)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max_s))
    return delay


@dataclass(frozen=True, slots=True)
class _AgreementInfo:
    title: str | None
    sources: list[dict[str, Any]]
    zone: ZoneInfo | None


def _agreement_info(engine: Engine, ids: set[str]) -> dict[str, _AgreementInfo]:
    import json

    if not ids:
        return {}
    table = AgreementRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.c.id, table.c.title, table.c.document).where(table.c.id.in_(ids))
        ).all()
    info: dict[str, _AgreementInfo] = {}
    for row in rows:
        try:
            document = json.loads(row.document)
        except ValueError:
            document = {}
        zone_name = document.get("timezone")
        try:
            zone = ZoneInfo(zone_name) if zone_name else None
        except (ValueError, KeyError):
            zone = None
        info[row.id] = _AgreementInfo(row.title, list(document.get("sources") or []), zone)
    return info


def build_notification(
    claimed: outbox.ClaimedReminder,
    agreement: _AgreementInfo | None,
    *,
    now: datetime,
    default_zone: ZoneInfo,
) -> Notification:
    """The payload of one attempt: the planned deadline with ``days_left`` counted from the
    day of sending in the agreement's zone."""
    deadline = Deadline.from_dict(claimed.deadline)
    zone = (agreement.zone if agreement else None) or default_zone
    send_day = now.astimezone(zone).date()
    data = deadline.to_dict()
    data["days_left"] = (deadline.date - send_day).days
    return Notification(
        reminder_id=claimed.id,
        message_id=claimed.webhook_id,
        channel=claimed.channel,
        offset=claimed.offset,
        due_at=claimed.due_at,
        deadline=data,
        agreement={
            "id": claimed.agreement_id,
            "title": (agreement.title if agreement else None) or deadline.title,
            "sources": agreement.sources if agreement else [],
        },
        attempt=claimed.attempts + 1,
    )


class _Tick:
    def __init__(
        self,
        engine: Engine,
        notifiers: Mapping[str, Notifier],
        settings: Settings,
        *,
        now: datetime,
        worker: str,
        uniform: Callable[[float, float], float],
    ) -> None:
        self.engine = engine
        self.notifiers = notifiers
        self.settings = settings
        self.now = now
        self.worker = worker
        self.uniform = uniform
        self.zone = ZoneInfo(settings.timezone)
        self.slots = asyncio.Semaphore(settings.max_concurrent_deliveries)
        self.disabled: dict[str, str] = {}
        self.agreements: dict[str, _AgreementInfo] = {}
        self.report = TickReport()
        self.clock: Callable[[], datetime] | None = None

    async def deliver(self, claimed: outbox.ClaimedReminder) -> outbox.AttemptResult:
        attempt = claimed.attempts + 1
        if claimed.channel in self.disabled:
            return self._not_tried(
                claimed,
                Outcome.CHANNEL_DISABLED,
                f"channel disabled: {self.disabled[claimed.channel]}",
            )
        notifier = self.notifiers.get(claimed.channel)
        if notifier is None:
            return self._not_tried(
                claimed, Outcome.NO_CHANNEL, f"channel {claimed.channel!r} is not configured"
            )
        async with self.slots:
            if claimed.channel in self.disabled:  # disabled while this one waited for a slot
                return self._not_tried(
                    claimed,
                    Outcome.CHANNEL_DISABLED,
                    f"channel disabled: {self.disabled[claimed.channel]}",
                )
            started = time.perf_counter()
            try:
                notification = build_notification(
                    claimed,
                    self.agreements.get(claimed.agreement_id),
                    now=self.now,
                    default_zone=self.zone,
                )
                delivery = await notifier.send(notification, now=self.now)
            except DeliveryError as exc:
                return await self._failed(claimed, attempt, started, exc)
            except Exception as exc:
                # A bug or an unexpected library error in one notifier: recorded and retried
                # like a transient failure, never allowed to stop the tick.
                # Its text may hold anything, so it is redacted like the notifier's own errors.
                text = notifier.redactor(f"unexpected {type(exc).__name__}: {exc}")
                log.error(event("reminder.notifier_error", id=claimed.id, error=text))
                return await self._failed(claimed, attempt, started, DeliveryError(text))
        return outbox.AttemptResult(
            reminder_id=claimed.id,
            attempt=attempt,
            channel=claimed.channel,
            started_at=self.now,
            duration_ms=(time.perf_counter() - started) * 1000,
            outcome=Outcome.SENT.value,
            new_status=ReminderStatus.SENT,
            status_code=delivery.status,
            detail=delivery.detail[:ERROR_MAX_CHARS] or None,
            sent_at=self.now,
        )

    def _not_tried(
        self, claimed: outbox.ClaimedReminder, outcome: Outcome, reason: str
    ) -> outbox.AttemptResult:
        return outbox.AttemptResult(
            reminder_id=claimed.id,
            attempt=claimed.attempts + 1,
            channel=claimed.channel,
            started_at=self.now,
            duration_ms=0.0,
            outcome=outcome.value,
            new_status=ReminderStatus.DEAD,
            error=reason,
            reason=reason,
            record_attempt=False,
        )

    async def _failed(
        self, claimed: outbox.ClaimedReminder, attempt: int, started: float, exc: DeliveryError
    ) -> outbox.AttemptResult:
        duration_ms = (time.perf_counter() - started) * 1000
        error = str(exc)[:ERROR_MAX_CHARS]
        retry = self.settings.retry
        next_at: datetime | None = None
        reason: str | None = None
        if exc.disable_channel:
            outcome, status = Outcome.DISABLED, ReminderStatus.DEAD
            reason = f"channel disabled: {error}"[:200]
            if claimed.channel not in self.disabled:
                self.disabled[claimed.channel] = error
                await asyncio.to_thread(
                    outbox.disable_channel, self.engine, claimed.channel, reason=error, now=self.now
                )
                log.error(event("channel.disabled", channel=claimed.channel, reason=error))
        elif exc.permanent:
            outcome, status, reason = Outcome.DEAD, ReminderStatus.DEAD, "permanent failure"
        elif attempt >= retry.max_attempts:
            outcome, status = Outcome.DEAD, ReminderStatus.DEAD
            reason = f"gave up after {attempt} attempts"
        else:
            outcome, status = Outcome.RETRYING, ReminderStatus.RETRYING
            delay = retry_delay_s(
                attempt,
                initial_s=retry.initial_delay.total_seconds(),
                max_s=retry.max_delay.total_seconds(),
                retry_after_s=exc.retry_after_s,
                uniform=self.uniform,
            )
            next_at = self.now + timedelta(seconds=delay)
        return outbox.AttemptResult(
            reminder_id=claimed.id,
            attempt=attempt,
            channel=claimed.channel,
            started_at=self.now,
            duration_ms=duration_ms,
            outcome=outcome.value,
            new_status=status,
            status_code=exc.status,
            error=error,
            next_attempt_at=next_at,
            reason=reason,
        )

    def log_results(
        self, batch: Sequence[outbox.ClaimedReminder], results: Sequence[outbox.AttemptResult]
    ) -> None:
        for claimed, result in zip(batch, results, strict=True):
            self.report.outcomes[result.outcome] = self.report.outcomes.get(result.outcome, 0) + 1
            level = logging.INFO if result.outcome == Outcome.SENT else logging.WARNING
            if log.isEnabledFor(level):
                log.log(
                    level,
                    event(
                        "reminder.delivery",
                        id=claimed.id,
                        webhook_id=claimed.webhook_id,
                        agreement=claimed.agreement_id,
                        deadline=claimed.deadline.get("date"),
                        kind=claimed.deadline.get("kind"),
                        offset=claimed.offset,
                        channel=claimed.channel,
                        attempt=result.attempt,
                        outcome=result.outcome,
                        status=result.status_code,
                        duration_ms=round(result.duration_ms, 1),
                        next_attempt_at=result.next_attempt_at,
                        error=result.error,
                    ),
                )

    async def run(
        self, *, limit: int, batch_size: int, stop: threading.Event | None = None
    ) -> TickReport:
        began = time.perf_counter()
        self.disabled = await asyncio.to_thread(outbox.disabled_channels, self.engine)
        lease = timedelta(seconds=self.settings.lease.total_seconds())
        recording: asyncio.Future[int] | None = None
        remaining = limit
        try:
            while remaining > 0 and not (stop is not None and stop.is_set()):
                if self.clock is not None:
                    # A long tick reads the clock per batch, so each batch gets a full lease
                    # and its attempts their real time.
                    self.now = self.clock().astimezone(UTC)
                lease_until = self.now + lease
                batch = await asyncio.to_thread(
                    outbox.claim_due,
                    self.engine,
                    now=self.now,
                    worker=self.worker,
                    limit=min(batch_size, remaining),
                    lease_until=lease_until,
                )
                if not batch:
                    break
                remaining -= len(batch)
                self.report.claimed += len(batch)
                missing = {c.agreement_id for c in batch} - self.agreements.keys()
                if missing:
                    self.agreements.update(
                        await asyncio.to_thread(_agreement_info, self.engine, missing)
                    )
                results = await asyncio.gather(*(self.deliver(c) for c in batch))
                if recording is not None:
                    await recording
                recording = asyncio.ensure_future(
                    asyncio.to_thread(
                        outbox.record_results,
                        self.engine,
                        results,
                        worker=self.worker,
                        now=self.now,
                    )
                )
                self.log_results(batch, results)
                if len(batch) < min(batch_size, remaining + len(batch)):
                    break  # fewer than asked for: nothing else is due
        finally:
            if recording is not None:
                await recording
        self.report.duration_s = time.perf_counter() - began
        return self.report


class _MisconfiguredChannel:
    """Stands in for a channel whose notifier cannot be built (e.g. a secret that is not
    base64): its reminders fail as retryable, with the reason on the row, and the other
    channels deliver as usual. Fixing the configuration lets the retries succeed."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self.redactor = ANONYMOUS
        self._error = error

    async def send(self, notification: Notification, *, now: datetime) -> Any:
        raise DeliveryError(f"channel {self.name!r} is misconfigured: {self._error}")

    async def aclose(self) -> None:
        pass


def build_each_notifier(settings: Settings, *, client: Any) -> dict[str, Notifier]:
    """The configured notifiers, built one by one so that one bad channel stays alone."""
    from tracker.notify.registry import NOTIFIERS

    notifiers: dict[str, Notifier] = {}
    for name, config in settings.all_channels().items():
        try:
            notifiers[name] = NOTIFIERS[config.type].from_settings(
                name, config, settings=settings, client=client
            )
        except Exception as exc:
            log.error(event("channel.misconfigured", channel=name, error=str(exc)))
            notifiers[name] = _MisconfiguredChannel(name, str(exc))
    return notifiers


def batch_size_for(settings: Settings) -> int:
    return max(MIN_BATCH, settings.max_concurrent_deliveries * BATCH_PER_SLOT)


async def tick_async(
    engine: Engine,
    notifiers: Mapping[str, Notifier],
    settings: Settings,
    *,
    now: datetime,
    worker: str,
    limit: int,
    batch_size: int | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TickReport:
    """One tick inside a running event loop, with notifiers bound to that loop. ``stop``
    ends the tick after the batch in flight (shutdown). With ``clock`` (the service's real
    clock) each batch runs at ``clock()`` instead of ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    runner = _Tick(
        engine, notifiers, settings, now=now.astimezone(UTC), worker=worker, uniform=uniform
    )
    runner.clock = clock
    return await runner.run(
        limit=limit, batch_size=batch_size or batch_size_for(settings), stop=stop
    )


async def _tick_with_own_notifiers(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    worker: str,
    limit: int,
    batch_size: int | None,
    stop: threading.Event | None,
    clock: Callable[[], datetime] | None,
) -> TickReport:
    from tracker.notify.http import make_http_client

    # The httpx client belongs to this event loop, so it is made and closed inside it.
    client = make_http_client(max_connections=settings.max_concurrent_deliveries)
    try:
        notifiers = build_each_notifier(settings, client=client)
        try:
            return await tick_async(
                engine,
                notifiers,
                settings,
                now=now,
                worker=worker,
                limit=limit,
                batch_size=batch_size,
                stop=stop,
                clock=clock,
            )
        finally:
            for notifier in notifiers.values():
                try:
                    await notifier.aclose()
                except Exception:  # closing one channel must not hide the tick's result
                    log.exception(event("notifier.close_failed", channel=notifier.name))
    finally:
        await client.aclose()


def tick(
    engine: Engine,
    notifiers: Mapping[str, Notifier] | None,
    settings: Settings,
    *,
    now: datetime,
    worker: str,
    limit: int,
    batch_size: int | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TickReport:
    """Run one tick in a fresh event loop (the scheduler's worker thread has none).

    With ``notifiers=None`` the configured channels are built for this tick (and closed after
    it); notifiers given by the caller must not be bound to another event loop.
    """
    options: dict[str, Any] = {
        "now": now,
        "worker": worker,
        "limit": limit,
        "batch_size": batch_size,
        "stop": stop,
        "clock": clock,
    }
    if notifiers is None:
        return asyncio.run(_tick_with_own_notifiers(engine, settings, **options))
    return asyncio.run(tick_async(engine, notifiers, settings, **options))
