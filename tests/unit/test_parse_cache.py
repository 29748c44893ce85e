"""The parse cache never serves a stale agreement, and the fast reader gives exactly what the
loader gives (agreements, deadlines, errors)."""

from __future__ import annotations

import os
import pickle
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tracker.domain.rules import compute_all
from tracker.errors import ValidationFailed
from tracker.files import cache as cache_module
from tracker.files import read as read_module
from tracker.files.cache import Entry, Shard, cache_dir, signature
from tracker.files.read import parse_fast, read_agreements
from tracker.loader import load_paths

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
DATA = ROOT / "tests" / "data"

TEMPLATE = """\
version: 1
id: {id}
title: {title}
parties: [KR, JP]
rules:
  - kind: auto_renewal
    first_expiry: 2017-11-22
    renewal_term: 1 year
    notice: 90 days
"""


def write(path: Path, agreement_id: str, title: str) -> None:
    path.write_text(TEMPLATE.format(id=agreement_id, title=title), encoding="utf-8")


def titles(folder: Path, **kwargs: Any) -> dict[str, str]:
    return {a.id: a.title for a in read_agreements([folder], **kwargs)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "agreements"
    (root / "sub").mkdir(parents=True)
    write(root / "a.yaml", "a", "Alpha")
    write(root / "sub" / "b.yaml", "b", "Bravo")
    return root


def test_a_second_read_comes_from_the_cache(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}
    assert {p.name[33:] for p in cache_dir().glob("*.pickle")} == set(
        f"{cache_module.shard_of(str(p)):02d}.pickle"
        for p in (folder / "a.yaml", folder / "sub" / "b.yaml")
    )
    parsed: list[bytes] = []
    original = read_module.parse_fast
    monkeypatch.setattr(read_module, "parse_fast", lambda d: parsed.append(d) or original(d))
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}
    assert parsed == []


def test_an_edited_file_is_read_again(folder: Path) -> None:
    titles(folder)
    write(folder / "a.yaml", "a", "Alpha, amended")
    assert titles(folder) == {"a": "Alpha, amended", "b": "Bravo"}


def test_same_size_and_mtime_but_other_bytes_is_read_again(folder: Path) -> None:
    titles(folder)
    path = folder / "a.yaml"
    before = os.stat(path)
    write(path, "a", "Gamma")  # same length as "Alpha"
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert titles(folder) == {"a": "Gamma", "b": "Bravo"}


def test_a_file_replaced_by_rename_with_same_size_and_mtime_is_read_again(folder: Path) -> None:
    titles(folder)
    path = folder / "a.yaml"
    before = os.stat(path)
    other = folder.parent / "new.yaml"
    write(other, "a", "Delta")
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, path)
    assert titles(folder) == {"a": "Delta", "b": "Bravo"}


def test_touch_alone_keeps_the_answer(folder: Path) -> None:
    titles(folder)
    os.utime(folder / "a.yaml")  # new mtime, same bytes: checked by content, same agreement
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}


def test_rename_and_delete(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}
    os.rename(folder / "a.yaml", folder / "sub" / "a.yaml")
    # Same bytes under a new path: recognised by its hash, not parsed again.
    monkeypatch.setattr(read_module, "parse_fast", lambda d: pytest.fail("parsed again"))
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}
    monkeypatch.undo()
    os.remove(folder / "sub" / "b.yaml")
    assert titles(folder) == {"a": "Alpha"}
    shutil.rmtree(folder / "sub")
    assert titles(folder) == {}


def test_a_racy_entry_is_checked_by_content(tmp_path: Path) -> None:
    """Same stat (a second write in the same clock tick), other bytes: the hash decides."""
    path = tmp_path / "x.yaml"
    write(path, "x", "Alpha")
    (agreement,) = read_agreements([path], use_cache=False)
    sig = signature(os.stat(path))
    recorded = max(sig[3], sig[4])  # recorded in the same tick as the change
    shard = Shard({str(path): Entry(sig, recorded, "0" * 64, agreement)})
    assert shard.lookup(str(path), sig, recorded) is None
    good = cache_module.file_sha256(str(path))
    assert good is not None
    shard = Shard({str(path): Entry(sig, recorded, good, agreement)})
    assert shard.lookup(str(path), sig, recorded) is not None
    # Long after the change, the stat alone is trusted (no file read).
    late = Shard({str(path): Entry(sig, recorded + 10**10, "0" * 64, agreement)})
    assert late.lookup(str(path), sig, recorded + 10**10) is not None
    assert late.lookup(str(path), (*sig[:4], sig[4] + 1), recorded + 10**10) is None


def test_another_fingerprint_is_not_read(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    titles(folder)
    monkeypatch.setattr(cache_module, "_FINGERPRINT", "another version of the format")
    parsed: list[bytes] = []
    original = read_module.parse_fast
    monkeypatch.setattr(read_module, "parse_fast", lambda d: parsed.append(d) or original(d))
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}
    assert len(parsed) == 2


def test_no_cache_neither_reads_nor_writes(folder: Path) -> None:
    assert titles(folder, use_cache=False) == {"a": "Alpha", "b": "Bravo"}
    assert list(cache_dir().glob("*")) == []


def test_a_damaged_cache_file_is_ignored(folder: Path) -> None:
    titles(folder)
    for shard in cache_dir().glob("*.pickle"):
        shard.write_bytes(b"not a pickle")
        shard.chmod(0o600)
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}


def test_a_cache_file_others_may_write_is_not_unpickled(folder: Path) -> None:
    titles(folder)
    for shard in cache_dir().glob("*.pickle"):
        shard.write_bytes(pickle.dumps({"planted": 1}))
        shard.chmod(0o666)
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}


# --- the fast reader gives what the loader gives --------------------------------------------


def test_same_agreements_and_deadlines_as_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [item.agreement for item in load_paths([SEEDS])]
    monkeypatch.setattr(read_module, "PARALLEL_MIN", 1)  # through the worker processes too
    for attempt in ("cold", "warm", "parallel"):
        got = read_agreements([SEEDS], use_cache=attempt != "parallel")
        assert [a.model_dump() for a in got] == [a.model_dump() for a in expected], attempt
        window = {"as_of": date(2025, 1, 1), "start": date(2024, 1, 1), "end": date(2027, 12, 31)}
        assert [d.to_dict() for d in compute_all(got, **window)] == [
            d.to_dict() for d in compute_all(expected, **window)
        ]


def test_every_seed_takes_the_fast_path() -> None:
    paths = sorted(SEEDS.glob("*.yaml"))
    assert paths
    assert [p.name for p in paths if parse_fast(p.read_bytes()) is None] == []


@pytest.mark.parametrize("bad", sorted(p.name for p in DATA.glob("bad-*.yaml")))
def test_same_errors_as_the_loader(bad: str, tmp_path: Path) -> None:
    shutil.copy(SEEDS / "kr-jp-gsomia.yaml", tmp_path / "a-good.yaml")
    shutil.copy(DATA / bad, tmp_path / bad)
    given = [tmp_path, tmp_path / "missing.yaml"]
    with pytest.raises(ValidationFailed) as loader_says:
        load_paths(given)
    with pytest.raises(ValidationFailed) as reader_says:
        read_agreements(given)
    assert [str(e) for e in reader_says.value.errors] == [str(e) for e in loader_says.value.errors]


def test_duplicate_ids_reported_as_the_loader_does() -> None:
    given = [DATA / "duplicate-ids"]
    with pytest.raises(ValidationFailed) as loader_says:
        load_paths(given)
    with pytest.raises(ValidationFailed) as reader_says:
        read_agreements(given)
    assert [str(e) for e in reader_says.value.errors] == [str(e) for e in loader_says.value.errors]


def test_the_fast_path_checks_what_the_loader_checks_beyond_the_model(folder: Path) -> None:
    # The id is the file's name and the channels are configured: checked on every read, a
    # cached entry included (the configuration may have changed since it was cached).
    text = (folder / "a.yaml").read_text(encoding="utf-8")
    (folder / "a.yaml").write_text(text + "channels: [desk]\n", encoding="utf-8")
    assert titles(folder) == {"a": "Alpha", "b": "Bravo"}  # no configuration given: cached
    with pytest.raises(ValidationFailed) as reader_says:
        read_agreements([folder], known_channels=["log"])
    with pytest.raises(ValidationFailed) as loader_says:
        load_paths([folder], known_channels=["log"])
    assert [str(e) for e in reader_says.value.errors] == [str(e) for e in loader_says.value.errors]
    assert [str(e) for e in reader_says.value.errors] == [
        f"{folder / 'a.yaml'}:10:12: channels[0]: 'desk' is not a channel of the configuration "
        "in force (defined: log)"
    ]
    assert titles(folder, known_channels=["desk", "log"]) == {"a": "Alpha", "b": "Bravo"}

    os.rename(folder / "sub" / "b.yaml", folder / "sub" / "c.yaml")
    with pytest.raises(ValidationFailed) as renamed:
        read_agreements([folder])
    assert [str(e) for e in renamed.value.errors] == [
        f"{folder / 'sub' / 'c.yaml'}:2:1: id: 'b' differs from the file's name 'c': the id must "
        "be the file's name (rename the file to 'b.yaml', or write id: c)"
    ]
