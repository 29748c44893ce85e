"""Webhook credentials: how they are sent, and that a receiver echoing them never gets them into
``last_error``, the API, ``tracker reminders`` or the log.

A receiver that answers 500 with the request's ``Authorization`` header (and what it decodes
to) in its body is the leak reported in issue 8: with ``http://user:urlpass123@host/`` the
header is ``Basic dXNlcjp1cmxwYXNzMTIz``, base64 of ``user:urlpass123``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from tests.integration.test_dispatch import SECRET, add_agreement, agreement_yaml, make_settings
from tests.support.receiver import Receiver, RecordedRequest, Reply
from tracker.api.app import create_app
from tracker.logs import render
from tracker.service import Service
from tracker.store import reminders as outbox

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TRACKER = str(Path(sys.executable).with_name("tracker"))
USER, PASSWORD = "user", "urlpass123"
BASIC = "Basic dXNlcjp1cmxwYXNzMTIz"
BEARER_TOKEN = "bearer-token-4f9a"
#: Every form in which the channel's secrets could leak.
SECRET_FORMS = (
    PASSWORD,
    f"{USER}:{PASSWORD}",
    "dXNlcjp1cmxwYXNzMTIz",  # base64 of user:password, as HTTP Basic sends it
    base64.b64encode(PASSWORD.encode()).decode(),
    BEARER_TOKEN,
    base64.b64encode(BEARER_TOKEN.encode()).decode(),
    SECRET,
    SECRET.removeprefix("whsec_"),
    base64.b64encode(SECRET.encode()).decode(),
)


def echo_credentials(request: RecordedRequest) -> Reply:
    """A careless receiver: refuses with the credentials it got, as sent and decoded."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    decoded = base64.b64decode(token).decode() if scheme == "Basic" else token
    body = json.dumps({"you sent": authorization, "decoded": decoded, "in base64": token})
    return Reply(status=500, body=body.encode())


def deliver_once(
    db_url: str, engine: Engine, receiver: Receiver, *, url: str, **channel: Any
) -> tuple[Any, list[RecordedRequest]]:
    now = datetime.now(UTC).replace(microsecond=0)
    settings = make_settings(
        db_url,
        url,
        channels={"hook": {"type": "webhook", "url": url, "secret": SECRET, **channel}},
    )
    add_agreement(engine, agreement_yaml("pact", now.date() + timedelta(days=10)), now=now)
    service = Service(settings, engine=engine, worker="w1")
    service.replan(now=now)
    service.tick(now=now)
    return settings, receiver.wait_for(1)


def shown_by_the_api(settings: Any) -> str:
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/reminders")
    assert response.status_code == 200
    return response.text


def shown_by_the_cli(db_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_DATABASE_URL"] = db_url
    result = subprocess.run(
        [TRACKER, "reminders", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def assert_no_secret_in(text: str, where: str) -> None:
    leaked = [form for form in SECRET_FORMS if form in text]
    assert leaked == [], f"{where} shows {leaked}: {text}"


def test_url_credentials_are_sent_as_basic_auth_and_their_echo_is_redacted_everywhere(
    db_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver(respond=echo_credentials) as receiver, caplog.at_level(logging.DEBUG):
        url = f"http://{USER}:{PASSWORD}@127.0.0.1:{receiver.port}/hook"
        settings, (request,) = deliver_once(db_url, engine, receiver, url=url)

    # The credentials went out as HTTP Basic, to the URL without them.
    assert request.headers["authorization"] == BASIC
    assert request.path == "/hook"
    (row,) = outbox.list_reminders(engine)
    assert (row.status, row.last_status_code) == ("retrying", 500)
    assert row.last_error == (
        f"webhook 'hook' (http://127.0.0.1:{receiver.port}): HTTP 500 Internal Server Error: "
        '{"you sent": "***", "decoded": "***", "in base64": "***"}'
    )
    (attempt,) = outbox.list_attempts(engine)
    assert attempt.error == row.last_error
    api = shown_by_the_api(settings)
    assert json.loads(api)["data"][0]["last_error"] == row.last_error
    assert_no_secret_in(api, "GET /api/v1/reminders")
    assert_no_secret_in(shown_by_the_cli(db_url), "tracker reminders")
    logged = [render(record) for record in caplog.records]
    delivery_lines = [line for line in logged if line.startswith("reminder.delivery")]
    assert len(delivery_lines) == 1
    assert_no_secret_in("\n".join(logged), "the log")


def test_a_configured_authorization_header_is_sent_as_is_and_its_echo_is_redacted(
    db_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver(respond=echo_credentials) as receiver, caplog.at_level(logging.DEBUG):
        settings, (request,) = deliver_once(
            db_url,
            engine,
            receiver,
            url=receiver.url,
            headers={"Authorization": f"Bearer {BEARER_TOKEN}"},
        )

    assert request.headers["authorization"] == f"Bearer {BEARER_TOKEN}"
    (row,) = outbox.list_reminders(engine)
    assert row.last_error == (
        f"webhook 'hook' (http://127.0.0.1:{receiver.port}): HTTP 500 Internal Server Error: "
        '{"you sent": "***", "decoded": "***", "in base64": "***"}'
    )
    assert_no_secret_in(shown_by_the_api(settings), "GET /api/v1/reminders")
    assert_no_secret_in("\n".join(render(r) for r in caplog.records), "the log")


def test_url_credentials_and_an_authorization_header_together_are_refused_at_start(
    tmp_path: Path,
) -> None:
    config = tmp_path / "tracker.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{tmp_path / 'tracker.db'}",
                "agreements_dir": None,
                "channels": {
                    "hook": {
                        "type": "webhook",
                        "url": f"https://{USER}:{PASSWORD}@hooks.example.org/x",
                        "secret": SECRET,
                        "headers": {"Authorization": f"Bearer {BEARER_TOKEN}"},
                    }
                },
            }
        )
    )
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
        f"Error: {config}: channels.hook.webhook.headers: an Authorization header and "
        "credentials in the url (user:password@) would both set Authorization; give "
        "credentials one way only: remove them from the url, or remove the Authorization "
        "header\n"
    )
    assert_no_secret_in(result.stderr, "the error")
