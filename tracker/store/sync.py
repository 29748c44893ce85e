"""Keep the database in step with the watched agreements folder (``agreements_dir``).

The folder owns its agreements (origin ``file``): a new file adds one, a changed file (by
sha256) updates it, a removed file removes it. Agreements written through the API are never
touched, even when a file claims their id (the file is reported in ``SyncReport.skipped``).
Agreements loaded once by ``tracker import`` are taken over by a file of the same id.

Several replicas may sync the same folder at once: each sync runs in one transaction under
the agreement-writer lock, so the second one waits, then finds nothing left to do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from tracker.files.read import load_paths_fast
from tracker.loader import AGREEMENT_SUFFIXES, LoadedAgreement
from tracker.logs import fields
from tracker.store.deadlines import Horizon
from tracker.store.engine import session_scope
from tracker.store.repository import (
    ORIGIN_API,
    ORIGIN_FILE,
    insert_new_agreements,
    lock_agreement_writes,
    materialize_or_refuse,
    remove_agreements,
    rows_by_id,
    write_agreement,
)

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What one sync did, by agreement id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Files whose id belongs to an API-written agreement; left out of the database.
    skipped: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


#: A progress line in the log every this many files read.
PROGRESS_EVERY = 10_000


def _log_progress(directory: Path) -> Callable[[int, int], None]:
    step = [PROGRESS_EVERY]

    def report(done: int, total: int) -> None:
        if done >= step[0] or (done == total and total >= PROGRESS_EVERY):
            log.info(
                "agreements.reading", extra=fields(directory=str(directory), done=done, total=total)
            )
            step[0] = (done // PROGRESS_EVERY + 1) * PROGRESS_EVERY

    return report


def sync_directory(
    engine: Engine, directory: Path, *, now: datetime, horizon: Horizon | None = None
) -> SyncReport:
    """Make the origin-``file`` agreements match ``directory``, in one transaction, with the
    deadlines of changed agreements materialised over ``horizon`` in it.

    Raises ValidationFailed (from the loader, or naming each file whose deadlines cannot be
    computed) and changes nothing when any file fails: a half-edited folder never
    half-applies.
    """
    # Validates everything before touching the database; one progress line in the log per
    # 10,000 files, so a long first start shows where it is.
    loaded = load_paths_fast([directory], progress=_log_progress(directory))
    report = SyncReport()
    written: list[LoadedAgreement] = []
    new: list[LoadedAgreement] = []
    with session_scope(engine) as session:
        lock_agreement_writes(session)
        stored = rows_by_id(session)
        seen: set[str] = set()
        for item in loaded:
            agreement_id = item.agreement.id
            seen.add(agreement_id)
            row = stored.get(agreement_id)
            if row is not None and row.origin == ORIGIN_API:
                log.warning(
                    "file %s is ignored: agreement %r was written through the API",
                    item.path,
                    agreement_id,
                )
                report.skipped.append(agreement_id)
                continue
            if (
                row is not None
                and row.origin == ORIGIN_FILE
                and row.sha256 == item.sha256
                and row.path == item.path
            ):
                report.unchanged.append(agreement_id)
                continue
            if row is None:
                new.append(item)  # written below, in bulk
                report.added.append(agreement_id)
                continue
            if write_agreement(
                session,
                item,
                origin=ORIGIN_FILE,
                now=now,
                existing=row,
                keep_origins=(ORIGIN_API,),
            ):
                written.append(item)
            report.updated.append(agreement_id)
        insert_new_agreements(session, new, origin=ORIGIN_FILE, now=now, keep_origins=(ORIGIN_API,))
        written.extend(new)
        materialize_or_refuse(session, written, now=now, horizon=horizon)
        gone = sorted(
            agreement_id
            for agreement_id, row in stored.items()
            if row.origin == ORIGIN_FILE and agreement_id not in seen
        )
        remove_agreements(session, gone, now=now, reason="agreement file removed")
        report.removed.extend(gone)
    if report.changed:
        log.info(
            "synced %s: %d added, %d updated, %d removed",
            directory,
            len(report.added),
            len(report.updated),
            len(report.removed),
        )
    return report


Snapshot = frozenset[tuple[str, int, int]]


def folder_snapshot(directory: Path) -> Snapshot:
    """``(path, mtime_ns, size)`` of every agreement file under ``directory`` (hidden folders
    skipped, like the loader); an absent folder is an empty snapshot."""
    entries: set[tuple[str, int, int]] = set()
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or not name.endswith(AGREEMENT_SUFFIXES):
                continue
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:  # removed between listing and stat
                continue
            entries.add((path, stat.st_mtime_ns, stat.st_size))
    return frozenset(entries)


class DirectoryWatcher:
    """Cheap polling: tells whether the folder's files changed since the last call.

    Polling (rather than inotify) works the same on every platform and on network and
    container-mounted volumes; one ``stat`` per file is cheap at the sizes this serves.
    The first call answers True, so a new watcher always triggers one sync.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._last: Snapshot | None = None

    def changed(self) -> bool:
        snapshot = folder_snapshot(self.directory)
        if snapshot == self._last:
            return False
        self._last = snapshot
        return True
