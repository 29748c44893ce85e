"""``tracker serve`` as a real process: an agreement created through the API gets its
reminder delivered to a real webhook receiver, signed per Standard Webhooks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.test_crash_recovery import (
    GRACEFUL_EXIT,
    SECRET,
    START_TIMEOUT_S,
    start_serve,
    stop,
    write_config,
)
from tests.support.polling import wait_until
from tests.support.receiver import Receiver

TOKEN = "e2e-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class Served:
    """A running ``tracker serve`` and its base URL."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


@contextmanager
def serve(config: Path, log: Path) -> Iterator[Served]:
    process, port = start_serve(config, log=log)
    try:
        wait_until(lambda: healthy(port), timeout=START_TIMEOUT_S, what="/healthz", process=process)
        yield Served(process, port)
    finally:
        code = stop(process)
        assert code in GRACEFUL_EXIT, log.read_text(errors="replace")[-3000:]


def soon_agreement(day: str) -> str:
    return f"""\
version: 1
id: soon-pact
title: Soon Pact
parties: [AA, BB]
tags: [e2e]
rules:
  - kind: milestone
    label: ratification review
    date: {day}
reminders: [7 days]
channels: [hook]
"""


@pytest.mark.slow
def test_an_agreement_created_through_the_api_has_its_reminder_delivered(
    sqlite_url: str, tmp_path: Path
) -> None:
    # The milestone is 3 days ahead, so its 7-day reminder is already due: sent right away.
    day = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    with Receiver() as receiver:
        config = write_config(
            tmp_path, db_url=sqlite_url, hook_url=receiver.url, agreements={}, api_token=TOKEN
        )
        with serve(config, tmp_path / "serve.log") as served:
            created = httpx.post(
                f"{served.url}/api/v1/agreements",
                content=soon_agreement(day),
                headers={**AUTH, "Content-Type": "application/yaml"},
                timeout=10,
            )
            assert created.status_code == 201, created.text
            assert created.headers["location"] == "/api/v1/agreements/soon-pact"

            (request,) = receiver.wait_for(1, timeout=START_TIMEOUT_S)
            payload = Webhook(SECRET).verify(request.body, request.headers)
            assert payload["type"] == "deadline.reminder"
            deadline = payload["data"]["deadline"]
            assert (deadline["agreement"], deadline["kind"], deadline["date"]) == (
                "soon-pact",
                "milestone",
                day,
            )
            assert payload["data"]["reminder"]["offset"] == "7 days"
            assert request.headers["webhook-id"] == payload["data"]["reminder"]["id"]

            def sent() -> bool:
                listed = httpx.get(
                    f"{served.url}/api/v1/reminders", params={"agreement": "soon-pact"}, timeout=5
                ).json()
                return [r["status"] for r in listed["data"]] == ["sent"]

            wait_until(sent, timeout=10, what="the reminder marked sent", process=served.process)
            listed = httpx.get(f"{served.url}/api/v1/reminders", timeout=5).json()
            (reminder,) = listed["data"]
            detail = httpx.get(f"{served.url}/api/v1/reminders/{reminder['id']}", timeout=5).json()
            assert [
                (a["attempt"], a["outcome"], a["status_code"]) for a in detail["delivery_attempts"]
            ] == [(1, "sent", 200)]

            deadlines = httpx.get(
                f"{served.url}/api/v1/deadlines", params={"within": "30d", "tag": "e2e"}, timeout=5
            ).json()
            assert [(d["agreement"], d["date"], d["days_left"]) for d in deadlines["data"]] == [
                ("soon-pact", day, 3)
            ]
            health = httpx.get(f"{served.url}/api/v1/healthz", timeout=5).json()
            assert (health["status"], health["scheduler"]) == ("ok", True)
    assert receiver.count == 1
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    # One line per request, and neither the token nor the webhook secret in the log.
    assert log.count('"POST /api/v1/agreements HTTP/1.1" 201') == 1
    assert TOKEN not in log and SECRET not in log


@pytest.mark.slow
def test_the_served_api_refuses_writes_without_the_token(sqlite_url: str, tmp_path: Path) -> None:
    with Receiver() as receiver:
        config = write_config(
            tmp_path, db_url=sqlite_url, hook_url=receiver.url, agreements={}, api_token=TOKEN
        )
        with serve(config, tmp_path / "serve.log") as served:
            response = httpx.post(
                f"{served.url}/api/v1/agreements",
                content=soon_agreement("2030-01-01"),
                headers={"Content-Type": "application/yaml"},
                timeout=10,
            )
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
            too_big = httpx.post(
                f"{served.url}/api/v1/agreements",
                content=b"#" * 2_000_000,
                headers={**AUTH, "Content-Type": "application/yaml"},
                timeout=10,
            )
            assert too_big.status_code == 413
