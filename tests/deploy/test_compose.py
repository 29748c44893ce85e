"""The compose stack, started for real: what a user gets from ``docker-compose.yml``.

The project's image is built from the real Dockerfile, on base images made from Debian's
packages (``images.py``; no registry can be reached here), with its dependencies installed from
a wheelhouse this test fills on the host, so no container needs the host's certificate
authority to reach PyPI. The override ``compose.smoke.yaml`` swaps in those images and an
internal network and changes nothing else (a test below holds it to that). Then, as a user would:
``up -d``; the one-shot ``migrate`` service exits 0 once; both replicas pass their HEALTHCHECK;
an agreement posted through the API with the token, whose notice deadline is three days away,
produces exactly one reminder email in the mail catcher although two replicas dispatch;
``stop`` leaves no reminder ``sending``; ``down -v`` leaves nothing behind.

Skipped where no container engine answers (``.ci/run`` starts one). The first run on a machine
makes the base images as root with debootstrap; later runs find them by tag.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from dateutil.relativedelta import relativedelta

from tests.conftest import REPO_ROOT
from tests.deploy import images
from tests.deploy.stack import (
    PROJECT_IMAGE,
    REPLICAS,
    Stack,
    StackError,
    compose_env,
    docker,
    wait_for,
)

pytestmark = [pytest.mark.compose, pytest.mark.slow, pytest.mark.timeout(900)]

WHEELHOUSE = REPO_ROOT / "wheelhouse"
AGREEMENT_ID = "compose-smoke"
AGREEMENT_TITLE = "Compose smoke test agreement"
HEALTHY_TIMEOUT_S = 240.0  # start period 20 s, then a check every 30 s; unhealthy after 3 fails
SENT_TIMEOUT_S = 120.0  # a dispatch tick every 30 s (tick_seconds in config/compose.yaml)
DB_TIMEOUT_S = 60.0
WHEEL_TIMEOUT_S = 600
SENT_EMAIL_IDS = "SELECT webhook_id FROM reminders WHERE channel = 'desk-email' AND status = 'sent'"
CATCHER_COMMAND = [
    "python3",
    "-m",
    "aiosmtpd",
    "-n",
    "-l",
    "0.0.0.0:1025",
    "-c",
    "aiosmtpd.handlers.Mailbox",
    "/tmp/maildir",
]


# --- fixtures: an engine, base images, the project's image -----------------------------------


@pytest.fixture(scope="module")
def engine() -> None:
    """Skip unless docker-compose and a container engine that answers are here."""
    for tool in ("docker", "docker-compose"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian's docker.io and docker-compose)")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        pytest.skip(f"no container engine answers `docker info`: {info.stderr.strip()[-300:]}")


@pytest.fixture(scope="module")
def base_images(engine: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The ``python`` and ``services`` images by name: found by tag, or made now."""
    tags = {recipe.name: recipe.tag() for recipe in images.RECIPES}
    missing = [r for r in images.RECIPES if not images.image_exists(tags[r.name])]
    if missing:
        reason = images.why_cannot_build()
        if reason is not None:
            pytest.skip(f"{reason}, and {', '.join(tags[r.name] for r in missing)} is missing")
        workdir = tmp_path_factory.mktemp("base-images")
        mirror = images.apt_mirror()
        try:
            for recipe in missing:  # one at a time: the machine's cores are shared
                images.build(recipe, workdir=workdir, deb_cache=workdir / "debs", mirror=mirror)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return tags


def smoke_env(base_images: dict[str, str], **secrets_: str) -> dict[str, str]:
    return compose_env(
        TRACKER_SMOKE_PYTHON_IMAGE=base_images["python"],
        TRACKER_SMOKE_SERVICES_IMAGE=base_images["services"],
        **secrets_,
    )


def fresh_secrets() -> dict[str, str]:
    return {
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "TRACKER_API_TOKEN": secrets.token_hex(32),
        "OPS_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def fill_wheelhouse() -> None:
    """Wheels of every dependency and build requirement, fetched by the host's pip (which
    trusts the host's certificate authority) into the build context's ``wheelhouse/``."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    wanted = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(WHEELHOUSE), *wanted],
        capture_output=True,
        text=True,
        timeout=WHEEL_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise StackError(f"pip wheel into {WHEELHOUSE} failed:\n{done.stdout}{done.stderr}")


def image_id(tag: str) -> str | None:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", tag],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture(scope="module")
def project_image(base_images: dict[str, str]) -> str:
    """The project's image, built by docker-compose from the Dockerfile as ``up --build``
    would, on the local Python base and from the wheelhouse."""
    fill_wheelhouse()
    before = image_id(PROJECT_IMAGE)
    builder = Stack(project="trackersmokebuild", env=smoke_env(base_images, **fresh_secrets()))
    builder.compose("build", "migrate")
    after = image_id(PROJECT_IMAGE)
    assert after is not None
    forget_earlier_builds(base_images, replaced=before if before != after else None)
    return after


def forget_earlier_builds(base_images: dict[str, str], *, replaced: str | None) -> None:
    """Keep one build of each kind so that repeated runs do not fill the disk: the image this
    build replaced, all untagged build stages on the Python base but the newest (the next
    build's cache), and base images of earlier recipes."""
    stale = [replaced] if replaced else []
    stages = docker(
        "image",
        "ls",
        "--quiet",
        "--no-trunc",
        "--filter",
        "dangling=true",
        "--filter",
        f"since={base_images['python']}",
    ).stdout.split()  # newest first
    stale += stages[1:]
    for recipe in images.RECIPES:
        current = base_images[recipe.name]
        repository = current.split(":")[0]
        tags = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository)
        stale += [tag for tag in tags.stdout.split() if tag != current]
    for image in stale:
        subprocess.run(["docker", "image", "rm", image], capture_output=True, check=False)


@pytest.fixture
def stack(base_images: dict[str, str], project_image: str) -> Iterator[Stack]:
    """A compose project of its own for one test; ``down -v`` afterwards in any case."""
    running = Stack(
        project=f"trackersmoke{uuid.uuid4().hex[:10]}",
        env=smoke_env(base_images, **fresh_secrets()),
    )
    try:
        yield running
    finally:
        running.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)


# --- the image ----------------------------------------------------------------------------------


def test_the_image_runs_as_a_non_root_user_with_a_health_check_and_no_compiler(
    project_image: str,
) -> None:
    config = json.loads(docker("image", "inspect", project_image).stdout)[0]["Config"]
    assert config["User"] == "tracker"
    assert config["Healthcheck"] == {
        "Test": [
            "CMD",
            "python",
            "-c",
            "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' "
            "% os.environ.get('TRACKER_PORT', '8000'), timeout=4)",
        ],
        "Interval": 30_000_000_000,
        "Timeout": 5_000_000_000,
        "StartPeriod": 20_000_000_000,
        "Retries": 3,
    }
    assert config["Cmd"] == ["tracker", "serve"]
    # Prints the user, then any compiler, build tool or wheelhouse the image holds: none.
    probe = (
        "id -un; for tool in cc gcc g++ clang make; do command -v $tool; done; "
        "ls -d /wheelhouse /src 2>/dev/null; true"
    )
    done = docker(
        "run", "--rm", "--network", "none", "--entrypoint", "sh", project_image, "-c", probe
    )
    assert done.stdout == "tracker\n"


# --- the override -------------------------------------------------------------------------------


def resolved_config(files: list[Path], env: dict[str, str]) -> dict[str, Any]:
    command = ["docker-compose", "--project-name", "trackersmokeconfig"]
    for path in files:
        command += ["--file", str(path)]
    done = subprocess.run(
        [*command, "config"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StackError(f"docker-compose config failed: {done.stderr}")
    return dict(yaml.safe_load(done.stdout))


def test_the_smoke_override_changes_only_the_images_the_catcher_and_the_network() -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (Debian's docker-compose)")
    env = compose_env(
        TRACKER_SMOKE_PYTHON_IMAGE="local/python:test",
        TRACKER_SMOKE_SERVICES_IMAGE="local/services:test",
        **fresh_secrets(),
    )
    base = resolved_config([REPO_ROOT / "docker-compose.yml"], env)
    smoke = resolved_config(
        [REPO_ROOT / "docker-compose.yml", Path(__file__).with_name("compose.smoke.yaml")], env
    )

    expected = copy.deepcopy(base)
    services = expected["services"]
    for name in ("migrate", *REPLICAS):
        services[name]["image"] = PROJECT_IMAGE
        services[name]["build"]["args"] = {"BASE_IMAGE": "local/python:test"}
    services["db"]["image"] = "local/services:test"
    services["mailpit"]["image"] = "local/services:test"
    services["mailpit"]["command"] = CATCHER_COMMAND
    services["mailpit"]["stop_signal"] = "SIGINT"
    expected["networks"] = {"default": {"internal": True}}
    assert smoke == expected


# --- the stack ----------------------------------------------------------------------------------


def smoke_agreement(today: date) -> dict[str, Any]:
    """Renews yearly unless notice is given ten days before expiry: the notice deadline is in
    three days, so its 7-day reminder was missed and, being the latest one missed, goes out at
    once (docs/reminders.md, "Missed reminders"); every other reminder is days or a year away."""
    return {
        "version": 1,
        "id": AGREEMENT_ID,
        "title": AGREEMENT_TITLE,
        "parties": ["AA", "BB"],
        "reminders": ["7 days"],
        "rules": [
            {
                "kind": "auto_renewal",
                "first_expiry": (today + timedelta(days=13)).isoformat(),
                "renewal_term": "1 year",
                "notice": "10 days",
            }
        ],
    }


def test_the_stack_migrates_once_runs_two_healthy_replicas_and_emails_a_reminder_once(
    stack: Stack,
) -> None:
    token = stack.env["TRACKER_API_TOKEN"]

    # up: the migrate service first (the replicas depend on its success), then the replicas.
    try:
        stack.compose("up", "--detach")
    except StackError as exc:
        raise StackError(f"{exc}\nthe migrate service's log:\n{stack.logs('migrate')}") from None
    migrate = stack.inspect("migrate")
    assert (
        len(stack.containers("migrate")),
        migrate["State"]["Status"],
        migrate["State"]["ExitCode"],
        migrate["RestartCount"],
    ) == (1, "exited", 0, 0), stack.logs("migrate")

    wait_for(
        "both replicas to pass their health check",
        lambda: replicas_healthy(stack),
        timeout_s=HEALTHY_TIMEOUT_S,
    )

    # Posted through one replica, read back through the other: one shared database.
    today = datetime.now(UTC).date()
    status, created = stack.api(
        "tracker-a", "POST", "/api/v1/agreements", token=token, body=smoke_agreement(today)
    )
    assert status == 201, created
    assert stack.api("tracker-b", "GET", f"/api/v1/agreements/{AGREEMENT_ID}") == (200, created)

    notice_deadline = today + timedelta(days=3)
    expiry = today + timedelta(days=13)
    webhook_id = wait_for(
        "the notice-deadline reminder email to be sent",
        lambda: email_reminder_sent(stack, notice_deadline),
        timeout_s=SENT_TIMEOUT_S,
    )
    # A second copy could only come from a replica's tick that was running meanwhile: wait
    # until each replica has started a tick after every email so far was sent.
    wait_for(
        "every replica to start a dispatch tick after the last email was sent",
        lambda: replicas_ticked_after_last_email(stack),
        timeout_s=SENT_TIMEOUT_S,
    )

    mail = stack.mail()
    ours = [m for m in mail if AGREEMENT_TITLE in m["subject"]]
    assert ours == [
        {
            "message_id": f"<{webhook_id}@treaty-tracker>",
            "subject": (
                f"Last day to give notice: {AGREEMENT_TITLE} (expiry {expiry}) – "
                f"{notice_deadline}, in 3 days"
            ),
            "from": "tracker@example.org",
            "to": "desk@example.org",
        }
    ]
    # Every email the catcher holds (the seeds' reminders too) is one sent email reminder,
    # each exactly once.
    sent_ids = [row[0] for row in stack.sql(SENT_EMAIL_IDS)]
    assert sorted(m["message_id"] for m in mail) == sorted(
        f"<{w}@treaty-tracker>" for w in sent_ids
    )
    assert [row[0] for row in stack.sql(attempts_of(webhook_id))] == ["sent"]

    # stop: SIGTERM, each replica finishes its tick, releases its claims and exits 0.
    stack.compose("stop")
    exits = {name: stack.inspect(name)["State"] for name in REPLICAS}
    assert {name: (s["Status"], s["ExitCode"]) for name, s in exits.items()} == {
        name: ("exited", 0) for name in REPLICAS
    }, stack.logs(*REPLICAS)
    stack.compose("start", "db")
    wait_for(
        "the database to answer again", lambda: database_answers(stack), timeout_s=DB_TIMEOUT_S
    )
    statuses = dict(stack.sql("SELECT status, count(*) FROM reminders GROUP BY status"))
    assert "sending" not in statuses, statuses
    rows = stack.sql(
        'SELECT deadline_kind, deadline_date, "offset", channel, status FROM reminders '
        f"WHERE agreement_id = '{AGREEMENT_ID}' ORDER BY deadline_date, deadline_kind, channel"
    )
    expiry = today + timedelta(days=13)
    next_expiry = expiry + relativedelta(years=1)
    next_notice = next_expiry - timedelta(days=10)
    assert rows == [
        ["notice_deadline", str(notice_deadline), "7 days", "desk-email", "sent"],
        ["notice_deadline", str(notice_deadline), "7 days", "log", "sent"],
        ["expiry", str(expiry), "7 days", "desk-email", "pending"],
        ["expiry", str(expiry), "7 days", "log", "pending"],
        ["notice_deadline", str(next_notice), "7 days", "desk-email", "pending"],
        ["notice_deadline", str(next_notice), "7 days", "log", "pending"],
        ["expiry", str(next_expiry), "7 days", "desk-email", "pending"],
        ["expiry", str(next_expiry), "7 days", "log", "pending"],
    ]

    # down -v: containers, the network and the database volume all gone.
    stack.compose("down", "--volumes", "--remove-orphans")
    assert stack.resources() == {"containers": [], "networks": [], "volumes": []}


def attempts_of(webhook_id: str) -> str:
    return (
        "SELECT a.outcome FROM delivery_attempts a JOIN reminders r ON r.id = a.reminder_id "
        f"WHERE r.webhook_id = '{webhook_id}' ORDER BY a.id"
    )


def replicas_healthy(stack: Stack) -> bool:
    """True once both replicas are healthy; fails at once if one is unhealthy or stopped."""
    healthy = True
    for name in REPLICAS:
        state = stack.inspect(name)["State"]
        health = state["Health"]["Status"]
        if state["Status"] != "running" or health == "unhealthy":
            checks = [entry["Output"].strip()[-300:] for entry in state["Health"]["Log"]]
            raise StackError(
                f"{name} is {state['Status']} and {health}; its last health checks said "
                f"{checks}\n{stack.logs(name)}"
            )
        healthy = healthy and health == "healthy"
    return healthy


def email_reminder_sent(stack: Stack, deadline: date) -> str | None:
    """The webhook id of the email reminder of ``deadline`` once it is sent; fails at once if
    it ended otherwise."""
    rows = stack.sql(
        "SELECT webhook_id, status, coalesce(last_error, '') "
        f"FROM reminders WHERE agreement_id = '{AGREEMENT_ID}' AND channel = 'desk-email' "
        f"AND deadline_kind = 'notice_deadline' AND deadline_date = '{deadline}'"
    )
    if not rows:
        return None
    webhook_id, status, error = rows[0]
    if status in ("dead", "skipped", "cancelled", "acknowledged"):
        raise StackError(f"the reminder became {status}: {error}\n{stack.logs(*REPLICAS)}")
    return webhook_id if status == "sent" else None


def replicas_ticked_after_last_email(stack: Stack) -> bool:
    waiting = stack.sql(
        "SELECT count(*) FROM reminders WHERE channel = 'desk-email' "
        "AND status IN ('pending', 'sending', 'retrying') AND next_attempt_at <= now()"
    )
    if waiting != [["0"]]:
        return False
    last_sent = float(
        stack.sql(
            "SELECT extract(epoch FROM max(sent_at)) FROM reminders WHERE channel = 'desk-email'"
        )[0][0]
    )
    for name in REPLICAS:
        status, health = stack.api(name, "GET", "/healthz")
        tick = health["last_tick_at"]
        if status != 200 or tick is None or datetime.fromisoformat(tick).timestamp() <= last_sent:
            return False
    return True


def database_answers(stack: Stack) -> bool:
    try:
        return stack.sql("SELECT 1") == [["1"]]
    except StackError:
        return False
