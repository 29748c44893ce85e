"""Progress bars appear only on a terminal, outside CI, and only for many files."""

from __future__ import annotations

import io
import sys

import pytest

from tracker.cli.progress import PROGRESS_MIN, file_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with file_progress("Reading") as progress:
        assert progress is None


def test_no_bar_in_ci_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(sys, "stderr", Terminal())
    with file_progress("Reading") as progress:
        assert progress is None


def test_a_bar_on_a_terminal_for_many_files_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    few, many = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stderr", few)
    with file_progress("Reading") as progress:
        assert progress is not None
        for done in range(1, PROGRESS_MIN + 1):
            progress(done, PROGRESS_MIN)
    assert few.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", many)
    with file_progress("Reading") as progress:
        assert progress is not None
        for done in range(1, 1001):
            progress(done, 1000)
    assert "Reading files" in many.getvalue()
    assert "1000/1000" in many.getvalue()
