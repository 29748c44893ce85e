"""Keep the database in step with the watched agreements folder (``agreements_dir``).

The folder owns its agreements (origin ``file``): a new file adds one, a changed file (by
sha256) updates it, a removed file removes it. Agreements written through the API are never
touched, even when a file claims their id (the file is reported in ``SyncReport.skipped``).
Agreements loaded once by ``tracker import`` are taken over by a file of the same id.

An invalid file does not stop the folder: every valid file is synced (added, updated, and
removed when its file is gone), and the agreement an invalid file held keeps its last good
version (matched by the stored path, or by the id its file name gives) until the file is
fixed or deleted. Half-edited files thus neither freeze the folder nor delete an agreement
and cancel its reminders. The invalid files and their errors are in ``SyncReport.invalid``.

Several replicas may sync the same folder at once: each sync runs in one transaction under
the agreement-writer lock, so the second one waits, then finds nothing left to do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from tracker.errors import ConfigError, ValidationFailed
from tracker.files.read import load_paths_fast
from tracker.loader import AGREEMENT_SUFFIXES, LoadedAgreement, load_paths
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
    #: Every error of every invalid file (each names its file).
    invalid: list[ConfigError] = field(default_factory=list)
    #: Agreements kept at their last good version because their file is invalid now.
    kept: list[str] = field(default_factory=list)

    @property
    def invalid_files(self) -> dict[str, list[str]]:
        """``file -> its error lines``, in file order."""
        found: dict[str, list[str]] = {}
        for error in self.invalid:
            found.setdefault(error.file or "<unknown>", []).append(str(error))
        return found

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
    engine: Engine,
    directory: Path,
    *,
    now: datetime,
    horizon: Horizon | None = None,
    known_channels: Iterable[str] | None = None,
) -> SyncReport:
    """Make the origin-``file`` agreements match the valid files of ``directory``, in one
    transaction, with the deadlines of changed agreements materialised over ``horizon`` in it.

    Invalid files are reported in ``SyncReport.invalid`` and their agreements kept as they
    were (see the module docstring). Raises ValidationFailed and changes nothing when the
    folder itself cannot be read, or naming each file whose deadlines cannot be computed.
    ``known_channels``: the channel names of the configuration in force (an agreement naming
    another is invalid); None skips that check.
    """
    # Validated before touching the database; one progress line in the log per 10,000 files,
    # so a long first start shows where it is.
    loaded, invalid = load_valid(directory, known_channels, progress=_log_progress(directory))
    report = SyncReport(invalid=invalid)
    invalid_paths = {error.file for error in invalid}
    invalid_stems = {Path(name).stem for name in invalid_paths if name}
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
                    "sync.file_ignored",
                    extra=fields(
                        file=item.path,
                        agreement=agreement_id,
                        reason="the agreement was written through the API",
                    ),
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
        orphans = [
            (agreement_id, row)
            for agreement_id, row in stored.items()
            if row.origin == ORIGIN_FILE and agreement_id not in seen
        ]
        report.kept = sorted(
            agreement_id
            for agreement_id, row in orphans
            if row.path in invalid_paths or agreement_id in invalid_stems
        )
        gone = sorted(
            agreement_id for agreement_id, _ in orphans if agreement_id not in report.kept
        )
        remove_agreements(session, gone, now=now, reason="agreement file removed")
        report.removed.extend(gone)
    if report.changed:
        log.info(
            "sync.done",
            extra=fields(
                directory=str(directory),
                added=len(report.added),
                updated=len(report.updated),
                removed=len(report.removed),
            ),
        )
    return report


def load_valid(
    directory: Path,
    known_channels: Iterable[str] | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[LoadedAgreement], list[ConfigError]]:
    """The valid agreement files of ``directory`` and every error of the others (a file whose
    id another file already uses is invalid too). ValidationFailed when the folder itself
    cannot be read (e.g. it does not exist)."""
    try:
        fast = load_paths_fast([directory], progress=progress, known_channels=known_channels)
        return fast, []
    except ValidationFailed as exc:
        errors = exc.errors
    if any(not error.file or Path(error.file) == directory for error in errors):
        raise ValidationFailed(errors)
    bad = {error.file for error in errors}
    files = [
        path
        for path in sorted(folder_paths(directory))
        if path not in bad and str(Path(path)) not in bad
    ]
    return (load_paths(files, known_channels=known_channels) if files else []), errors


def folder_paths(directory: Path) -> list[str]:
    """The agreement files under ``directory``, as :func:`folder_snapshot` finds them."""
    return [path for path, _, _ in folder_snapshot(directory)]


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
