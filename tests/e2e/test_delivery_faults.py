"""Faults during delivery, at process level: a ``tracker serve`` killed with SIGKILL mid-batch,
and its PostgreSQL connections cut mid-batch.

The promise under test (docs/reminders.md, "Delivery guarantee"): a reminder is repeated only
when its attempt was in flight (sent, outcome not yet recorded) when the process died or lost
the database, so at most ``max_concurrent_deliveries`` repeat; none is lost; and every send
appears in ``delivery_attempts``. The receiver is a separate process writing each request to a
JSON-lines file, so what arrived is known exactly whatever happens to the tracker.

"Every send appears": per reminder, the attempts with a known outcome are at most what the
receiver got, and what it got is at most those plus the ``interrupted`` ones (an attempt whose
outcome was never recorded: its request may or may not have reached the receiver).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy import select

from tests.conftest import postgres_base_url, requires_postgres
from tests.integration.test_crash_recovery import (
    GRACEFUL_EXIT,
    SECRET,
    daily_agreement,
    rows,
    start_serve,
    stop,
    write_config,
)
from tests.support.polling import wait_until
from tests.support.receiver import ReceiverProcess
from tracker.store.engine import make_engine
from tracker.store.tables import DeliveryAttemptRow

pytestmark = pytest.mark.slow

TOTAL = 500
CONCURRENCY = 8
#: Deliveries before the fault: well into the run, far from its end.
BEFORE_FAULT = 150
#: Longer than the lease (5 s), so that leases run out while the database is cut off.
CUT_S = 6.0
DELIVERY_TIMEOUT_S = 90.0
TRACKER = str(Path(sys.executable).with_name("tracker"))

A = DeliveryAttemptRow.__table__  # type: ignore[attr-defined]


def configure(tmp: Path, *, db_url: str, hook_url: str) -> Path:
    # From tomorrow: the last deadline is 500 days ahead, so its 500-day reminder is due too.
    first = datetime.now(UTC).date() + timedelta(days=1)
    return write_config(
        tmp,
        db_url=db_url,
        hook_url=hook_url,
        agreements={"daily": daily_agreement("daily", first=first, count=TOTAL)},
        planning_horizon="600 days",
        max_concurrent_deliveries=CONCURRENCY,
    )


def attempts(db_url: str) -> list[tuple[int, int, str]]:
    """(reminder id, attempt number, outcome) of every attempt."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return [
                (r.reminder_id, r.attempt, r.outcome)
                for r in connection.execute(select(A.c.reminder_id, A.c.attempt, A.c.outcome))
            ]
    finally:
        engine.dispose()


def assert_every_send_recorded(db_url: str, arrived: Counter[str]) -> None:
    webhook_ids = {row.id: row.webhook_id for row in rows(db_url)}
    known: Counter[str] = Counter()
    interrupted: Counter[str] = Counter()
    for reminder_id, _, outcome in attempts(db_url):
        assert outcome != "in_flight", "an attempt is still marked in flight"
        (interrupted if outcome == "interrupted" else known)[webhook_ids[reminder_id]] += 1
    for webhook_id in webhook_ids.values():
        low, high = known[webhook_id], known[webhook_id] + interrupted[webhook_id]
        assert low <= arrived[webhook_id] <= high, (
            f"{webhook_id}: received {arrived[webhook_id]}, recorded {low} attempts "
            f"and {interrupted[webhook_id]} interrupted"
        )


def deliver_the_rest(config: Path, *, log: Path, receiver: ReceiverProcess, db_url: str) -> None:
    """Start the service again and let it finish; it must stop cleanly afterwards."""
    process, _ = start_serve(config, log=log)
    try:
        wait_for_everything(receiver, db_url, process=process)
        assert stop(process) in GRACEFUL_EXIT
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_everything(
    receiver: ReceiverProcess, db_url: str, *, process: subprocess.Popen[bytes]
) -> None:
    wait_until(
        lambda: len({r.headers["webhook-id"] for r in receiver.requests}) >= TOTAL,
        timeout=DELIVERY_TIMEOUT_S,
        what="every reminder",
        process=process,
    )
    wait_until(
        lambda: {r.status for r in rows(db_url)} == {"sent"},
        timeout=DELIVERY_TIMEOUT_S,
        what="every row recorded as sent",
        process=process,
    )


def test_a_kill_mid_batch_repeats_only_the_deliveries_in_flight_and_records_every_send(
    db_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with ReceiverProcess(tmp_path / "requests.jsonl", delay_s=0.05) as receiver:
        config = configure(tmp_path, db_url=db_url, hook_url=receiver.url)
        process, _ = start_serve(config, log=log)
        try:
            wait_until(
                lambda: len(receiver.requests) >= BEFORE_FAULT,
                timeout=DELIVERY_TIMEOUT_S,
                what=f"{BEFORE_FAULT} deliveries",
                process=process,
            )
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(0.3)  # requests already on the wire reach the receiver's log
        webhook_ids = {row.id: row.webhook_id for row in rows(db_url)}
        in_flight = {
            webhook_ids[rid] for rid, _, outcome in attempts(db_url) if outcome == "in_flight"
        }
        assert len(webhook_ids) == TOTAL
        assert len({r.headers["webhook-id"] for r in receiver.requests}) < TOTAL
        assert len(in_flight) <= CONCURRENCY

        deliver_the_rest(config, log=log, receiver=receiver, db_url=db_url)
        arrived = Counter(r.headers["webhook-id"] for r in receiver.requests)

    assert set(arrived) == set(webhook_ids.values()), "a reminder was lost"
    repeated = {webhook_id for webhook_id, n in arrived.items() if n > 1}
    assert repeated <= in_flight, log.read_text()[-3000:]
    assert max(arrived.values()) <= 2
    assert_every_send_recorded(db_url, arrived)


def with_application_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def cut_connections(application_name: str, *, seconds: float) -> int:
    """Terminate every backend of ``application_name``, again and again for ``seconds`` (new
    connections included); how many were terminated. The server itself keeps running."""
    base = postgres_base_url()
    assert base is not None
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    terminated = 0
    with psycopg.connect(plain, autocommit=True) as admin:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            terminated += len(
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (application_name,),
                ).fetchall()
            )
            time.sleep(0.02)
    return terminated


@pytest.mark.postgres
@requires_postgres
def test_a_database_cut_mid_batch_repeats_at_most_the_deliveries_in_flight(
    postgres_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    application_name = f"tracker-{tmp_path.name[-20:]}"
    tracker_url = with_application_name(postgres_url, application_name)
    with ReceiverProcess(tmp_path / "requests.jsonl", delay_s=0.05) as receiver:
        config = configure(tmp_path, db_url=tracker_url, hook_url=receiver.url)
        process, _ = start_serve(config, log=log)
        try:
            wait_until(
                lambda: len(receiver.requests) >= BEFORE_FAULT,
                timeout=DELIVERY_TIMEOUT_S,
                what=f"{BEFORE_FAULT} deliveries",
                process=process,
            )
            # Mid-batch: counted when the cut starts. The tracker reconnects between the
            # terminations (every 20 ms) and may finish the batch during the cut.
            assert len({r.headers["webhook-id"] for r in receiver.requests}) < TOTAL
            terminated = cut_connections(application_name, seconds=CUT_S)
            wait_for_everything(receiver, postgres_url, process=process)
            assert stop(process) in GRACEFUL_EXIT
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        arrived = Counter(r.headers["webhook-id"] for r in receiver.requests)

    assert terminated > 0, "the cut should have hit the tracker's connections"
    assert {row.webhook_id for row in rows(postgres_url)} == set(arrived), "a reminder was lost"
    repeated = {webhook_id for webhook_id, n in arrived.items() if n > 1}
    assert len(repeated) <= CONCURRENCY, log.read_text()[-3000:]
    assert max(arrived.values()) <= 2
    assert_every_send_recorded(postgres_url, arrived)


def test_a_lease_too_short_for_one_delivery_is_refused_naming_the_key_and_the_minimum(
    tmp_path: Path,
) -> None:
    config = tmp_path / "tracker.yaml"
    settings: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'tracker.db'}",
        "agreements_dir": None,
        "lease": "2 seconds",
        "channels": {
            "hook": {
                "type": "webhook",
                "url": "https://hooks.example.org/x",
                "secret": SECRET,
                "timeout_seconds": 1,
            },
            "slow": {"type": "webhook", "url": "https://slow.example.org/x", "secret": SECRET},
        },
    }
    config.write_text(yaml.safe_dump(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    result = subprocess.run(
        [TRACKER, "--config", str(config), "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: {config}: lease: 2 seconds cannot cover one delivery: it must be at least "
        "31 seconds (twice channels.slow.timeout_seconds = 15 s, plus 1 second); raise lease "
        "or lower that timeout\n"
    )
