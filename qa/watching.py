"""A watched folder: `qa watch DIR` keeps the index in step with a folder that a scraper writes
into. New and changed files are added, deleted ones removed, through the same live-update path
as `qa add` and `qa remove`.

What was seen is kept beside the index (each file's size, modification time and article ids),
so a restart reads only what changed while it was stopped. A file modified within the last
`settle_s` seconds is taken to be still being written and is read on a later pass, once it has
stayed unchanged that long. The folder is scanned on every change watchfiles reports, every
`settle_s` while some file is waiting, and every RESCAN_S seconds in any case (file systems
that report no changes: network mounts).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles

from qa import atomic
from qa.engine import Engine
from qa.errors import IndexBusyError, InvalidInputError, NoArticlesError
from qa.reading import ARTICLE_SUFFIXES, is_hidden


RESCAN_S = 60.0


@dataclass
class SyncReport:
    """One pass over the folder: files read (with the articles they added, replaced or left
    alone), files whose articles were removed, files still being written."""

    read: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class FolderWatch:
    def __init__(self, engine: Engine, folder: Path | str, settle_s: float = 2.0):
        self.engine, self.folder, self.settle_s = engine, Path(folder), settle_s
        if not self.folder.is_dir():
            raise InvalidInputError(f"no such folder: {self.folder}")
        key = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:16]
        self.state_file = Path(engine.settings.index_dir) / f"watch-{key}.json"
        self.seen: dict[str, dict] = self._load()

    def _load(self) -> dict[str, dict]:
        try:
            values = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):  # first run, or damaged: every file is compared again
            return {}
        return values.get("files", {}) if isinstance(values, dict) else {}

    def _save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(self.state_file, json.dumps({"folder": str(self.folder.resolve()), "files": self.seen}))

    def _files(self) -> dict[str, os.stat_result]:
        files = {}
        for path in self.folder.rglob("*"):
            if is_hidden(path, self.folder) or path.suffix.lower() not in ARTICLE_SUFFIXES:
                continue
            try:
                if path.is_file():
                    files[str(path.relative_to(self.folder))] = path.stat()
            except OSError:  # deleted while scanning
                continue
        return files

    def sync(self, stop=None) -> SyncReport:
        """One pass: add what is new or changed and has settled, remove what is gone; when
        `stop` is set, the pass ends after the file at hand (what is left waits for the next)."""
        report, now = SyncReport(), time.time()
        files = self._files()
        for name in sorted(set(self.seen) - set(files)):
            self._forget(name, report)
        for name, stat in sorted(files.items()):
            if stop is not None and stop.is_set():
                break
            mark = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            before = self.seen.get(name, {})
            if {k: before.get(k) for k in mark} == mark:
                continue
            if now - stat.st_mtime < self.settle_s:
                report.waiting.append(name)
                continue
            self._read(name, mark, before.get("ids", []), report)
        return report

    def _forget(self, name: str, report: SyncReport) -> None:
        ids = self.seen.pop(name)["ids"]
        if ids:
            report.removed += self.engine.remove(ids).removed
        self._save()

    def _read(self, name: str, mark: dict, old_ids: list[str], report: SyncReport) -> None:
        try:
            added = self.engine.add_paths([self.folder / name])
        except NoArticlesError as exc:
            report.problems.append(str(exc))
            ids = []
        else:
            ids = added.added + added.replaced + added.unchanged
            report.added += added.added
            report.replaced += added.replaced
            report.problems += added.skipped
        gone = [i for i in old_ids if i not in ids]
        if gone:
            report.removed += self.engine.remove(gone).removed
        self.seen[name] = {**mark, "ids": ids}
        report.read.append(name)
        self._save()

    def run(self, on_pass: Callable[[SyncReport], None], stop=None, on_start: Callable[[], None] = lambda: None) -> None:
        """Sync now (catching up on what changed while stopped), then on every change, until
        `stop` (a threading.Event) is set; `on_start()` once watching. One watcher per folder
        and index at a time: two would read the same files twice and overwrite each other's
        state."""
        with self._only_watcher():
            on_start()
            waiting, last = True, 0.0  # the first pass runs once the watcher is up: no change is missed in between
            for changes in watchfiles.watch(self.folder, stop_event=stop, rust_timeout=int(self.settle_s * 1000),
                                            yield_on_timeout=True, raise_interrupt=False):
                # no changes: a timeout. A full scan every RESCAN_S is a safety net for file
                # systems that report no events (network mounts).
                if changes or waiting or time.monotonic() - last > RESCAN_S:
                    waiting, last = self._pass(on_pass, stop), time.monotonic()

    @contextmanager
    def _only_watcher(self):
        """Holds the folder's watch lock (flock: the kernel frees it if the watcher dies)."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_file.with_suffix(".lock"), "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexBusyError(f"another `qa watch` is already watching {self.folder} into this index; "
                                     "stop it first") from None
            yield

    def _pass(self, on_pass: Callable[[SyncReport], None], stop) -> bool:
        report = self.sync(stop)
        if report.read or report.removed or report.problems:
            on_pass(report)
        return bool(report.waiting)
