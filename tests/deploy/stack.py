"""One compose project of the smoke test: the real docker-compose.yml plus the test's override,
driven with docker-compose under a project name of its own.

Everything the test reads from the stack goes through ``docker exec`` into its containers (the
API through a replica, SQL through the database's psql, the mail catcher's Maildir), because
the stack's network is internal: the host reaches none of it over the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT

HERE = Path(__file__).resolve().parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
OVERRIDE_FILE = HERE / "compose.smoke.yaml"
REPLICAS = ("tracker-a", "tracker-b")
#: The tag the override gives the project's image.
PROJECT_IMAGE = "treaty-tracker:compose-smoke"
COMPOSE_TIMEOUT_S = 600
POLL_S = 0.5

# Runs inside a replica: one API request to this replica, the request as JSON on stdin.
_API = """
import json, sys, urllib.error, urllib.request
ask = json.load(sys.stdin)
body = json.dumps(ask["body"]).encode() if ask["body"] is not None else None
request = urllib.request.Request(
    "http://127.0.0.1:8000" + ask["path"], data=body, method=ask["method"]
)
if ask["token"]:
    request.add_header("Authorization", "Bearer " + ask["token"])
if body is not None:
    request.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        status, text = response.status, response.read()
except urllib.error.HTTPError as error:
    status, text = error.code, error.read()
print(json.dumps({"status": status, "body": json.loads(text) if text else None}))
"""

# Runs inside the mail catcher: every message in its Maildir, headers decoded.
_MAIL = """
import email, email.policy, json, mailbox
box = mailbox.Maildir(
    "/tmp/maildir",
    factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default),
    create=False,
)
print(json.dumps([
    {"message_id": m["Message-ID"], "subject": m["Subject"], "from": m["From"], "to": m["To"]}
    for m in box
]))
"""


class StackError(AssertionError):
    """A compose or docker command failed; the message carries its output."""


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    files: tuple[Path, ...] = (COMPOSE_FILE, OVERRIDE_FILE)
    _ids: dict[str, str] = field(default_factory=dict)

    # --- commands ------------------------------------------------------------------------------

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["docker-compose", "--project-name", self.project]
        for path in self.files:
            command += ["--file", str(path)]
        done = subprocess.run(
            [*command, *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMPOSE_TIMEOUT_S,
            check=False,
        )
        if check and done.returncode != 0:
            raise StackError(
                f"docker-compose {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}{done.stderr}"
            )
        return done

    def container(self, service: str) -> str:
        """The id of the service's one container (created by ``up``, kept until ``down``)."""
        if service not in self._ids:
            ids = self.compose("ps", "--all", "-q", service).stdout.split()
            if len(ids) != 1:
                raise StackError(f"expected one {service} container, found {ids}")
            self._ids[service] = ids[0]
        return self._ids[service]

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "--all", "-q", service).stdout.split()

    def inspect(self, service: str) -> dict[str, Any]:
        done = docker("inspect", self.container(service))
        return dict(json.loads(done.stdout)[0])

    def logs(self, *services: str) -> str:
        done = self.compose("logs", "--no-color", "--tail", "60", *services, check=False)
        return done.stdout + done.stderr

    def exec(self, service: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return docker("exec", "-i", self.container(service), *argv, stdin=stdin)

    # --- what the test reads -------------------------------------------------------------------

    def health(self, service: str) -> str:
        """``starting``, ``healthy`` or ``unhealthy``, from the image's HEALTHCHECK."""
        return str(self.inspect(service)["State"]["Health"]["Status"])

    def api(
        self, service: str, method: str, path: str, *, token: str = "", body: Any = None
    ) -> tuple[int, Any]:
        """One request to ``service``'s API from inside its container: (status, JSON body)."""
        ask = json.dumps({"method": method, "path": path, "token": token, "body": body})
        answer = json.loads(self.exec(service, "python", "-c", _API, stdin=ask).stdout)
        return int(answer["status"]), answer["body"]

    def sql(self, query: str) -> list[list[str]]:
        """Rows of ``query`` on the tracker database, every value as psql prints it."""
        done = self.exec(
            "db",
            "psql",
            "--username=tracker",
            "--dbname=tracker",
            "--no-align",
            "--tuples-only",
            "--field-separator=\t",
            "--set=ON_ERROR_STOP=1",
            "--command",
            query,
        )
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def mail(self) -> list[dict[str, str]]:
        """Every message the mail catcher received, sorted by Message-ID."""
        messages = json.loads(self.exec("mailpit", "python3", "-c", _MAIL).stdout)
        return sorted(messages, key=lambda m: (m["message_id"], m["subject"]))

    def resources(self) -> dict[str, list[str]]:
        """The containers, networks and volumes Docker still has for this project."""
        label = f"label=com.docker.compose.project={self.project}"
        return {
            "containers": docker("ps", "--all", "--quiet", "--filter", label).stdout.split(),
            "networks": docker("network", "ls", "--quiet", "--filter", label).stdout.split(),
            "volumes": docker("volume", "ls", "--quiet", "--filter", label).stdout.split(),
        }


def docker(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["docker", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise StackError(f"docker {args[0]} exited {done.returncode}: {done.stderr.strip()}")
    return done


def compose_env(**values: str) -> dict[str, str]:
    """This process's environment for docker-compose, without the variables that would point
    it at other files or another project, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    # The classic builder, through the API: BuildKit through the docker CLI would need buildx.
    env["COMPOSE_DOCKER_CLI_BUILD"] = "0"
    env["DOCKER_BUILDKIT"] = "0"
    env.update(values)
    return env


def wait_for(what: str, probe: Any, *, timeout_s: float) -> Any:
    """Call ``probe`` until it returns something truthy and return that; fail after
    ``timeout_s`` naming ``what`` and the last value seen. A probe may raise StackError to fail
    at once (the stack reached a state it cannot leave)."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(POLL_S)
    raise StackError(f"gave up after {timeout_s:.0f} s waiting for {what}; last seen: {last!r}")
