"""``tracker simulate --format json`` shows where routing sends every reminder.

The configuration is the worked example of docs/reminders.md (a ministry with three desks,
overlapping routes, one with ``continue: true``, and an escalation), run through the installed
console script; the test asserts the exact channel set of every reminder, and that the output
the document shows is what the command prints.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "ministry"
TRACKER = str(Path(sys.executable).with_name("tracker"))
ENV = {
    "ACK_SECRET": "ministry-example-ack-secret",
    "MATTERMOST_HOST": "chat.ministry.example",
    "MATTERMOST_TOKEN": "abcdefghijkl",
    "DEFENCE_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}


def simulate(config: Path, agreements: Path, *args: str) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")} | ENV
    result = subprocess.run(
        [TRACKER, "--config", str(config), "simulate", "--agreements", str(agreements),
         "--format", "json", *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=config.parent,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def channel_sets(planned: list[dict[str, Any]]) -> dict[tuple[str, ...], set[tuple[str, str]]]:
    """(agreement, kind, deadline, offset, purpose) -> {(channel, routed_by)}."""
    sets: dict[tuple[str, ...], set[tuple[str, str]]] = defaultdict(set)
    for r in planned:
        key = (r["agreement"], r["deadline_kind"], r["deadline_date"], r["offset"], r["purpose"])
        sets[key].add((r["channel"], r["routed_by"]))
    return dict(sets)


def test_overlapping_routes_and_continue_give_each_reminder_its_exact_channels() -> None:
    planned = simulate(
        EXAMPLE / "tracker.yaml",
        EXAMPLE / "agreements",
        "--from",
        "2026-06-01",
        "--to",
        "2026-08-31",
    )
    assert channel_sets(planned) == {
        # tags [tax]: the first route decides (no continue)
        ("de-xx-tax", "notice_deadline", "2026-06-30", "7 days", "reminder"): {
            ("tax-desk", "routes[0]")
        },
        ("de-xx-tax", "notice_deadline", "2026-06-30", "7 days", "escalation"): {
            ("director", "escalations[0]")
        },
        # security + KR/JP continues into the notice_deadline route
        ("kr-jp-gsomia", "notice_deadline", "2026-08-24", "30 days", "reminder"): {
            ("defence-desk", "routes[1]"),
            ("treaty-desk", "routes[2]"),
        },
        ("kr-jp-gsomia", "notice_deadline", "2026-08-24", "7 days", "reminder"): {
            ("defence-desk", "routes[1]"),
            ("treaty-desk", "routes[2]"),
        },
        ("kr-jp-gsomia", "notice_deadline", "2026-08-24", "7 days", "escalation"): {
            ("director", "escalations[0]")
        },
        # no route matches an expiry of a trade agreement
        ("eu-xx-trade", "expiry", "2026-09-30", "30 days", "reminder"): {
            ("treaty-desk", "default_channels")
        },
    }


def test_an_agreements_own_channels_win_and_a_changed_route_moves_its_reminders(
    tmp_path: Path,
) -> None:
    config = yaml.safe_load((EXAMPLE / "tracker.yaml").read_text())
    # The defence route no longer continues: the treaty desk no longer hears of GSOMIA.
    config["routes"][1]["continue"] = False
    (tmp_path / "tracker.yaml").write_text(yaml.safe_dump(config))
    agreements = tmp_path / "agreements"
    agreements.mkdir()
    for path in (EXAMPLE / "agreements").glob("*.yaml"):
        text = path.read_text()
        if path.name == "de-xx-tax.yaml":
            text += "channels: [legal-adviser]\n"  # its own channels win over routes
        (agreements / path.name).write_text(text)
    planned = simulate(
        tmp_path / "tracker.yaml", agreements, "--from", "2026-06-01", "--to", "2026-08-31"
    )
    assert channel_sets(planned) == {
        ("de-xx-tax", "notice_deadline", "2026-06-30", "7 days", "reminder"): {
            ("legal-adviser", "agreement")
        },
        ("de-xx-tax", "notice_deadline", "2026-06-30", "7 days", "escalation"): {
            ("director", "escalations[0]")
        },
        ("kr-jp-gsomia", "notice_deadline", "2026-08-24", "30 days", "reminder"): {
            ("defence-desk", "routes[1]")
        },
        ("kr-jp-gsomia", "notice_deadline", "2026-08-24", "7 days", "reminder"): {
            ("defence-desk", "routes[1]")
        },
        ("kr-jp-gsomia", "notice_deadline", "2026-08-24", "7 days", "escalation"): {
            ("director", "escalations[0]")
        },
        ("eu-xx-trade", "expiry", "2026-09-30", "30 days", "reminder"): {
            ("treaty-desk", "default_channels")
        },
    }


def test_the_documented_output_is_what_the_command_prints() -> None:
    document = (REPO / "docs" / "reminders.md").read_text()
    found = re.search(r"<!-- simulate-output -->\n```json\n(.*?)\n```", document, re.DOTALL)
    assert found is not None, "docs/reminders.md lost its simulate output block"
    planned = simulate(
        EXAMPLE / "tracker.yaml",
        EXAMPLE / "agreements",
        "--from",
        "2026-06-01",
        "--to",
        "2026-08-31",
    )
    assert json.loads(found.group(1)) == planned
