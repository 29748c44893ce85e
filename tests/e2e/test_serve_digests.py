"""A digest goes out once per scheduled day across two ``tracker serve`` replicas on one
PostgreSQL schema and across a restart.

Real installed ``tracker serve`` processes, as an operator runs them, and a receiver process
that appends every request to a JSON-lines file. The digest is scheduled ``daily 00:00`` in
UTC, so today's occurrence has come whenever the test runs; both replicas start at once and
race to put it in the outbox. Each replica runs the digest job at the start of every tick, so
once each has ticked after the digest arrived, each has seen the digest's row; the test waits
for that (``/healthz`` ``last_tick_at``), then restarts the service and waits again.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook

from tests.conftest import requires_postgres
from tests.e2e.test_serve_replicas import Replica, Replicas, wait_until
from tests.integration.test_crash_recovery import GRACEFUL_EXIT, SECRET, write_config
from tests.support.receiver import ReceiverProcess
from tracker.store.tables import ReminderRow

pytestmark = [pytest.mark.postgres, pytest.mark.slow, requires_postgres]

R = ReminderRow.__table__  # type: ignore[attr-defined]
TODAY = datetime.now(UTC).date()
WAIT_S = 45.0


def pact(agreement_id: str, days: int) -> str:
    expires = TODAY + timedelta(days=days)
    return (
        f"version: 1\nid: {agreement_id}\ntitle: Pact {agreement_id}\nparties: [AA, BB]\n"
        f"rules:\n  - {{kind: fixed_term, expires: {expires}}}\n"
    )


def last_tick(replica: Replica) -> datetime | None:
    health = replica.healthz() or {}
    value = health.get("last_tick_at")
    return datetime.fromisoformat(str(value)) if value else None


def ticked_after(replicas: list[Replica], moment: datetime) -> bool:
    ticks = [last_tick(r) for r in replicas]
    return all(t is not None and t > moment for t in ticks)


def stop(replicas: list[Replica]) -> None:
    for replica in replicas:
        replica.process.send_signal(signal.SIGTERM)
    for replica in replicas:
        assert replica.process.wait(timeout=WAIT_S) in GRACEFUL_EXIT


def digest_rows(engine: Engine) -> list[tuple[str, object, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(R.c.agreement_id, R.c.deadline_date, R.c.channel, R.c.status).where(
                R.c.purpose == "digest"
            )
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_digest_is_delivered_once_across_two_replicas_and_a_restart(
    tmp_path: Path, postgres_url: str, engine: Engine, replicas: Replicas
) -> None:
    with ReceiverProcess(tmp_path / "requests.jsonl") as receiver:
        config = write_config(
            tmp_path,
            db_url=postgres_url,
            hook_url=receiver.url,
            agreements={
                "near": pact("near", 10),
                "far": pact("far", 20),
                "later": pact("later", 90),
            },
            default_channels=["log"],  # reminders to the console: the receiver sees digests only
            tick_seconds=0.3,
            digests={"daily": {"channel": "hook", "schedule": "daily 00:00", "within": "30 days"}},
            public_url="https://tracker.example.org",
            ack_secret="e2e-digest-ack-secret-0123456789",
        )
        both = replicas.start(config, 2)
        (first,) = receiver.wait_for(1, timeout=WAIT_S)
        arrived = datetime.now(UTC)
        wait_until(
            lambda: ticked_after(both, arrived), timeout=WAIT_S, what="both replicas to tick"
        )
        stop(both)

        (again,) = replicas.start(config, 1)
        restarted = datetime.now(UTC)
        wait_until(lambda: ticked_after([again], restarted), timeout=WAIT_S, what="a tick")
        requests = receiver.requests
        stop([again])

    assert len(requests) == 1
    assert digest_rows(engine) == [("daily", TODAY, "hook", "sent")]
    body = Webhook(SECRET).verify(first.body, first.headers)
    assert (body["type"], body["data"]["count"]) == ("deadline.digest", 2)
    assert body["data"]["digest"] == {
        "name": "daily",
        "day": TODAY.isoformat(),
        "schedule": "daily 00:00",
        "within": "30 days",
        "from": TODAY.isoformat(),
        "to": (TODAY + timedelta(days=30)).isoformat(),
        "channel": "hook",
    }
    listed = [
        (d["agreement"], d["kind"], d["date"], d["days_left"], d["action"])
        for d in body["data"]["deadlines"]
    ]
    assert listed == [
        ("near", "expiry", (TODAY + timedelta(days=10)).isoformat(), 10, "info"),
        ("far", "expiry", (TODAY + timedelta(days=20)).isoformat(), 20, "info"),
    ]
    assert all(
        d["ack_url"].startswith("https://tracker.example.org/ack/")
        for d in body["data"]["deadlines"]
    )
