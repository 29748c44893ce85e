"""Deadlines of a large agreement folder, computed and formatted by the processes that read it.

Why: at 100,000 files, a warm run (every file answered by the parse cache) of ``tracker
deadlines --agreements DIR`` spent almost all its time in one process, one step after the
other: unpickling the cached agreements, the engine, formatting 180,000 rows. Here each worker
process (one per core, as for parsing) takes whole cache shards: it answers each of its files
from the shard (parsing with the lean pass those the cache does not hold, and writing the shard
back as :meth:`ParseCache.save` does), computes the deadlines of its agreements with the
command's own ``compute``, and formats them with the command's own formatter. The parent only
merges the workers' sorted lists (:func:`heapq.merge`) and writes them.

Why the output is the same as reading everything in one process and computing there:

* ``compute`` sorts stably by :func:`~tracker.domain.deadline.listing_order`; a worker calls it
  on its agreements in the order the single process would meet them, and the merge uses the
  same key. Two deadlines with equal keys have the same agreement id, and ids are unique here
  (a duplicate sends the command to the ordinary path), so they come from one agreement, hence
  one worker, whose order the merge keeps.
* The rows are made by the same formatter the single-process output is joined from.
* An agreement whose rules cannot be computed is reported by ``compute`` (id -> why) in the
  worker, as in the parent.

Errors are the ordinary path's: when any file is one the lean pass does not take, or fails
:func:`~tracker.files.read.meets_expectations`, or two files share an id, the workers compute
nothing more for the task concerned and the parent has the loader read the files concerned,
through the same :func:`~tracker.files.read.report_errors` as
:func:`~tracker.files.read.read_agreements`, which raises the loader's errors word for word.

This path steps aside (:func:`answer` returns None and the caller takes the ordinary path, which
then finds the cache filled by the workers) when a given path is missing, when there are fewer
than :data:`~tracker.files.read.PARALLEL_MIN` files or one core, and when the files concerned
by an error no longer fail when the loader reads them (they changed meanwhile).
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, listing_order
from tracker.files import cache as cache_module
from tracker.files import read
from tracker.files.cache import ParseCache, Shard, Signature, signature

#: The command's computation: deadlines sorted by ``listing_order``, and the agreements whose
#: rules failed (id -> why). Picklable (a module function, or a ``functools.partial`` of one).
Compute = Callable[[Sequence[Agreement]], tuple[list[Deadline], dict[str, str]]]
#: The command's formatter: one string per deadline, in order.
Format = Callable[[Sequence[Deadline]], list[str]]
#: A deadline's place in the listing (see ``listing_order``).
Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Question:
    """What the command asks of every worker."""

    compute: Compute
    format: Format
    kinds: frozenset[str]  # only these deadline kinds; all when empty
    tags: frozenset[str]  # only agreements with one of these tags; all when empty
    channels: frozenset[str] | None  # the configured channel names (the loader's check)
    use_cache: bool


@dataclass
class Answer:
    """The formatted deadlines in listing order, and the agreements that failed (id -> why)."""

    items: list[str]
    failed: dict[str, str]


@dataclass(frozen=True)
class _Task:
    """The files of one cache shard of one given path, in the order they are listed."""

    given: str
    index: int
    files: list[str]


@dataclass
class _Result:
    """A task's answer: the id of each file read (to find duplicates across tasks), the files
    the loader must read (then nothing was computed), and its deadlines' keys and formatted
    items, in order."""

    ids: dict[str, str]
    unread: list[str]
    keys: list[Key]
    items: list[str]
    failed: dict[str, str]


def answer(
    paths: Sequence[str | Path], question: Question, progress: read.Progress | None = None
) -> Answer | None:
    """The deadlines of the agreements under ``paths``, computed and formatted by worker
    processes; None when the ordinary path must answer (see the module doc).

    Raises :class:`~tracker.errors.ValidationFailed` with the loader's errors when any file
    fails, as :func:`tracker.files.read.read_agreements` does."""
    # Hundreds of thousands of keys and rows, no cycles: no collection needed while they live.
    with cache_module.gc_paused():
        scan = read.Scan(paths)
        if scan.missing:
            return None
        listed = list(scan.files())
        workers = read._workers(len(listed))
        if workers < 2:
            return None
        if question.use_cache:
            cache_module.fingerprint()  # once here, inherited by forked workers
        results = _run(_tasks(listed), question, workers, progress, len(listed))
        if any(r.unread for r in results) or _duplicated(results):
            ids = {file: i for r in results for file, i in r.ids.items()}
            read.report_errors(scan, listed, ids, question.channels)
            return None  # they no longer fail: changed since read
        return Answer(_merged(results), _failed(results))


def _merged(results: list[_Result]) -> list[str]:
    """Every task's items in listing order: each task's are sorted by the same key."""
    streams = [zip(r.keys, r.items, strict=True) for r in results]
    return [item for _, item in heapq.merge(*streams, key=itemgetter(0))]


def _failed(results: list[_Result]) -> dict[str, str]:
    failed: dict[str, str] = {}
    for result in results:
        failed.update(result.failed)
    return failed


def _tasks(listed: list[tuple[str, str]]) -> list[_Task]:
    """One task per (given path, cache shard), its files in listing order: a shard is read and
    written by one worker only."""
    groups: dict[tuple[str, int], list[str]] = {}
    for given, file in listed:
        groups.setdefault((given, cache_module.shard_of(file)), []).append(file)
    return [_Task(given, index, files) for (given, index), files in groups.items()]


def _duplicated(results: list[_Result]) -> bool:
    count = sum(len(r.ids) for r in results)
    return len({i for r in results for i in r.ids.values()}) != count


def _run(
    tasks: list[_Task], question: Question, workers: int, progress: read.Progress | None, total: int
) -> list[_Result]:
    results: list[_Result] = []
    done = 0
    with read._pool(workers) as pool:
        # The biggest first, so that no worker is left with a long task at the end.
        order = sorted(tasks, key=lambda t: -len(t.files))
        futures: list[tuple[int, Future[_Result]]] = [
            (len(t.files), pool.submit(answer_task, t, question)) for t in order
        ]
        for size, future in futures:
            results.append(future.result())
            done += size
            if progress is not None:
                progress(done, total)
    return results


# --- in a worker --------------------------------------------------------------------------


def answer_task(task: _Task, question: Question) -> _Result:
    """Read, compute and format one task's files (in a worker process)."""
    # With the collector on, the next allocation after the agreements are loaded may start a
    # full collection over all of them (a sixth of a second a task). Paused, and the
    # agreements freed (with _answer's locals) before it runs again.
    with cache_module.gc_paused():
        return _answer(task, question)


def _answer(task: _Task, question: Question) -> _Result:
    agreements, unread = _agreements(task, question)
    ids = {file: a.id for file, a in agreements.items()}
    if unread:
        return _Result(ids, unread, [], [], {})
    tags = question.tags
    chosen = [a for a in agreements.values() if not tags or set(a.tags) & tags]
    found, failed = question.compute(chosen)
    if question.kinds:
        found = [d for d in found if d.kind.value in question.kinds]
    keys = [listing_order(d) for d in found]
    return _Result(ids, [], keys, question.format(found), failed)


def _agreements(task: _Task, question: Question) -> tuple[dict[str, Agreement], list[str]]:
    """The task's agreements by file, in order, from its cache shard or parsed (the shard then
    written back, entries of files no longer listed dropped); and the files the loader must
    read instead (the lean pass does not take them, or they fail ``meets_expectations``)."""
    store = ParseCache(task.given) if question.use_cache else None
    shard = store.shard(task.index) if store is not None else Shard()
    now = time.time_ns()  # before any file is looked at: see Shard.lookup
    agreements: dict[str, Agreement] = {}
    unread: list[str] = []
    for file in task.files:
        entry = _cached(shard, file, now) if store is not None else None
        if entry is None:
            entry = read._parse_one(file, now, False)
            if entry is None:
                unread.append(file)
                continue
            shard.entries[file] = entry
            shard.dirty = True
        if read.meets_expectations(file, entry.agreement, question.channels):
            agreements[file] = entry.agreement
        else:
            unread.append(file)
    if store is not None:
        store.save(task.files)
    return agreements, unread


def _cached(shard: Shard, file: str, now: int) -> cache_module.Entry | None:
    try:
        sig: Signature = signature(os.stat(file))
    except OSError:
        return None
    return shard.lookup(file, sig, now)
