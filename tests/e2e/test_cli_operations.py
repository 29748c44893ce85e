"""The installed ``tracker`` command for operators and desk officers: channels (test-channel,
unknown names in validate and simulate, a missing secret), ``status``, calendar alarms,
weekday advice that follows the action, and help without placeholders or foreign references."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import icalendar
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import SEEDS_DIR
from tests.e2e.test_cli_config import tracker
from tests.support.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"cli-operations-secret-0123456789").decode()
AGREEMENT = """\
version: 1
id: pact
title: Test Pact
parties: [KR, JP]
rules:
  - {kind: auto_renewal, first_expiry: 2017-11-22, renewal_term: 1 year, notice: 90 days}
reminders: [30 days]
channels: [log, ops-hook, nowhere]
"""
# North Atlantic Treaty Art. 13: any Party may cease to be a Party after the Treaty has been
# in force twenty years (in force 1949-08-24; 1969-08-24 was a Sunday).
NATO = """\
version: 1
id: north-atlantic-treaty
title: North Atlantic Treaty
parties: [US, BE, CA, DK, FR, IS, IT, LU, NL, NO, PT, GB]
in_force: 1949-08-24
rules:
  - {kind: withdrawal, notice: 1 year, earliest_notice: 20 years}
"""


def config(tmp_path: Path, hook_url: str = "https://hooks.example.org/t", **extra: str) -> Path:
    lines = [
        f"database_url: sqlite:///{tmp_path / 'tracker.db'}",
        f"agreements_dir: {tmp_path / 'agreements'}",
        "channels:",
        f"  ops-hook: {{type: webhook, url: '{hook_url}', secret: '${{OPS_SECRET}}'}}",
        *[f"{k}: {v}" for k, v in extra.items()],
    ]
    path = tmp_path / "tracker.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def folder(tmp_path: Path, **files: str) -> Path:
    target = tmp_path / "agreements"
    target.mkdir(exist_ok=True)
    for name, text in files.items():
        (target / f"{name}.yaml").write_text(text, encoding="utf-8")
    return target


def test_validate_names_each_unknown_channel_with_file_line_and_column(tmp_path: Path) -> None:
    path = config(tmp_path)
    agreements = folder(tmp_path, pact=AGREEMENT)
    result = tracker(
        tmp_path, "--config", str(path), "validate", str(agreements), OPS_SECRET=SECRET
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"{agreements / 'pact.yaml'}:8:27: channels[2]: 'nowhere' is not a channel of the "
        "configuration in force (defined: log, ops-hook)\n"
    )


def test_simulate_reports_unknown_channels_and_says_which_it_used(tmp_path: Path) -> None:
    path = config(tmp_path)
    agreements = folder(tmp_path, pact=AGREEMENT)
    args = ("simulate", "-a", str(agreements), "--from", "2026-07-01", "--to", "2026-07-31")
    result = tracker(tmp_path, "--config", str(path), *args, OPS_SECRET=SECRET)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"{agreements / 'pact.yaml'}:8:27: channels[2]: 'nowhere' is not a channel of the "
        "configuration in force (defined: log, ops-hook)\n"
    )

    folder(tmp_path, pact=AGREEMENT.replace(", nowhere", ""))
    result = tracker(tmp_path, "--config", str(path), *args, OPS_SECRET=SECRET)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1] == "channels used: log (1), ops-hook (1)"


def test_a_missing_secret_of_one_channel_breaks_only_what_needs_that_channel(
    tmp_path: Path,
) -> None:
    path = config(tmp_path)
    folder(tmp_path, pact=AGREEMENT.replace(", nowhere", ""))
    agreements = str(tmp_path / "agreements")
    listed = tracker(
        tmp_path, "--config", str(path), "deadlines", "-a", agreements, "--as-of", "2020-08-07",
        "--within", "30d", "--format", "json",
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [d["date"] for d in json.loads(listed.stdout)] == ["2020-08-24"]
    assert tracker(tmp_path, "--config", str(path), "validate", agreements).returncode == 0
    why = (
        f"{path}: channels.ops-hook: channel 'ops-hook' cannot be used: ${{OPS_SECRET}} is not "
        "set in the environment"
    )
    tried = tracker(tmp_path, "--config", str(path), "test-channel", "ops-hook")
    assert (tried.returncode, tried.stderr) == (1, f"Error: {why}\n")
    served = tracker(tmp_path, "--config", str(path), "serve", "--port", "0")
    assert (served.returncode, served.stderr) == (1, f"Error: {why}\n")


def test_test_channel_sends_a_signed_test_message_and_prints_the_answer(tmp_path: Path) -> None:
    with Receiver() as receiver:
        path = config(tmp_path, receiver.url)
        result = tracker(
            tmp_path, "--config", str(path), "test-channel", "ops-hook", OPS_SECRET=SECRET
        )
        [request] = receiver.wait_for(1)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "channel ops-hook (webhook) accepted the test message (200): HTTP 200 OK\n"
    )
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert (payload["type"], payload["data"]["summary"]) == (
        "channel.test",
        "Channel test: Test message from treaty-tracker",
    )


def test_test_channel_says_when_the_receiver_refuses(tmp_path: Path) -> None:
    with Receiver(responses=[503]) as receiver:
        path = config(tmp_path, receiver.url)
        result = tracker(
            tmp_path, "--config", str(path), "test-channel", "ops-hook", OPS_SECRET=SECRET
        )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: channel ops-hook (webhook) did not accept the test (503): webhook 'ops-hook' "
        f"(http://127.0.0.1:{receiver.port}): HTTP 503"
    )


def test_status_names_the_database_the_invalid_file_the_service_and_the_channels(
    tmp_path: Path,
) -> None:
    path = config(tmp_path, port="1")  # nothing listens on port 1
    agreements = folder(tmp_path, pact=AGREEMENT.replace(", nowhere", ""))
    (agreements / "broken.yaml").write_text("version: 1\nid: broken\n", encoding="utf-8")
    imported = tracker(
        tmp_path, "--config", str(path), "import", str(agreements / "pact.yaml"), OPS_SECRET=SECRET
    )
    assert imported.returncode == 0, imported.stderr
    result = tracker(tmp_path, "--config", str(path), "status", OPS_SECRET=SECRET)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    database = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert (
        lines[0] == f"database:  {database}: reachable, schema revision 0006 (head), 1 agreement(s)"
    )
    assert lines[1] == f"folder:    {agreements}: 2 file(s), 1 invalid"
    assert lines[2] == f"  invalid: {agreements / 'broken.yaml'}"
    assert lines[3].startswith(f"    {agreements / 'broken.yaml'}:")
    assert "service:   no service answers at http://127.0.0.1:1/healthz" in result.stdout
    assert "  ops-hook (webhook): enabled; last success never; last error never" in lines
    report = json.loads(
        tracker(tmp_path, "--config", str(path), "status", "--json", OPS_SECRET=SECRET).stdout
    )
    assert [f["file"] for f in report["folder"]["invalid_files"]] == [
        str(agreements / "broken.yaml")
    ]
    assert [c["name"] for c in report["channels"]] == ["log", "ops-hook"]


def test_the_ics_output_carries_alarms_at_the_agreements_reminder_offsets(tmp_path: Path) -> None:
    path = config(tmp_path)
    agreements = folder(tmp_path, pact=AGREEMENT.replace(", nowhere", ""))
    result = tracker(
        tmp_path, "--config", str(path), "deadlines", "-a", str(agreements),
        "--as-of", "2020-08-07", "--within", "120d", "--format", "ics",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = icalendar.Calendar.from_ical(result.stdout).walk("VEVENT")
    alarms = {str(e["summary"]): [a.decoded("trigger") for a in e.walk("VALARM")] for e in events}
    # reminders: [30 days], at the default send time 09:00.
    assert alarms == {
        "Last day to give notice: Test Pact (expiry 2020-11-22)": [-timedelta(days=29, hours=15)],
        "Test Pact renews for 1 year": [],
    }


def test_an_earliest_notice_on_a_sunday_advises_the_first_working_day_after(
    tmp_path: Path,
) -> None:
    agreements = folder(tmp_path, **{"north-atlantic-treaty": NATO})
    result = tracker(
        tmp_path, "deadlines", "-a", str(agreements), "--as-of", "1969-08-01",
        "--within", "60d", "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [earliest] = json.loads(result.stdout)
    assert (earliest["kind"], earliest["date"], earliest["action"]) == (
        "earliest_notice",
        "1969-08-24",
        "act_from",
    )
    assert earliest["weekday_note"] == "Sunday; first working day after is Monday 1969-08-25"


@pytest.mark.parametrize(
    "command",
    [
        [], ["validate"], ["deadlines"], ["explain"], ["import"], ["export"], ["reminders"],
        ["simulate"], ["serve"], ["schema"], ["status"], ["test-channel"], ["enable-channel"],
        ["db"], ["db", "upgrade"],
    ],
)  # fmt: skip
def test_help_has_no_bool_placeholders_and_no_foreign_references(
    tmp_path: Path, command: list[str]
) -> None:
    result = tracker(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Show this message and exit." in result.stdout
    assert "<bool>" not in result.stdout
    assert "SPEC" not in result.stdout


def test_the_products_docs_stand_alone() -> None:
    root = SEEDS_DIR.parent
    for doc in [root / "README.md", *(root / "docs").glob("*.md")]:
        assert "SPEC" not in doc.read_text(encoding="utf-8"), doc
