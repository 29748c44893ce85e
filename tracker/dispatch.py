"""One dispatch tick: claim due reminders, send them concurrently, record every outcome.

A tick claims due rows in batches (atomically, see :func:`tracker.store.reminders.claim_due`)
and sends them with at most ``settings.max_concurrent_deliveries`` in flight. Each delivery,
in its slot:

1. **starts** its attempt in the database (:func:`tracker.store.reminders.write_journal`): the
   attempt row is written with outcome ``in_flight``, the reminder's ``attempts`` counted and its
   lease renewed, and only if this worker still holds the row. A row whose lease expired and
   that another worker claimed meanwhile (or that was acknowledged) is not sent;
2. sends;
3. **records** its outcome on the attempt row and the reminder row, before the slot is freed.

Starts and outcomes of concurrent deliveries share transactions (:class:`_Journal`: whatever
is waiting when the previous write ends goes into the next), so recording one outcome at a
time costs little. While rows are held, a heartbeat renews their lease every third of
``settings.lease``.

What can repeat: a reminder is sent again (same ``webhook-id``) only when its attempt was in
flight, sent but not yet recorded, when the process died or lost the database for good; a
slot is freed only once its outcome is recorded, so that is at most
``max_concurrent_deliveries`` reminders per worker. Their attempt rows stay ``in_flight`` and
become ``interrupted`` when the reminder is tried again. An outcome that cannot be written
(the database is unreachable) is retried, the slot kept, until it is written or the service
stops; rows already recorded are never sent again.

Each outcome is a value (:class:`Outcome`), stored on the attempt row and logged:

* 2xx / accepted by the SMTP server: ``sent``;
* :class:`DeliveryError` with ``disable_channel`` (HTTP 410): ``disabled``; the channel is
  disabled for every replica (``channel_state``) and the reminder is ``dead``;
* ``permanent``: ``dead``;
* anything else (5xx, timeouts, a bug in a notifier): ``retrying`` after a backoff counted from
  the moment of the failure, until ``retry.max_attempts`` attempts, then ``dead``.

Reminders of a channel that is disabled or no longer configured become ``dead`` without an
attempt (outcomes ``channel_disabled`` / ``no_channel``). One failing channel or reminder never
stops the tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from tracker.domain.ack import link as ack_link
from tracker.domain.deadline import Deadline
from tracker.domain.reminder import ReminderStatus
from tracker.errors import DatabaseUnavailable, DeliveryError
from tracker.logs import fields
from tracker.notify.base import Notification, Sender
from tracker.settings import Settings
from tracker.store import reminders as outbox
from tracker.store.engine import is_outage
from tracker.store.repository import agreement_documents

log = logging.getLogger("tracker.delivery")
T = TypeVar("T")

#: Rows claimed per batch, as a multiple of the concurrency bound: enough to keep every slot
#: busy between claims. Claimed rows that wait for a slot are not sent before their attempt is
#: recorded, so the batch size does not change what a crash can repeat.
BATCH_PER_SLOT = 8
MIN_BATCH = 32
#: Longest error text kept on a row or attempt.
ERROR_MAX_CHARS = 2000
#: How long the journal waits after an entry arrives before writing, for others to join.
JOURNAL_LINGER_S = 0.002
#: Waits between tries of a journal write while the database cannot be reached.
JOURNAL_RETRY_FIRST_S = 0.05
JOURNAL_RETRY_MAX_S = 2.0
#: Tries of one journal entry that the database refuses for another reason, before giving up.
JOURNAL_TRIES_PER_ENTRY = 3
#: Lease renewals of the held rows per lease period.
HEARTBEATS_PER_LEASE = 3


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
    info: dict[str, _AgreementInfo] = {}
    for agreement_id, (title, text) in agreement_documents(engine, ids).items():
        try:
            document = json.loads(text)
        except ValueError:
            document = {}
        zone_name = document.get("timezone")
        try:
            zone = ZoneInfo(zone_name) if zone_name else None
        except (ValueError, KeyError):
            zone = None
        info[agreement_id] = _AgreementInfo(title, list(document.get("sources") or []), zone)
    return info


def build_notification(
    claimed: outbox.ClaimedReminder,
    agreement: _AgreementInfo | None,
    *,
    now: datetime,
    default_zone: ZoneInfo,
    attempt: int | None = None,
    links: AckLinks | None = None,
) -> Notification:
    """The payload of one attempt: the planned deadline with ``days_left`` counted from the
    day of sending in the agreement's zone, and its acknowledgement link (``links``). A
    digest carries its list (each entry with its link) instead of one deadline."""
    if claimed.purpose == outbox.DIGEST:
        return _digest_notification(claimed, now=now, attempt=attempt, links=links)
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
        attempt=attempt if attempt is not None else claimed.attempts + 1,
        purpose=claimed.purpose,
        ack_url=links.url(deadline.key) if links is not None else None,
    )


@dataclass(frozen=True, slots=True)
class AckLinks:
    """Builds the one-click acknowledgement links of deadlines (``public_url`` and the
    ``ack_secret`` that signs them)."""

    public_url: str
    secret: str

    def url(self, key: tuple[str, str, date, str]) -> str:
        return ack_link(self.public_url, key, secret=self.secret)

    @classmethod
    def of(cls, settings: Settings) -> AckLinks | None:
        if settings.ack_secret is None:
            return None
        return cls(settings.public_url, settings.ack_secret.get_secret_value())


def _digest_notification(
    claimed: outbox.ClaimedReminder,
    *,
    now: datetime,
    attempt: int | None,
    links: AckLinks | None,
) -> Notification:
    digest = dict(claimed.deadline)
    entries = []
    for entry in digest.get("deadlines") or []:
        entry = dict(entry)
        key = (
            entry["agreement"],
            entry["kind"],
            date.fromisoformat(entry["date"]),
            entry.get("party") or "",
        )
        entry["ack_url"] = links.url(key) if links is not None else None
        entries.append(entry)
    digest["deadlines"] = entries
    return Notification(
        reminder_id=claimed.id,
        message_id=claimed.webhook_id,
        channel=claimed.channel,
        offset=claimed.offset,
        due_at=claimed.due_at,
        deadline={},
        agreement={"id": None, "title": None, "sources": []},
        attempt=attempt if attempt is not None else claimed.attempts + 1,
        purpose=claimed.purpose,
        digest=digest,
    )


@dataclass
class _Entry:
    """One write waiting for the journal: outcomes to record and the start of the next attempt
    of the same slot, if any, so that both share a transaction."""

    future: asyncio.Future[Any]
    start: outbox.AttemptStart | None
    results: list[outbox.AttemptResult]
    failures: int = 0

    def ids(self) -> list[int]:
        return [r.reminder_id for r in self.results] + (
            [self.start.reminder_id] if self.start is not None else []
        )


def _connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached (worth waiting for), as opposed
    to a statement that will fail however often it is tried."""
    return isinstance(exc, DatabaseUnavailable) or is_outage(exc)


class _Journal:
    """Writes attempt starts and outcomes as they come, in as few transactions as possible.

    Deliveries submit and wait; one writer takes everything submitted since its last write into
    one transaction (group commit), so the deliveries in flight share commits while each
    outcome is still recorded before its slot sends anything else.

    A write that fails because the database cannot be reached is retried with backoff
    (:data:`JOURNAL_RETRY_FIRST_S` doubling up to :data:`JOURNAL_RETRY_MAX_S`) until it
    succeeds or the tick is stopped; the entries wait, and so do their slots, so nothing new is
    sent meanwhile. Any other failure is retried entry by entry, so that one entry the database
    refuses cannot hold up the others, and that entry is given up after
    :data:`JOURNAL_TRIES_PER_ENTRY` tries: its rows stay ``sending`` until their lease expires.
    """

    def __init__(self, tick: _Tick) -> None:
        self._tick = tick
        self._waiting: list[_Entry] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def open(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Write what is waiting, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def write(
        self, results: list[outbox.AttemptResult], start: outbox.AttemptStart | None = None
    ) -> tuple[bool, outbox.StartedAttempt | None]:
        """Record ``results`` and start ``start``'s attempt; whether the results were
        recorded, and the started attempt (``None`` when that row must not be sent: this worker
        no longer holds it, or the write was given up)."""
        entry = _Entry(asyncio.get_running_loop().create_future(), start, results)
        self._waiting.append(entry)
        self._wake.set()
        done: tuple[bool, outbox.StartedAttempt | None] = await entry.future
        return done

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._waiting:
                if self._closing:
                    return
                continue
            # Deliveries finishing within the next moment join this write instead of waiting
            # for the next one: fewer, larger transactions for a little latency.
            await asyncio.sleep(JOURNAL_LINGER_S)
            entries, self._waiting = self._waiting, []
            try:
                await self._write(entries)
                failures = 0
                continue
            except Exception as exc:
                if not _connection_lost(exc):
                    await self._write_one_by_one(entries)
                    continue
                failures += 1
                error = exc
            if self._tick.stopping():
                self._give_up(entries, error)
                continue
            delay = min(JOURNAL_RETRY_MAX_S, JOURNAL_RETRY_FIRST_S * 2 ** (failures - 1))
            log.warning(
                "dispatch.record_failed",
                extra=fields(
                    worker=self._tick.worker,
                    waiting=sum(len(e.ids()) for e in entries),
                    retry_in_s=delay,
                    error=_first_line(error),
                ),
            )
            self._retry_later(entries)
            await asyncio.sleep(delay)

    def _retry_later(self, entries: list[_Entry]) -> None:
        for entry in entries:
            if entry.start is not None:
                # The failed transaction may have committed before the connection broke: the
                # retry closes the attempt row it might have left in flight.
                entry.start = replace(entry.start, reopened=True)
        self._waiting[:0] = entries
        self._wake.set()

    async def _write(self, entries: list[_Entry]) -> None:
        tick = self._tick
        now = tick.clock()
        written = await tick.in_db(
            outbox.write_journal,
            tick.engine,
            starts=[e.start for e in entries if e.start is not None],
            results=[r for e in entries for r in e.results],
            worker=tick.worker,
            now=now,
            lease_until=now + tick.lease,
        )
        for reminder_id in written.lost:
            log.warning(
                "reminder.claim_lost",
                extra=fields(
                    id=reminder_id,
                    worker=tick.worker,
                    detail="outcome recorded on the attempt only: the row had left this worker",
                ),
            )
        for entry in entries:
            started = written.started.get(entry.start.reminder_id) if entry.start else None
            entry.future.set_result((True, started))

    async def _write_one_by_one(self, entries: list[_Entry]) -> None:
        for entry in entries:
            try:
                await self._write([entry])
            except Exception as exc:
                entry.failures += 1
                if _connection_lost(exc) or entry.failures < JOURNAL_TRIES_PER_ENTRY:
                    self._retry_later([entry])
                else:
                    self._give_up([entry], exc)

    def _give_up(self, entries: list[_Entry], error: BaseException) -> None:
        for entry in entries:
            log.error(
                "dispatch.record_given_up",
                extra=fields(
                    ids=",".join(map(str, entry.ids())),
                    worker=self._tick.worker,
                    error=_first_line(error),
                    action="the rows stay sending until their lease expires, then are sent again",
                ),
            )
            entry.future.set_result((False, None))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


@dataclass(frozen=True, slots=True)
class _Done:
    """A delivery whose outcome is known and not yet recorded."""

    claimed: outbox.ClaimedReminder
    result: outbox.AttemptResult


class _Tick:
    """One tick: claims batches into a queue that ``max_concurrent_deliveries`` slots work
    through, one delivery at a time each."""

    def __init__(
        self,
        engine: Engine,
        notifiers: Mapping[str, Sender],
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        worker: str,
        uniform: Callable[[float, float], float],
        stop: threading.Event | None,
    ) -> None:
        self.engine = engine
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock
        self.worker = worker
        self.uniform = uniform
        self.stop = stop
        self.lease = timedelta(seconds=settings.lease.total_seconds())
        self.zone = ZoneInfo(settings.timezone)
        self.links = AckLinks.of(settings)
        self.disabled: dict[str, str] = {}
        self.agreements: dict[str, _AgreementInfo] = {}
        self.report = TickReport()
        self.journal = _Journal(self)
        #: Rows this tick holds (claimed, outcome not yet recorded): what the heartbeat renews.
        self.held: set[int] = set()
        #: Claimed rows waiting for a slot (``None`` tells a slot to finish).
        self.queue: asyncio.Queue[outbox.ClaimedReminder | None] = asyncio.Queue()
        self.room = asyncio.Event()
        self._db = ThreadPoolExecutor(max_workers=3, thread_name_prefix="dispatch-db")

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    async def in_db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # The tick's own threads: email sends (smtplib in asyncio's default executor) can never
        # starve the writes that record them.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, partial(function, *args, **kwargs))

    # --- a slot -------------------------------------------------------------------------------

    async def slot(self) -> None:
        """Deliver queued rows one at a time. An outcome is recorded in the same transaction
        as the next attempt's start when another row is waiting (else at once), and always
        before this slot sends anything else: a slot never has more than one delivery that a
        crash could repeat."""
        done: _Done | None = None
        try:
            while True:
                try:
                    claimed = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    if done is not None:  # nothing to share a transaction with: record now
                        await self._record([done])
                        done = None
                    claimed = await self.queue.get()
                if self.queue.qsize() <= self.settings.max_concurrent_deliveries:
                    self.room.set()
                if claimed is None:
                    return
                if self.stopping():
                    # Never started: the service gives the row back as it stops.
                    self.held.discard(claimed.id)
                    continue
                previous, done = done, None
                done = await self._deliver(claimed, previous)
        except Exception:
            # A bug here must not take the other slots down; the rows keep their lease and are
            # tried again once it expires.
            log.exception("dispatch.slot_failed", extra=fields(worker=self.worker))
        finally:
            if done is not None:
                await self._record([done])

    async def _record(
        self, done: list[_Done], start: outbox.AttemptStart | None = None
    ) -> outbox.StartedAttempt | None:
        _, started = await self.journal.write([d.result for d in done], start)
        for finished in done:
            self.held.discard(finished.claimed.id)
        return started

    async def _deliver(
        self, claimed: outbox.ClaimedReminder, previous: _Done | None
    ) -> _Done | None:
        """Send ``claimed``, recording ``previous`` with its start; its outcome, unrecorded
        (``None`` when it was not sent)."""
        before = [previous] if previous is not None else []
        notifier = self.notifiers.get(claimed.channel)
        if notifier is None or claimed.channel in self.disabled:
            await self._record(before)
            return self._known(claimed, self._not_tried(claimed))
        started = await self._record(
            before, outbox.AttemptStart(claimed.id, claimed.channel, reopened=claimed.attempts > 0)
        )
        if started is None:
            # Another worker holds the row now (its lease ran out meanwhile), it was
            # acknowledged, or the database could not be reached before the tick stopped.
            self.held.discard(claimed.id)
            return None
        began = time.perf_counter()
        now = self.clock()
        try:
            notification = build_notification(
                claimed,
                self.agreements.get(claimed.agreement_id),
                now=now,
                default_zone=self.zone,
                attempt=started.attempt,
                links=self.links,
            )
            delivery = await notifier.send(notification, now=now)
        except DeliveryError as exc:
            result = await self._failed(claimed, started, began, exc, notifier)
        except Exception as exc:
            # A bug or an unexpected library error in one notifier: recorded and retried like
            # a transient failure, never allowed to stop the tick. Its text may hold anything,
            # so it is redacted like the notifier's own errors.
            error = notifier.redactor(f"unexpected {type(exc).__name__}: {exc}")
            log.error(
                "reminder.notifier_error",
                extra=fields(
                    id=claimed.id,
                    channel=claimed.channel,
                    error=_stored(error),
                    traceback=notifier.redactor("".join(traceback.format_exception(exc))),
                ),
            )
            result = await self._failed(claimed, started, began, DeliveryError(error), notifier)
        else:
            ended = self.clock()
            result = outbox.AttemptResult(
                reminder_id=claimed.id,
                attempt=started.attempt,
                channel=claimed.channel,
                duration_ms=(time.perf_counter() - began) * 1000,
                outcome=Outcome.SENT.value,
                new_status=ReminderStatus.SENT,
                ended_at=ended,
                attempt_id=started.attempt_id,
                status_code=delivery.status,
                detail=_stored(notifier.redactor(delivery.detail)) or None,
                sent_at=ended,
            )
        return self._known(claimed, result)

    def _known(self, claimed: outbox.ClaimedReminder, result: outbox.AttemptResult) -> _Done:
        # Counted and logged as soon as it is known, even if the database is down right now.
        self.report.outcomes[result.outcome] = self.report.outcomes.get(result.outcome, 0) + 1
        self._log(claimed, result)
        return _Done(claimed, result)

    def _not_tried(self, claimed: outbox.ClaimedReminder) -> outbox.AttemptResult:
        if claimed.channel in self.disabled:
            outcome = Outcome.CHANNEL_DISABLED
            reason = f"channel disabled: {self.disabled[claimed.channel]}"
        else:
            outcome, reason = Outcome.NO_CHANNEL, f"channel {claimed.channel!r} is not configured"
        return outbox.AttemptResult(
            reminder_id=claimed.id,
            attempt=claimed.attempts,
            channel=claimed.channel,
            duration_ms=0.0,
            outcome=outcome.value,
            new_status=ReminderStatus.DEAD,
            ended_at=self.clock(),
            error=reason,
            reason=reason,
        )

    async def _failed(
        self,
        claimed: outbox.ClaimedReminder,
        started: outbox.StartedAttempt,
        began: float,
        exc: DeliveryError,
        notifier: Sender,
    ) -> outbox.AttemptResult:
        failed_at = self.clock()
        duration_ms = (time.perf_counter() - began) * 1000
        error = _stored(notifier.redactor(str(exc)))
        retry = self.settings.retry
        next_at: datetime | None = None
        reason: str | None = None
        attempt = started.attempt
        if exc.disable_channel:
            outcome, status = Outcome.DISABLED, ReminderStatus.DEAD
            reason = f"channel disabled: {error}"[:200]
            if claimed.channel not in self.disabled:
                self.disabled[claimed.channel] = error
                log.error("channel.disabled", extra=fields(channel=claimed.channel, reason=error))
                try:
                    await self.in_db(
                        outbox.disable_channel,
                        self.engine,
                        claimed.channel,
                        reason=error,
                        now=failed_at,
                    )
                except Exception as db_error:
                    # This tick stops using the channel either way; the next 410 stores it.
                    log.error(
                        "channel.disable_failed",
                        extra=fields(channel=claimed.channel, error=_first_line(db_error)),
                    )
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
            # From the failure, not from the claim: a batch may have waited long for its slot.
            next_at = failed_at + timedelta(seconds=delay)
        return outbox.AttemptResult(
            reminder_id=claimed.id,
            attempt=attempt,
            channel=claimed.channel,
            duration_ms=duration_ms,
            outcome=outcome.value,
            new_status=status,
            ended_at=failed_at,
            attempt_id=started.attempt_id,
            status_code=exc.status,
            error=error,
            next_attempt_at=next_at,
            reason=reason,
        )

    def _log(self, claimed: outbox.ClaimedReminder, result: outbox.AttemptResult) -> None:
        level = logging.INFO if result.outcome == Outcome.SENT else logging.WARNING
        if log.isEnabledFor(level):
            log.log(
                level,
                "reminder.delivery",
                extra=fields(
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

    # --- the tick -----------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        interval_s = self.lease.total_seconds() / HEARTBEATS_PER_LEASE
        while True:
            await asyncio.sleep(interval_s)
            ids = sorted(self.held)
            if not ids:
                continue
            now = self.clock()
            try:
                await self.in_db(
                    outbox.extend_leases,
                    self.engine,
                    ids,
                    worker=self.worker,
                    now=now,
                    lease_until=now + self.lease,
                )
            except Exception as exc:
                # The starts renew leases too; a row whose lease runs out is simply not sent by
                # this worker if another one has claimed it by then.
                log.warning(
                    "dispatch.heartbeat_failed",
                    extra=fields(worker=self.worker, held=len(ids), error=_first_line(exc)),
                )

    async def _claim(self, limit: int) -> tuple[list[outbox.ClaimedReminder], int]:
        """The rows claimed for this tick, and how many the database gave (none on failure)."""
        now = self.clock()
        try:
            batch = await self.in_db(
                outbox.claim_due,
                self.engine,
                now=now,
                worker=self.worker,
                limit=limit,
                lease_until=now + self.lease,
            )
        except Exception as exc:
            log.error(
                "dispatch.claim_failed", extra=fields(worker=self.worker, error=_first_line(exc))
            )
            return [], 0
        missing = {c.agreement_id for c in batch} - self.agreements.keys()
        if missing:
            try:
                self.agreements.update(await self.in_db(_agreement_info, self.engine, missing))
            except Exception as exc:
                # The deadline carries its title; only the sources are missing from the payload.
                log.warning(
                    "dispatch.agreements_unreadable",
                    extra=fields(error=_first_line(exc)),
                )
        # This worker's own rows come back only once their lease expired; those it is still
        # working on must not be sent twice.
        return [c for c in batch if c.id not in self.held], len(batch)

    async def run(self, *, limit: int, batch_size: int) -> TickReport:
        began = time.perf_counter()
        try:
            self.disabled = await self.in_db(outbox.disabled_channels, self.engine)
            self.journal.open()
            heartbeat = asyncio.create_task(self._heartbeat())
            slots = [
                asyncio.create_task(self.slot())
                for _ in range(self.settings.max_concurrent_deliveries)
            ]
            try:
                remaining = limit
                while remaining > 0 and not self.stopping():
                    while self.queue.qsize() > self.settings.max_concurrent_deliveries:
                        self.room.clear()
                        await self.room.wait()
                    asked = min(batch_size, remaining)
                    batch, given = await self._claim(asked)
                    if not given:
                        break
                    remaining -= len(batch)
                    self.report.claimed += len(batch)
                    for claimed in batch:
                        self.held.add(claimed.id)
                        self.queue.put_nowait(claimed)
                    if given < asked:
                        break  # fewer than asked for: nothing else is due
            finally:
                for _ in slots:
                    self.queue.put_nowait(None)
                await asyncio.gather(*slots)
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
                await self.journal.close()
        finally:
            self._db.shutdown(wait=True)
        self.report.duration_s = time.perf_counter() - began
        return self.report


def _stored(text: str) -> str:
    """Error and detail text as stored: bounded, and without NUL (PostgreSQL refuses it in
    text columns; a receiver's answer may contain anything)."""
    return text.replace("\x00", "\ufffd")[:ERROR_MAX_CHARS]


def batch_size_for(settings: Settings) -> int:
    return max(MIN_BATCH, settings.max_concurrent_deliveries * BATCH_PER_SLOT)


async def tick_async(
    engine: Engine,
    notifiers: Mapping[str, Sender],
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
    """One tick inside a running event loop, with notifiers bound to that loop.

    ``stop`` (shutdown) ends the tick: nothing more is claimed or started, the deliveries in
    flight finish and are recorded. Every moment the tick stores (attempt start, failure, next
    attempt, sent, lease) is read from ``clock`` (the service's real clock); without one, time
    stands still at ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    frozen = now.astimezone(UTC)

    def read_clock() -> datetime:
        return clock().astimezone(UTC) if clock is not None else frozen

    runner = _Tick(
        engine,
        notifiers,
        settings,
        clock=read_clock,
        worker=worker,
        uniform=uniform,
        stop=stop,
    )
    return await runner.run(limit=limit, batch_size=batch_size or batch_size_for(settings))


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
    from tracker.notify.registry import build_notifiers

    # The httpx client belongs to this event loop, so it is made and closed inside it.
    client = make_http_client(max_connections=settings.max_concurrent_deliveries)
    try:
        notifiers = build_notifiers(settings, client=client)
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
                    log.exception("notifier.close_failed", extra=fields(channel=notifier.name))
    finally:
        await client.aclose()


def tick(
    engine: Engine,
    notifiers: Mapping[str, Sender] | None,
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
