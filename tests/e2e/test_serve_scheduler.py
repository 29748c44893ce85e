"""``tracker serve`` as users run it: a real process, a real receiver, SIGTERM to stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.test_crash_recovery import (
    GRACEFUL_EXIT,
    SECRET,
    START_TIMEOUT_S,
    TRACKER,
    daily_agreement,
    rows,
    start_serve,
    stop,
    write_config,
)
from tests.support.polling import wait_until
from tests.support.receiver import Receiver, Reply


def healthz(port: int) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return None


@pytest.mark.slow
def test_serve_delivers_due_reminders_reports_health_and_lists_them(
    sqlite_url: str, tmp_path: Path
) -> None:
    first = datetime.now(UTC).date() + timedelta(days=3)
    with Receiver() as receiver:
        config = write_config(
            tmp_path,
            db_url=sqlite_url,
            hook_url=receiver.url,
            agreements={"daily": daily_agreement("daily", first=first, count=3)},
        )
        process, port = start_serve(config, log=tmp_path / "serve.log")
        try:
            requests = receiver.wait_for(3, timeout=START_TIMEOUT_S)
            wait_until(
                lambda: (r := healthz(port)) is not None and r.status_code == 200,
                timeout=START_TIMEOUT_S,
                what="/healthz",
                process=process,
            )
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
            time.sleep(1.0)
            assert receiver.count == 3  # each reminder once, however many ticks ran
        finally:
            code = stop(process)
    assert code in GRACEFUL_EXIT
    for request in requests:
        assert Webhook(SECRET).verify(request.body, request.headers)["type"] == "deadline.reminder"
    assert health["scheduler"] is True and health["last_tick_at"] is not None

    env = {**os.environ}
    env.pop("TRACKER_CONFIG", None)
    listed = subprocess.run(
        [*TRACKER, "--config", str(config), "reminders", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    data = json.loads(listed.stdout)
    assert [(r["status"], r["attempts"], len(r["log"])) for r in data] == [("sent", 1, 1)] * 3
    table = subprocess.run(
        [*TRACKER, "--config", str(config), "reminders", "--status", "sent"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "3 sent" in table.stdout


@pytest.mark.slow
def test_sigterm_in_the_middle_of_a_batch_leaves_no_reminder_in_sending(
    sqlite_url: str, tmp_path: Path
) -> None:
    total = 120
    first = datetime.now(UTC).date() + timedelta(days=2)
    with Receiver(default=Reply(status=200, delay_s=0.1)) as receiver:
        config = write_config(
            tmp_path,
            db_url=sqlite_url,
            hook_url=receiver.url,
            agreements={"daily": daily_agreement("daily", first=first, count=total)},
        )
        process, _ = start_serve(config, log=tmp_path / "serve.log")
        try:
            receiver.wait_for(20, timeout=START_TIMEOUT_S)
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        stored = rows(sqlite_url)
        assert code in GRACEFUL_EXIT
        assert [r.id for r in stored if r.status == "sending"] == []
        assert {r.status for r in stored} <= {"sent", "pending"}
        assert receiver.count < total  # it really stopped mid-way

        # Started again, it sends the rest at once (no lease to wait for) and nothing twice.
        restarted, _ = start_serve(config, log=tmp_path / "serve.log")
        try:
            receiver.wait_for(total, timeout=60)
            time.sleep(0.5)
        finally:
            assert stop(restarted) in GRACEFUL_EXIT
        ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == total


def test_a_disabled_channel_is_marked_in_tracker_reminders_until_enabled_again(
    sqlite_url: str, tmp_path: Path
) -> None:
    from tracker.store import reminders as outbox
    from tracker.store.engine import make_engine
    from tracker.store.migrate import upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    outbox.disable_channel(engine, "hook", reason="HTTP 410 Gone", now=datetime.now(UTC))
    engine.dispose()
    config = tmp_path / "c.yaml"
    config.write_text(f"database_url: {sqlite_url}\nagreements_dir: null\n")
    env = {**os.environ}
    env.pop("TRACKER_CONFIG", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TRACKER, "--config", str(config), *args], capture_output=True, text=True, env=env
        )

    assert "CHANNEL DISABLED: hook: HTTP 410 Gone" in run("reminders").stdout
    assert run("enable-channel", "hook").returncode == 0
    assert "CHANNEL DISABLED" not in run("reminders").stdout
    again = run("enable-channel", "hook")
    assert again.returncode == 1 and "Error: channel 'hook' is not disabled" in again.stderr
