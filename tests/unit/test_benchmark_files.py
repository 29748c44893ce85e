"""The files benchmark's generator writes files the loader accepts: every one named after its
agreement's id (it once wrote ``a000000.yaml`` holding ``id: a0``, so every tracker run of the
files and start benchmarks measured a failure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tracker.loader import load_paths

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_generated_files_load_without_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_files import generate

    generate(tmp_path, 250, seed=7)

    loaded = load_paths([tmp_path / "agreements"])
    assert sorted(item.agreement.id for item in loaded) == sorted(f"a{i}" for i in range(250))
    assert {Path(item.path).stem for item in loaded} == {item.agreement.id for item in loaded}
    sys.modules.pop("bench_files", None)
