"""Several ``tracker serve`` processes on one PostgreSQL database send each reminder once.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``; planning by every replica at start goes
through ``INSERT ... ON CONFLICT DO NOTHING``; all of them sync the same agreements folder.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.integration.test_crash_recovery import (
    GRACEFUL_EXIT,
    START_TIMEOUT_S,
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


def workers_that_sent(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            table = DeliveryAttemptRow.__table__  # type: ignore[attr-defined]
            result = connection.execute(
                select(table.c.worker, func.count()).group_by(table.c.worker)
            )
            return {worker for worker, _n in result}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_two_replicas_deliver_each_of_500_reminders_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    first = datetime.now(UTC).date() + timedelta(days=2)
    agreements = {
        "north": daily_agreement("north", first=first, count=250),
        "south": daily_agreement("south", first=first, count=250),
    }
    with ReceiverProcess(tmp_path / "requests.jsonl", delay_s=0.02) as receiver:
        config = write_config(
            tmp_path, db_url=postgres_url, hook_url=receiver.url, agreements=agreements
        )
        processes = [start_serve(config, log=tmp_path / f"serve-{i}.log")[0] for i in range(2)]
        try:
            wait_until(
                lambda: len(receiver.requests) >= 500,
                timeout=START_TIMEOUT_S * 2,
                what="500 deliveries",
            )
            time.sleep(1.5)  # a few more ticks of both: nothing else may arrive
            for process in processes:
                assert stop(process) in GRACEFUL_EXIT
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
        arrived = Counter(r.headers["webhook-id"] for r in receiver.requests)

    stored = rows(postgres_url)
    assert len(stored) == 500
    assert set(arrived) == {r.webhook_id for r in stored}
    assert max(arrived.values()) == 1
    assert {r.status for r in stored} == {"sent"}
    assert len(workers_that_sent(postgres_url)) == 2, "both replicas should have delivered"


@pytest.mark.slow
def test_three_replicas_with_one_killed_deliver_all_1000_reminders(
    postgres_url: str, tmp_path: Path
) -> None:
    total = 1000
    first = datetime.now(UTC).date() + timedelta(days=2)
    agreements = {
        f"pact-{i}": daily_agreement(f"pact-{i}", first=first, count=250) for i in range(4)
    }
    with ReceiverProcess(tmp_path / "requests.jsonl", delay_s=0.02) as receiver:
        config = write_config(
            tmp_path, db_url=postgres_url, hook_url=receiver.url, agreements=agreements
        )
        processes = [start_serve(config, log=tmp_path / f"serve-{i}.log")[0] for i in range(3)]
        victim = processes[0]
        try:
            wait_until(
                lambda: len(receiver.requests) >= 300,
                timeout=START_TIMEOUT_S * 2,
                what="300 deliveries",
            )
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            held = {
                r.webhook_id
                for r in rows(postgres_url)
                if r.status == "sending" and f":{victim.pid}:" in (r.claimed_by or "")
            }
            # The survivors finish, and take over the victim's rows once its lease expires.
            # Waiting for the ids alone is not enough: the victim's in-flight requests may all
            # have arrived while their rows still sit in `sending` under the dead lease.
            wait_until(
                lambda: len({r.headers["webhook-id"] for r in receiver.requests}) >= total,
                timeout=90,
                what="every reminder",
            )
            wait_until(
                lambda: {r.status for r in rows(postgres_url)} == {"sent"},
                timeout=90,
                what="every row recorded as sent once the victim's lease expired",
            )
            for process in processes[1:]:
                assert stop(process) in GRACEFUL_EXIT
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
        arrived = Counter(r.headers["webhook-id"] for r in receiver.requests)

    stored = rows(postgres_url)
    assert len(stored) == total and {r.status for r in stored} == {"sent"}
    assert set(arrived) == {r.webhook_id for r in stored}
    assert {webhook_id for webhook_id, n in arrived.items() if n > 1} <= held
