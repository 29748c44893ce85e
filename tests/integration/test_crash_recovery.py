"""A ``tracker serve`` process killed with SIGKILL mid-batch loses nothing when started again.

The receiver runs in its own process and writes every request to a JSON-lines file, so what
arrived is known exactly even across the kill. A webhook-id may arrive twice only when its
first attempt was in flight at the kill: its row was still ``sending`` under the dead
process's lease (the attempt was not recorded), so the restarted service sent it again after
the lease expired. Receivers deduplicate on the id; the test checks nothing else repeats.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from tests.support.polling import wait_until
from tests.support.receiver import ReceiverProcess
from tracker.store.engine import make_engine
from tracker.store.tables import ReminderRow

SECRET = "whsec_" + base64.b64encode(b"crash-recovery-test-secret-000000").decode()
TRACKER = [sys.executable, "-m", "tracker"]
START_TIMEOUT_S = 30.0
#: A SIGTERM is a requested stop: `tracker serve` shuts down gracefully and exits 0.
GRACEFUL_EXIT = (0,)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daily_agreement(agreement_id: str, *, first: date, count: int) -> str:
    """An agreement with ``count`` daily deadlines from ``first``; with a 500-day reminder
    offset every one of them has exactly one reminder, already due."""
    until = first + timedelta(days=count - 1)
    return (
        f"version: 1\nid: {agreement_id}\ntitle: Daily {agreement_id}\nparties: [AA, BB]\n"
        f"rules:\n  - {{kind: recurring, label: report, first: {first}, every: 1 day, "
        f"until: {until}}}\nreminders: [500 days]\n"
    )


def write_config(
    tmp: Path, *, db_url: str, hook_url: str, agreements: dict[str, str], **overrides: Any
) -> Path:
    folder = tmp / "agreements"
    folder.mkdir(exist_ok=True)
    for name, text in agreements.items():
        (folder / f"{name}.yaml").write_text(text)
    config: dict[str, Any] = {
        "database_url": db_url,
        "agreements_dir": str(folder),
        "timezone": "UTC",
        "send_time": "00:00",
        "planning_horizon": "400 days",
        "default_channels": ["hook"],
        "channels": {
            "hook": {"type": "webhook", "url": hook_url, "secret": SECRET, "timeout_seconds": 2}
        },
        "tick_seconds": 0.5,
        "lease": "5 seconds",  # the shortest that covers a 2 s timeout
        "max_concurrent_deliveries": 8,
        "retry": {"initial_delay": "1 second", "max_delay": "2 seconds", "max_attempts": 10},
        "log_level": "INFO",
    }
    config.update(overrides)
    path = tmp / f"tracker-{len(list(tmp.glob('tracker-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_serve(config: Path, *, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TRACKER_CONFIG", None)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*TRACKER, "--config", str(config), "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return process, port


def rows(db_url: str) -> list[ReminderRow]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return [
                ReminderRow.model_validate(dict(r._mapping))
                for r in connection.execute(select(ReminderRow.__table__))
            ]  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def stop(process: subprocess.Popen[bytes], *, timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@pytest.mark.slow
def test_a_killed_service_resends_only_what_was_in_flight_and_loses_nothing(
    db_url: str, tmp_path: Path
) -> None:
    total = 200
    first = datetime.now(UTC).date() + timedelta(days=2)
    with ReceiverProcess(tmp_path / "requests.jsonl", delay_s=0.05) as receiver:
        config = write_config(
            tmp_path,
            db_url=db_url,
            hook_url=receiver.url,
            agreements={"daily": daily_agreement("daily", first=first, count=total)},
        )
        log = tmp_path / "serve.log"
        process, _ = start_serve(config, log=log)
        try:
            wait_until(
                lambda: len(receiver.requests) >= 60,
                timeout=START_TIMEOUT_S,
                what="60 deliveries",
                process=process,
            )
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(0.3)  # requests already on the wire reach the receiver's log
        at_kill = rows(db_url)
        in_flight = {r.webhook_id for r in at_kill if r.status == "sending"}
        arrived_before = len(receiver.requests)
        assert len(at_kill) == total
        assert in_flight, "the kill should have caught a batch in flight"
        assert arrived_before < total

        restarted, _ = start_serve(config, log=log)
        try:
            wait_until(
                lambda: len({r.headers["webhook-id"] for r in receiver.requests}) >= total,
                timeout=60,
                what="every reminder",
                process=restarted,
            )
            # The killed batch's requests may all have arrived while its rows still sit in
            # `sending` under the dead lease: wait for the lease to expire and the resend.
            wait_until(
                lambda: {r.status for r in rows(db_url)} == {"sent"},
                timeout=60,
                what="every row recorded as sent",
                process=restarted,
            )
            assert stop(restarted) in GRACEFUL_EXIT
        finally:
            if restarted.poll() is None:
                restarted.kill()
        arrived = Counter(r.headers["webhook-id"] for r in receiver.requests)

    final = rows(db_url)
    assert set(arrived) == {r.webhook_id for r in final}
    duplicates = {webhook_id for webhook_id, n in arrived.items() if n > 1}
    assert duplicates <= in_flight, log.read_text()[-3000:]
    assert all(n <= 2 for n in arrived.values())
    assert {r.status for r in final} == {"sent"}
