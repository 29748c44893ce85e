"""The parse cache: validated agreements kept between runs, keyed so that it never serves a
stale one.

Where: ``$TRACKER_CACHE_DIR`` when set (tests point it at a temporary folder), else
``$XDG_CACHE_HOME/treaty-tracker``, else ``~/.cache/treaty-tracker``. A folder that cannot be
created or written is not an error: the commands then simply run without the cache.

What: for each folder or file given on the command line, :data:`SHARDS` files. Each holds,
for the agreement files whose path hashes to it, the file's identity as ``stat`` saw it
(device, inode, size, ``mtime_ns``, ``ctime_ns``), the SHA-256 of its bytes, and the validated
:class:`~tracker.domain.agreement.Agreement` itself, pickled whole (so new fields of the format
need no change here). Only files that validated are stored; a file that fails is read again
each time, with its errors located.

When an entry is used (:func:`Shard.lookup`):

* the path must be the same, and ``stat`` must give the same device, inode, size,
  ``mtime_ns`` and ``ctime_ns``. Any write to a file, and any rename or copy over it, sets its
  ``ctime`` to the current time, and ``ctime`` cannot be set back (``touch -d`` and
  ``os.utime`` set ``mtime`` but move ``ctime`` forward), so a file replaced by one of the same
  size and ``mtime`` is still noticed;
* unless the file was changed less than :data:`RACY_NS` before the entry was recorded (the
  file system's clock is coarser than a nanosecond, so a second write in the same tick could
  leave every ``stat`` field equal), in which case its bytes are read and their SHA-256 must
  equal the entry's, as git does for "racily clean" files;
* and the cache must have been written by the same tracker version for the same agreement
  format: :func:`fingerprint` hashes the package version, the Python and pydantic versions, and
  the source of the modules that define and check the format (:mod:`tracker.loader` and every
  module of :mod:`tracker.domain`). A cache from another fingerprint is ignored and replaced.

A file whose entry does not hold is parsed again; a file whose path changed (renamed or moved)
but whose bytes did not is matched by its SHA-256 and not parsed again.

Safety: the cache holds pickles, which run code when loaded, so a cache file is used only when
it belongs to the current user and neither it nor its folder is writable by anyone else.
Files are written to a temporary name and renamed into place, so a reader never sees half a
file, and a damaged or unreadable file is ignored (and rewritten).
"""

from __future__ import annotations

import copyreg
import dataclasses
import gc
import hashlib
import os
import pickle
import platform
import stat as stat_module
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.domain.agreement import Agreement
from tracker.domain.durations import Duration

#: Files per cached folder: a change rewrites only the shard holding the changed file.
SHARDS = 16

#: A file changed this close to the moment its entry was recorded is checked by its content:
#: ``mtime`` and ``ctime`` come from a clock with a tick of a few milliseconds.
RACY_NS = 2_000_000_000

_CACHE_FORMAT = 1
_ENV_DIR = "TRACKER_CACHE_DIR"

#: (device, inode, size, mtime_ns, ctime_ns)
Signature = tuple[int, int, int, int, int]


def _register_fast_pickling(cls: type) -> None:
    """Pickle a frozen slots dataclass by its constructor arguments.

    The default way (``_dataclass_setstate``) calls ``dataclasses.fields`` for every object
    loaded: with about two durations per agreement it was most of the time a warm run took.
    The field names are read from the class, so a field added later is pickled too.
    """
    names = tuple(f.name for f in dataclasses.fields(cls) if f.init)

    def reduce(obj: Any) -> tuple[Any, tuple[Any, ...]]:
        return cls, tuple(getattr(obj, name) for name in names)

    copyreg.pickle(cls, reduce)


_register_fast_pickling(Duration)


def signature(st: os.stat_result) -> Signature:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def cache_dir() -> Path:
    """``$TRACKER_CACHE_DIR``, ``$XDG_CACHE_HOME/treaty-tracker`` or
    ``~/.cache/treaty-tracker``."""
    override = os.environ.get(_ENV_DIR)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "treaty-tracker"


_FINGERPRINT: str | None = None


def fingerprint() -> str:
    """What must be equal for a cached agreement to be what parsing the file gives today."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import pydantic

        import tracker
        import tracker.domain
        import tracker.loader

        digest = hashlib.sha256()
        for part in (_CACHE_FORMAT, tracker.__version__, platform.python_version()):
            digest.update(f"{part}\0".encode())
        digest.update(f"{pydantic.VERSION}\0".encode())
        sources = [Path(tracker.loader.__file__)]
        sources += sorted(Path(tracker.domain.__file__).parent.glob("*.py"))
        for source in sources:
            digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
        _FINGERPRINT = digest.hexdigest()
    return _FINGERPRINT


@dataclass(slots=True)
class Entry:
    """One validated file: its ``stat`` identity, when that was taken, its hash, its model."""

    signature: Signature
    recorded_ns: int
    sha256: str
    agreement: Agreement


def file_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


@dataclass
class Shard:
    """The entries of one shard, by path, and whether they changed since loaded."""

    entries: dict[str, Entry] = field(default_factory=dict)
    dirty: bool = False

    def lookup(self, path: str, sig: Signature, now_ns: int) -> Entry | None:
        """The entry for ``path`` when it still describes the file (see the module doc)."""
        entry = self.entries.get(path)
        if entry is None or entry.signature != sig:
            return None
        changed_ns = max(sig[3], sig[4])
        if changed_ns >= entry.recorded_ns - RACY_NS:
            if file_sha256(path) != entry.sha256:
                return None
            # The file has not changed since the entry was recorded; record that now, so the
            # next run trusts the stat alone once the clock has moved on.
            entry.recorded_ns = now_ns
            self.dirty = True
        return entry


def shard_of(path: str) -> int:
    return int.from_bytes(hashlib.blake2b(path.encode(), digest_size=2).digest()) % SHARDS


class ParseCache:
    """The cached shards of one given folder or file (``root``)."""

    def __init__(self, root: str, directory: Path | None = None) -> None:
        self.directory = directory or cache_dir()
        key = hashlib.sha256(f"{fingerprint()}\0{os.path.abspath(root)}".encode()).hexdigest()
        self.prefix = key[:32]
        self.shards: dict[int, Shard] = {}

    def _path(self, index: int) -> Path:
        return self.directory / f"{self.prefix}-{index:02d}.pickle"

    def shard(self, index: int) -> Shard:
        found = self.shards.get(index)
        if found is None:
            found = self.shards[index] = Shard(_read(self._path(index)))
        return found

    def by_sha256(self) -> dict[str, Entry]:
        """Every cached entry, by content hash (to recognise renamed files)."""
        shards = [self.shard(index) for index in range(SHARDS)]
        return {e.sha256: e for shard in shards for e in shard.entries.values()}

    def replace(self, index: int, entries: dict[str, Entry], data: bytes | None = None) -> None:
        """Make ``entries`` the shard's content and write it (``data`` when already pickled)."""
        self.shards[index] = Shard(entries)
        if not _writable(self.directory):
            return
        if data is None:
            data = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
        _write(self._path(index), data)

    def save(self, keep: Iterable[str]) -> None:
        """Drop entries of files no longer there and write the shards that changed."""
        wanted = set(keep)
        for index, shard in self.shards.items():
            stale = [p for p in shard.entries if p not in wanted]
            for path in stale:
                del shard.entries[path]
            if stale or shard.dirty:
                self.replace(index, shard.entries)


def dumps(entries: dict[str, Entry]) -> bytes:
    return pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)


def _owned_and_private(st: os.stat_result) -> bool:
    uid = os.getuid() if hasattr(os, "getuid") else st.st_uid
    return st.st_uid == uid and not st.st_mode & (stat_module.S_IWGRP | stat_module.S_IWOTH)


def _read(path: Path) -> dict[str, Entry]:
    """A shard's entries; empty when absent, damaged, or not safe to unpickle."""
    try:
        with open(path, "rb") as handle:
            if not _owned_and_private(os.fstat(handle.fileno())):
                return {}
            if not _owned_and_private(os.stat(path.parent)):
                return {}
            data = handle.read()
    except OSError:
        return {}
    try:
        entries = unpickle(data)
    except Exception:  # a damaged file, or one from code that no longer exists: not fatal
        return {}
    return entries if isinstance(entries, dict) else {}


_CHECKED: dict[Path, bool] = {}


def _writable(directory: Path) -> bool:
    if directory not in _CHECKED:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            _CHECKED[directory] = _owned_and_private(os.stat(directory))
        except OSError:
            _CHECKED[directory] = False
    return _CHECKED[directory]


def _write(path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a full or read-only disk: the next run parses again


def now_ns() -> int:
    return time.time_ns()


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (back to how it was after it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def unpickle(data: bytes) -> Any:
    """``pickle.loads`` with the cyclic garbage collector paused: a shard is tens of thousands
    of objects without a cycle, and the collector would scan the growing heap again and again
    (three quarters of the time of a warm run before this)."""
    with gc_paused():
        return pickle.loads(data)
