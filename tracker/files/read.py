"""Read many agreement files fast: the parse cache, a lean first pass, several processes.

:func:`read_agreements` gives the same agreements, in the same order, as
:func:`tracker.loader.load_paths` (and the same errors, word for word), faster:

* **Cache.** A file whose cache entry still holds (:mod:`tracker.files.cache`) is not read.
* **Lean first pass.** The others are decoded, composed by libyaml with the loader's own
  resolver, turned into values by a builder that keeps no error bookkeeping, and validated by
  the same pydantic model. Anything that builder does not take plainly (an explicit tag, a
  duplicate key, an over-long number, a complex key) and any file that fails validation or
  does not parse is handed to the loader itself, which reports every error at its line and
  column. The values the lean builder produces are those the loader's builder produces for a
  valid file, so the validated agreement is the same.
* **Processes.** With more than :data:`PARALLEL_MIN` files to parse, they are parsed by one
  process per available core (at most :data:`MAX_WORKERS`), a cache shard per task.
* **Errors.** When any file fails, or two files share an id, the files concerned are read
  again by :func:`~tracker.loader.load_paths` in their original order, so the report is the
  one the loader gives.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tracker import loader
from tracker.domain.agreement import Agreement
from tracker.files import cache as cache_module
from tracker.files.cache import Entry, ParseCache, Signature, signature

#: Fewer files than this to parse are parsed in this process (starting workers costs more).
PARALLEL_MIN = 2000
#: Most worker processes.
MAX_WORKERS = 8

#: Called with the number of files done so far and the total.
Progress = Callable[[int, int], None]


class _Fallback(Exception):
    """The lean pass does not take this file; the loader reads it, with marks."""


def _lean(node: Node, depth: int = 0) -> Any:
    # Mirrors loader._Builder.build for everything it accepts without an error.
    tag = node.tag
    if type(node) is ScalarNode:
        value: str = node.value
        if tag == loader._STR:
            return value
        if tag == loader._INT:
            if len(value.lstrip("+-")) > loader.MAX_INT_DIGITS:
                raise _Fallback
            return int(value)
        if tag == loader._NULL:
            return None
        if tag == loader._BOOL:
            return value.lower() == "true"
        if tag == loader._FLOAT:
            return loader._float(value)
        raise _Fallback
    if depth >= loader.MAX_NESTING_DEPTH:
        raise _Fallback
    if type(node) is SequenceNode and tag == loader._SEQ:
        return [_lean(item, depth + 1) for item in node.value]
    if type(node) is MappingNode and tag == loader._MAP:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode or key_node.tag not in _KEY_TAGS:
                raise _Fallback
            key = key_node.value
            if key in result:
                raise _Fallback
            result[key] = _lean(value_node, depth + 1)
        return result
    raise _Fallback


_KEY_TAGS = frozenset((loader._STR, loader._INT, loader._BOOL, loader._NULL))


def parse_fast(data: bytes) -> Agreement | None:
    """The agreement in ``data``, or None when the loader must read it (it may be invalid)."""
    if len(data) > loader.MAX_FILE_BYTES:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "*" in text:  # aliases are refused by the loader with their place
        return None
    parser = loader._ComposeLoader(text)
    try:
        root = parser.get_single_node()
        if root is None:
            return None
        value = _lean(root)
    except (yaml.YAMLError, _Fallback, RecursionError):
        return None
    finally:
        parser.dispose()
    if not isinstance(value, dict):
        return None
    try:
        return Agreement.model_validate(value)
    except ValidationError:
        return None


# --- finding the files --------------------------------------------------------------------


def _walk(top: str, rel: tuple[str, ...], found: list[tuple[tuple[str, ...], str]]) -> bool:
    """Agreement files under ``top`` as ``(relative parts, path)``; True when a symbolic
    link was met (then two paths may name one file)."""
    linked = False
    with os.scandir(top) as it:
        entries = list(it)
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue  # hidden files and folders (.git, editor backups) never hold agreements
        linked = linked or entry.is_symlink()
        if entry.is_dir(follow_symlinks=False):
            linked = _walk(entry.path, (*rel, name), found) or linked
        elif name.endswith(loader.AGREEMENT_SUFFIXES) and entry.is_file():
            found.append(((*rel, name), entry.path))
    return linked


class Scan:
    """The files of each given path, in the loader's order."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self.groups: list[tuple[str, list[str]]] = []  # (given, files)
        self.missing: list[str] = []
        self.order: list[str] = []  # every given path, missing ones too
        self.maybe_aliased = len(paths) > 1
        for given in paths:
            top = str(given)
            if os.path.isdir(top):
                found: list[tuple[tuple[str, ...], str]] = []
                self.maybe_aliased = _walk(top, (), found) or self.maybe_aliased
                found.sort(key=lambda item: item[0])  # pathlib's order: part by part
                # As pathlib spells it ("./a/" is "a"). os.path.join(base, *rel), spelt out:
                # names from scandir hold no separator, and 100,000 calls cost a tenth of a second.
                prefix = os.path.join(str(Path(top)), "")
                sep = os.sep
                self.groups.append((top, [prefix + sep.join(rel) for rel, _ in found]))
            elif os.path.exists(top):
                self.groups.append((top, [str(Path(top))]))
            else:
                self.missing.append(top)
            self.order.append(top)

    def files(self) -> Iterator[tuple[str, str]]:
        """``(given, file)``; a file named twice (through a link, or directly and through its
        folder) only the first time, as the loader does."""
        seen: set[str] = set()
        for given, files in self.groups:
            for file in files:
                if self.maybe_aliased:
                    real = os.path.realpath(file)
                    if real in seen:
                        continue
                    seen.add(real)
                yield given, file


# --- parsing ------------------------------------------------------------------------------


def _parse_one(path: str, recorded_ns: int, with_text: bool) -> Any:
    try:
        sig = signature(os.stat(path))
        with open(path, "rb") as handle:
            data = handle.read(loader.MAX_FILE_BYTES + 1)
    except OSError:
        return None
    agreement = parse_fast(data)
    if agreement is None:
        return None
    entry = Entry(sig, recorded_ns, hashlib.sha256(data).hexdigest(), agreement)
    return (entry, data.decode("utf-8-sig")) if with_text else entry


def parse_shard(paths: Sequence[str], with_text: bool = False) -> tuple[bytes, list[str]]:
    """Parse ``paths`` (in a worker): the pickled entries of those that validated (with
    ``with_text``, each with the decoded document: ``(entry, text)``), and the paths of those
    the loader must read."""
    recorded_ns = time.time_ns()
    entries: dict[str, Any] = {}
    failed: list[str] = []
    for path in paths:
        entry = _parse_one(path, recorded_ns, with_text)
        if entry is None:
            failed.append(path)
        else:
            entries[path] = entry
    return cache_module.dumps(entries), failed


def _workers(count: int) -> int:
    if count < PARALLEL_MIN:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _pool(workers: int) -> ProcessPoolExecutor:
    # fork starts a worker in milliseconds with everything imported; it is only safe while
    # this process has no other threads (the CLI), so a threaded process (the service) spawns.
    method = "fork" if threading.active_count() == 1 and os.name == "posix" else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


class _Batch:
    """Parsing the files the cache could not answer, shard by shard."""

    def __init__(
        self,
        todo: dict[int, list[str]],
        progress: Progress | None,
        total: int,
        with_text: bool = False,
    ):
        self.with_text = with_text
        self.todo = todo
        self.progress = progress
        self.total = total
        self.done = total - sum(len(v) for v in todo.values())

    def run(self) -> Iterator[tuple[int, bytes, list[str], bool]]:
        """``(task, pickled entries, failed paths, whether that was the whole task)``."""
        count = sum(len(v) for v in self.todo.values())
        workers = _workers(count)
        if workers == 1:
            for index, paths in self.todo.items():
                # smaller steps, so a progress bar moves
                for start in range(0, len(paths), 500):
                    data, failed = parse_shard(paths[start : start + 500], self.with_text)
                    yield index, data, failed, len(paths) <= 500
                    self._advance(min(500, len(paths) - start))
            return
        # One task per cache shard when there are enough to keep every worker busy (then a
        # worker's result is the whole shard, written to the cache as it comes); else chunks.
        step = None if len(self.todo) >= 2 * workers else 1000
        with _pool(workers) as pool:
            futures: list[tuple[int, int, bool, Future[tuple[bytes, list[str]]]]] = []
            for index, paths in self.todo.items():
                size = step or len(paths)
                for start in range(0, len(paths), size):
                    chunk = paths[start : start + size]
                    future = pool.submit(parse_shard, chunk, self.with_text)
                    futures.append((index, len(chunk), len(chunk) == len(paths), future))
            for index, size, whole, future in futures:
                data, failed = future.result()
                yield index, data, failed, whole
                self._advance(size)

    def _advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.total)


# --- the whole read -----------------------------------------------------------------------


def read_agreements(
    paths: Sequence[str | Path],
    *,
    use_cache: bool = True,
    progress: Progress | None = None,
    known_channels: Iterable[str] | None = None,
) -> list[Agreement]:
    """The agreements of ``paths`` (files, and folders searched recursively for ``*.yaml`` and
    ``*.yml``), as :func:`tracker.loader.load_paths` gives them: all valid, or
    :class:`ValidationFailed` with every error (raised by the loader itself).

    ``use_cache`` False neither reads nor writes the parse cache. ``known_channels`` as for
    the loader: an agreement naming another channel is an error (the cache holds what the
    file says; this check is made on every read, as the configuration may have changed).
    """
    # Hundreds of thousands of long-lived objects and no cycles: with the cyclic collector on,
    # it scans the growing heap again and again (most of a warm run's time before this).
    channels = None if known_channels is None else frozenset(known_channels)
    with cache_module.gc_paused():
        return _read(paths, use_cache, progress, channels)


def meets_expectations(file: str, agreement: Agreement, channels: frozenset[str] | None) -> bool:
    """What the loader checks beyond the model (``loader._expect_problems``): the id is the
    file's name, and every channel it names is configured (when ``channels`` is given). A file
    that fails is read again by the loader, which reports where and what."""
    if agreement.id != _stem(file):
        return False
    return channels is None or all(name in channels for name in agreement.channels or ())


def _stem(path: str) -> str:
    """``Path(path).stem``, for the paths :class:`Scan` gives (already as pathlib spells them,
    so the last component is the name): pathlib's parsing was a tenth of a warm run's reading.
    The rule is pathlib's: the name without its last suffix, a leading dot not being one."""
    name = os.path.basename(path)
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def _read(
    paths: Sequence[str | Path],
    use_cache: bool,
    progress: Progress | None,
    channels: frozenset[str] | None,
) -> list[Agreement]:
    scan = Scan(paths)
    listed = list(scan.files())
    caches: dict[str, ParseCache] = {}
    found: dict[str, Agreement] = {}
    todo: dict[tuple[str, int], list[str]] = {}
    if use_cache:
        caches = {given: ParseCache(given) for given, _ in scan.groups}
        _from_cache(listed, caches, found, todo)
        if todo:
            _renamed(caches, found, todo)
    else:
        for given, file in listed:
            todo.setdefault((given, cache_module.shard_of(file)), []).append(file)
    failed = _parse_rest(todo, caches, found, progress, len(listed))
    # Saved before errors are reported: fixing one file must not cost parsing the others.
    by_given: dict[str, list[str]] = {}
    for given, file in listed:
        by_given.setdefault(given, []).append(file)
    for given, store in caches.items():
        store.save(by_given.get(given, []))
    failed += [f for f, a in found.items() if not meets_expectations(f, a, channels)]
    for file in failed:
        found.pop(file, None)
    agreements = _in_order(listed, found, failed)
    if scan.missing or failed or len({a.id for a in agreements}) != len(agreements):
        report_errors(scan, listed, {file: a.id for file, a in found.items()}, channels)
        loaded = loader.load_paths(paths, known_channels=channels)
        return [item.agreement for item in loaded]
    return agreements


def _from_cache(
    listed: list[tuple[str, str]],
    caches: dict[str, ParseCache],
    found: dict[str, Agreement],
    todo: dict[tuple[str, int], list[str]],
) -> None:
    now = time.time_ns()
    for given, file in listed:
        index = cache_module.shard_of(file)
        shard = caches[given].shard(index)
        try:
            sig: Signature = signature(os.stat(file))
        except OSError:
            sig = (0, 0, -1, 0, 0)
        entry = shard.lookup(file, sig, now)
        if entry is not None:
            found[file] = entry.agreement
        else:
            todo.setdefault((given, index), []).append(file)


def _renamed(
    caches: dict[str, ParseCache],
    found: dict[str, Agreement],
    todo: dict[tuple[str, int], list[str]],
) -> None:
    """Files not found under their path whose bytes are those of a cached entry (a renamed or
    moved file): taken from the cache after hashing them, not parsed."""
    known = {sha: e for store in caches.values() for sha, e in store.by_sha256().items()}
    if not known:
        return
    for (given, index), files in todo.items():
        shard = caches[given].shard(index)
        left: list[str] = []
        for file in files:
            recorded_ns = time.time_ns()
            try:
                sig = signature(os.stat(file))
            except OSError:
                left.append(file)
                continue
            entry = known.get(cache_module.file_sha256(file) or "")
            if entry is None:
                left.append(file)
                continue
            shard.entries[file] = Entry(sig, recorded_ns, entry.sha256, entry.agreement)
            shard.dirty = True
            found[file] = entry.agreement
        files[:] = left
    for key in [k for k, files in todo.items() if not files]:
        del todo[key]


def _parse_rest(
    todo: dict[tuple[str, int], list[str]],
    caches: dict[str, ParseCache],
    found: dict[str, Agreement],
    progress: Progress | None,
    total: int,
) -> list[str]:
    """Parse what the cache did not answer; update the cache; the files that failed."""
    if not todo:
        if progress is not None:
            progress(total, total)
        return []
    keys = list(todo)
    batch = _Batch({i: todo[key] for i, key in enumerate(keys)}, progress, total)
    failed: list[str] = []
    fresh: dict[tuple[str, int], dict[str, Entry]] = {}
    for task, data, bad, whole in batch.run():
        entries: dict[str, Entry] = cache_module.unpickle(data)
        for path, entry in entries.items():
            found[path] = entry.agreement
        failed.extend(bad)
        given, index = keys[task]
        store = caches.get(given)
        if whole and store is not None and not store.shard(index).entries:
            # A shard parsed whole (a first run): its bytes are the shard file as they are.
            store.replace(index, entries, data)
        else:
            fresh.setdefault(keys[task], {}).update(entries)
    for (given, index), entries in fresh.items():
        if given in caches:
            shard = caches[given].shard(index)
            shard.entries.update(entries)
            shard.dirty = True
    return failed


def _in_order(
    listed: list[tuple[str, str]], found: dict[str, Agreement], failed: list[str]
) -> list[Agreement]:
    bad = set(failed)
    return [found[file] for _, file in listed if file not in bad and file in found]


def report_errors(
    scan: Scan,
    listed: list[tuple[str, str]],
    ids: dict[str, str],
    channels: frozenset[str] | None,
) -> None:
    """Raise the loader's own errors for the files concerned (those without an id in ``ids``,
    that failed, and those sharing an id), and for the given paths that do not exist, in the
    order the loader would meet them."""
    owner: dict[str, str] = {}
    concerned: set[str] = set()
    for _, file in listed:
        agreement_id = ids.get(file)
        if agreement_id is None:
            concerned.add(file)
            continue
        first = owner.setdefault(agreement_id, file)
        if first != file:
            concerned.update((first, file))
    by_given: dict[str, list[Path]] = {}
    for given, file in listed:
        if file in concerned:
            by_given.setdefault(given, []).append(Path(file))
    ordered: list[Path] = []
    for given in scan.order:
        ordered.extend([Path(given)] if given in scan.missing else by_given.pop(given, []))
    # Raises ValidationFailed, unless the files changed since they were read (then the
    # caller reads everything again with the loader).
    loader.load_paths(ordered, known_channels=channels)


def load_paths_fast(
    paths: Sequence[str | Path],
    *,
    progress: Progress | None = None,
    known_channels: Iterable[str] | None = None,
) -> list[loader.LoadedAgreement]:
    """What :func:`tracker.loader.load_paths` returns (documents, hashes, paths as named), by
    the lean pass in several processes and without the cache; when any file fails (the
    model, or :func:`meets_expectations`), the loader reads them all again and raises its own
    errors."""
    channels = None if known_channels is None else frozenset(known_channels)
    with cache_module.gc_paused():
        scan = Scan(paths)
        listed = [file for _, file in scan.files()]
        batch = _Batch({0: listed}, progress, len(listed), with_text=True)
        found: dict[str, tuple[Entry, str]] = {}
        failed: list[str] = []
        for _, data, bad, _whole in batch.run():
            found.update(cache_module.unpickle(data))
            failed.extend(bad)
        failed += [
            f for f, (e, _) in found.items() if not meets_expectations(f, e.agreement, channels)
        ]
        result = [
            loader.LoadedAgreement(found[f][0].agreement, f, found[f][0].sha256, found[f][1])
            for f in listed
            if f in found
        ]
        if scan.missing or failed or len({r.agreement.id for r in result}) != len(result):
            return loader.load_paths(paths, progress=progress, known_channels=channels)
        return result
