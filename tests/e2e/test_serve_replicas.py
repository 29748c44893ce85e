"""Three installed ``tracker serve`` processes on one PostgreSQL schema share 1,000 reminders.

As an operator runs them: the ``tracker`` console script, one configuration file, one database,
one webhook receiver (a separate process that appends every request to a JSON-lines file, so
what arrived is known exactly, whatever happens to the replicas). The replicas start with an
empty agreements folder and are all ready (``/healthz``) before four agreement files with 250
due reminders each are dropped into it: every replica sees the work at about the same time,
so more than one of them delivers and the test says something about sharing.

A webhook-id may arrive twice only when a replica was SIGKILLed with that row claimed (sent,
perhaps, but not yet recorded): its lease expires and another replica sends it again with the
same id, which the receiver deduplicates on. Nothing else may ever repeat.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook

from tests.conftest import requires_postgres
from tests.integration.test_crash_recovery import (
    GRACEFUL_EXIT,
    SECRET,
    daily_agreement,
    free_port,
    write_config,
)
from tests.support.polling import wait_until
from tests.support.receiver import ReceiverProcess, RecordedRequest
from tracker.store.tables import DeliveryAttemptRow, ReminderRow

pytestmark = [pytest.mark.postgres, pytest.mark.slow, requires_postgres]

#: The installed console script next to this interpreter (``.venv/bin/tracker``).
TRACKER_BIN = Path(sys.executable).with_name("tracker")
REPLICAS = 3
AGREEMENTS = 4
PER_AGREEMENT = 250
TOTAL = AGREEMENTS * PER_AGREEMENT
LEASE_S = 5
READY_TIMEOUT_S = 45.0
DELIVERY_TIMEOUT_S = 60.0
#: Lines of each replica's log shown when a test fails.
LOG_TAIL_LINES = 40

R = ReminderRow.__table__  # type: ignore[attr-defined]
A = DeliveryAttemptRow.__table__  # type: ignore[attr-defined]


@dataclass
class Replica:
    """One ``tracker serve`` process and what its ``/healthz`` said about it."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    worker: str = ""

    def healthz(self) -> dict[str, object] | None:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
        except httpx.TransportError:
            return None
        return response.json() if response.status_code == 200 else None

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-LOG_TAIL_LINES:])


class Replicas:
    """Starts replicas, waits for them, and reports their logs; every process it started is
    killed at teardown."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[Replica] = []

    def start(self, config: Path, count: int) -> list[Replica]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TRACKER_CONFIG", None)
        replicas = []
        for _ in range(count):
            port = free_port()
            log = self.tmp / f"serve-{len(self.started)}.log"
            with log.open("ab") as out:
                process = subprocess.Popen(
                    [str(TRACKER_BIN), "serve", "--config", str(config), "--port", str(port)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            replica = Replica(process, port, log)
            self.started.append(replica)
            replicas.append(replica)
        for replica in replicas:
            self.wait_ready(replica)
        return replicas

    def wait_ready(self, replica: Replica) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            health = replica.healthz()
            if health is not None and health.get("scheduler") is True:
                replica.worker = str(health["worker"])
                return
            if replica.process.poll() is not None:
                raise AssertionError(
                    f"replica on port {replica.port} exited with {replica.process.returncode}"
                    f" before it was ready\n{self.logs()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"replica on port {replica.port} never got ready\n{self.logs()}"
                )
            time.sleep(0.05)

    def logs(self) -> str:
        return "\n".join(
            f"--- serve-{i} (port {r.port}, worker {r.worker or '?'}, "
            f"exit {r.process.poll()}) ---\n{r.tail()}"
            for i, r in enumerate(self.started)
        )

    def kill_all(self) -> None:
        for replica in self.started:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGKILL)
                replica.process.wait()


@pytest.fixture
def fast_receiver(tmp_path: Path) -> Iterator[ReceiverProcess]:
    """A receiver process answering after 5 ms: the replicas claim a batch every few dozen
    milliseconds each, so their claims overlap often (without row locks, this test sees
    dozens of webhook-ids twice)."""
    with ReceiverProcess(tmp_path / "requests.jsonl", delay_s=0.005) as started:
        yield started


@pytest.fixture
def slow_receiver(tmp_path: Path) -> Iterator[ReceiverProcess]:
    """A receiver process answering after 50 ms, so every replica has a batch in flight most
    of the time (64 rows at 8 in flight take about 0.4 s) and a signal lands mid-batch."""
    with ReceiverProcess(tmp_path / "requests.jsonl", delay_s=0.05) as started:
        yield started


def configure(tmp: Path, *, db_url: str, hook_url: str) -> Path:
    return write_config(
        tmp,
        db_url=db_url,
        hook_url=hook_url,
        agreements={},  # filled once every replica is ready, see drop_agreements
        tick_seconds=0.3,
        lease=f"{LEASE_S} seconds",
        max_concurrent_deliveries=8,
    )


def drop_agreements(tmp: Path) -> None:
    """Move four agreements with 250 due reminders each into the watched folder, each file
    complete when it appears (written beside the folder, then renamed into it)."""
    first = datetime.now(UTC).date() + timedelta(days=2)
    staging = tmp / "staging"
    staging.mkdir()
    for i in range(AGREEMENTS):
        name = f"daily-{i}"
        (staging / f"{name}.yaml").write_text(
            daily_agreement(name, first=first, count=PER_AGREEMENT)
        )
        os.replace(staging / f"{name}.yaml", tmp / "agreements" / f"{name}.yaml")


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(R.c.status, func.count()).group_by(R.c.status)).all())


def claims(engine: Engine) -> dict[str, int]:
    """Rows in ``sending`` per claiming worker."""
    with engine.connect() as connection:
        return dict(
            connection.execute(
                select(R.c.claimed_by, func.count())
                .where(R.c.status == "sending")
                .group_by(R.c.claimed_by)
            ).all()
        )


def reminders(engine: Engine) -> list[ReminderRow]:
    with engine.connect() as connection:
        return [ReminderRow.model_validate(dict(r._mapping)) for r in connection.execute(select(R))]


def sent_by(engine: Engine) -> dict[int, str]:
    """The worker whose attempt sent each reminder; every reminder has exactly one such
    attempt (a killed replica records none), so a second one fails here."""
    with engine.connect() as connection:
        rows = connection.execute(select(A.c.reminder_id, A.c.worker).where(A.c.outcome == "sent"))
        pairs = [(reminder_id, worker) for reminder_id, worker in rows]
    twice = [rid for rid, n in Counter(rid for rid, _ in pairs).items() if n > 1]
    assert twice == [], f"reminders with more than one sent attempt: {twice}"
    assert len(pairs) == TOTAL
    return dict(pairs)


def unique_ids(receiver: ReceiverProcess) -> set[str]:
    return {r.headers["webhook-id"] for r in receiver.requests}


def all_delivered_and_recorded(receiver: ReceiverProcess, engine: Engine) -> bool:
    return len(unique_ids(receiver)) >= TOTAL and statuses(engine) == {"sent": TOTAL}


def wait_for_a_replica_with_claims(
    running: list[Replica], engine: Engine, receiver: ReceiverProcess
) -> Replica:
    """Once a fifth of the reminders arrived, a replica holding claimed rows right now."""
    wait_until(
        lambda: len(receiver.requests) >= TOTAL // 5,
        timeout=DELIVERY_TIMEOUT_S,
        what=f"{TOTAL // 5} deliveries",
    )
    by_worker = {r.worker: r for r in running}
    found: list[Replica] = []

    def holder() -> bool:
        held = {w: n for w, n in claims(engine).items() if w in by_worker}
        if held:
            found.append(by_worker[max(held, key=held.__getitem__)])
        return bool(held)

    wait_until(holder, timeout=10, what="a replica with claimed rows")
    return found[-1]


def stop_gracefully(replica: Replica) -> int:
    replica.process.send_signal(signal.SIGTERM)
    return replica.process.wait(timeout=30)


def counted(requests: list[RecordedRequest]) -> Counter[str]:
    return Counter(r.headers["webhook-id"] for r in requests)


def test_three_replicas_deliver_each_of_1000_webhook_ids_exactly_once(
    postgres_url: str,
    engine: Engine,
    fast_receiver: ReceiverProcess,
    replicas: Replicas,
    tmp_path: Path,
) -> None:
    receiver = fast_receiver
    config = configure(tmp_path, db_url=postgres_url, hook_url=receiver.url)
    running = replicas.start(config, REPLICAS)
    assert len({r.worker for r in running}) == REPLICAS
    drop_agreements(tmp_path)

    wait_until(
        lambda: all_delivered_and_recorded(receiver, engine),
        timeout=DELIVERY_TIMEOUT_S,
        what=f"{TOTAL} reminders delivered and recorded sent",
    )
    time.sleep(1.0)  # a few more ticks of every replica: nothing else may arrive
    for replica in running:
        assert stop_gracefully(replica) in GRACEFUL_EXIT

    requests = receiver.requests
    arrived = counted(requests)
    stored = reminders(engine)
    assert len(stored) == TOTAL
    assert set(arrived) == {r.webhook_id for r in stored}
    assert [webhook_id for webhook_id, n in arrived.items() if n > 1] == []
    assert {r.status for r in stored} == {"sent"}
    for request in requests:  # what arrived is what the replicas signed
        Webhook(SECRET).verify(request.body, request.headers)
    workers = Counter(sent_by(engine).values())
    assert set(workers) <= {r.worker for r in running}
    assert len(workers) >= 2, f"only one replica delivered: {workers}"


def test_a_replica_killed_mid_run_loses_nothing_once_its_lease_expires(
    postgres_url: str,
    engine: Engine,
    slow_receiver: ReceiverProcess,
    replicas: Replicas,
    tmp_path: Path,
) -> None:
    receiver = slow_receiver
    config = configure(tmp_path, db_url=postgres_url, hook_url=receiver.url)
    running = replicas.start(config, REPLICAS)
    drop_agreements(tmp_path)

    victim = wait_for_a_replica_with_claims(running, engine, receiver)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    time.sleep(0.3)  # requests already on the wire reach the receiver's log
    at_kill = [
        r for r in reminders(engine) if r.status == "sending" and r.claimed_by == victim.worker
    ]
    in_flight = {r.webhook_id: r for r in at_kill}
    assert in_flight, "the kill should have caught a batch in flight"
    assert len(unique_ids(receiver)) < TOTAL, "the kill should have come mid-run"

    survivors = [r for r in running if r is not victim]
    wait_until(
        lambda: all_delivered_and_recorded(receiver, engine),
        timeout=DELIVERY_TIMEOUT_S,
        what=f"{TOTAL} reminders delivered and recorded sent",
    )
    time.sleep(1.0)
    for replica in survivors:
        assert stop_gracefully(replica) in GRACEFUL_EXIT

    requests = receiver.requests
    arrived = counted(requests)
    stored = reminders(engine)
    assert set(arrived) == {r.webhook_id for r in stored} and len(stored) == TOTAL
    assert {r.status for r in stored} == {"sent"}
    duplicates = {webhook_id for webhook_id, n in arrived.items() if n > 1}
    assert duplicates <= set(in_flight), "a webhook-id repeated that was not in flight at the kill"
    assert max(arrived.values()) <= 2
    # The survivors sent the dead replica's rows, and only after its lease had expired.
    claimed_at_kill = {row.id for row in at_kill}
    senders = {worker for rid, worker in sent_by(engine).items() if rid in claimed_at_kill}
    assert senders <= {r.worker for r in survivors}
    last_arrival = {r.headers["webhook-id"]: r.received_at for r in requests}
    for webhook_id, row in in_flight.items():
        assert row.lease_until is not None
        lease_until = row.lease_until.replace(tzinfo=row.lease_until.tzinfo or UTC)
        assert last_arrival[webhook_id] >= lease_until.timestamp(), webhook_id


def test_sigterm_leaves_no_row_in_sending_claimed_by_the_stopped_replica(
    postgres_url: str,
    engine: Engine,
    slow_receiver: ReceiverProcess,
    replicas: Replicas,
    tmp_path: Path,
) -> None:
    receiver = slow_receiver
    config = configure(tmp_path, db_url=postgres_url, hook_url=receiver.url)
    running = replicas.start(config, REPLICAS)
    drop_agreements(tmp_path)

    stopped = wait_for_a_replica_with_claims(running, engine, receiver)
    assert stop_gracefully(stopped) in GRACEFUL_EXIT
    assert claims(engine).get(stopped.worker, 0) == 0
    assert len(unique_ids(receiver)) < TOTAL, "the stop should have come mid-run"

    survivors = [r for r in running if r is not stopped]
    wait_until(
        lambda: all_delivered_and_recorded(receiver, engine),
        timeout=DELIVERY_TIMEOUT_S,
        what=f"{TOTAL} reminders delivered and recorded sent",
    )
    time.sleep(1.0)
    for replica in survivors:
        assert stop_gracefully(replica) in GRACEFUL_EXIT

    # A clean stop finishes or gives back what it holds, so nothing is sent twice.
    arrived = counted(receiver.requests)
    assert len(arrived) == TOTAL
    assert max(arrived.values()) == 1
    assert stopped.worker in set(sent_by(engine).values()), "the stopped replica did no work"
