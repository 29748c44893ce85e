"""The installed ``tracker`` command facing a bad configuration or an unreachable database:
one ``Error:`` line (or one per problem) naming the file, line and key, exit 1, no
traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_cli_files import TRACKER


def tracker(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    return subprocess.run(
        [TRACKER, *args], cwd=tmp_path, env={**base, **env}, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_duplicate_key_in_the_configuration_is_an_error_naming_file_line_and_key(
    tmp_path: Path,
) -> None:
    (tmp_path / "tracker.yaml").write_text(
        "port: 8001\nsmtp:\n  host: mail-a\n  host: mail-b\nport: 8002\n", encoding="utf-8"
    )

    result = tracker(tmp_path, "--config", "tracker.yaml", "serve")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: tracker.yaml:4:3: smtp.host: duplicate key (first given on line 3); keep only one\n"
        "tracker.yaml:5:1: port: duplicate key (first given on line 1); keep only one\n"
    )


def test_keys_merged_from_an_anchor_are_overrides_not_duplicates(tmp_path: Path) -> None:
    (tmp_path / "tracker.yaml").write_text(
        "channels:\n"
        "  ops: &hook {type: webhook, url: 'https://h.example/a', secret: whsec_c2VjcmV0}\n"
        "  ops-b: {<<: *hook, url: 'https://h.example/b'}\n"
        f"database_url: sqlite:///{tmp_path}/missing/tracker.db\n",
        encoding="utf-8",
    )

    result = tracker(tmp_path, "--config", "tracker.yaml", "serve", "--port", "0")

    # The configuration is accepted; serving then stops at the database it cannot open.
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: cannot connect to the database sqlite:///{tmp_path}/missing/tracker.db: "
        "unable to open database file\n"
    )


def test_an_unknown_log_level_is_an_error_listing_the_levels(tmp_path: Path) -> None:
    (tmp_path / "tracker.yaml").write_text("log_level: LOUD\n", encoding="utf-8")

    result = tracker(tmp_path, "--config", "tracker.yaml", "serve")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: tracker.yaml: log_level: 'LOUD' is not a log level "
        "(one of: DEBUG, INFO, WARNING, ERROR, CRITICAL)\n"
    )


def test_serve_with_an_unreachable_database_says_so_in_one_line_and_exits_1(
    tmp_path: Path, closed_port: int
) -> None:
    url = f"postgresql+psycopg://tracker:pa55word@127.0.0.1:{closed_port}/tracker"

    result = tracker(
        tmp_path, "serve", "--port", "0", TRACKER_DATABASE_URL=url, TRACKER_LOG_LEVEL="debug"
    )

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: cannot connect to the database postgresql+psycopg://***@127.0.0.1:"
        f"{closed_port}/tracker: connection failed: connection to server at "
        f'"127.0.0.1", port {closed_port} failed: Connection refused\n'
    )
