"""The local backend: the index in one directory on this machine (QA_BACKEND=local, the default).

Each build's durable record is a SQLite store (`qa.store`) in a build directory (`qa.builds`);
searches run on a snapshot of it in memory, FAISS for vectors and BM25 postings for stems
(`qa.snapshot`), refreshed when any process changes the store. Live changes are transactions
in the live build's store; a full rebuild writes a new build and switches CURRENT to it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from qa.backends.base import Backend, Build, CheckReport, Filters, Hit, IndexFacts, Manifest, same_model
from qa.builds import (
    STORE, backup, checked_store, live_build, new_build, read_manifest, recover, write_lock,
)
from qa.config import Settings
from qa.errors import IndexNotFoundError, QAError, damaged_index
from qa.snapshot import Snapshot
from qa.store import Entry, Store
from qa.types import Article, ArticleInfo, Facets, Passage
from qa.vectors import VectorOptions

log = logging.getLogger(__name__)

PASSAGES_PER_READ = 10_000  # passages read from the store at a time by `passages()`


class LocalBuild(Build):
    """A full build in the index directory's staging folder."""

    def __init__(self, store: Store, directory: Path, manifest: Manifest):
        self.store, self.directory, self.manifest = store, directory, manifest

    def stored(self) -> dict[str, str]:
        hashes = self.store.hashes()
        for damaged in self.store.damaged():
            del hashes[damaged]
        return hashes

    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        return self.store.write(entries, remove)

    def copy_live(self, articles: list[Article]) -> list[str]:
        try:
            build, live = read_manifest(self.directory)
            return self.store.copy(build / STORE, articles) if same_model(live, self.manifest) else []
        except IndexNotFoundError:  # a first build: nothing to copy, nothing to say
            return []
        except QAError as exc:  # a damaged live index: everything is embedded
            log.info("nothing copied from the live index (%s)", exc)
            return []

    def passages(self) -> int:
        return self.store.counts()[1]


class LocalBackend(Backend):
    """The live build of a directory, searched through its latest snapshot."""

    name = "local"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.directory = Path(settings.index_dir)
        self.options = VectorOptions.from_settings(settings)
        self._lock = threading.Lock()  # one refresh at a time; readers never wait for it
        self._snapshot: Snapshot | None = None
        self._manifest: Manifest | None = None
        self._facts: tuple[tuple[str, int], IndexFacts] | None = None  # of the snapshot named first

    @property
    def where(self) -> str:
        return str(self.directory)

    @property
    def live(self) -> str:
        return str(self.directory / self.refresh().build)

    def open(self) -> LocalBackend:
        """Load the live build (IndexNotFoundError when there is none)."""
        with self._lock:
            if self._snapshot is None:
                self._open(live_build(self.directory))
        return self

    def _open(self, build_name: str) -> None:
        build, manifest = read_manifest(self.directory, build_name)
        store = checked_store(self.directory, build, manifest)
        try:
            snapshot = Snapshot.load(build, store, options=self.options)
        except (sqlite3.Error, OSError, ValueError, RuntimeError) as exc:
            store.close()
            raise damaged_index(self.directory, exc) from exc
        # The previous build's store stays open for searches still on its snapshots; its
        # connections close when the last of them is dropped.
        self._manifest, self._snapshot = manifest, snapshot

    @property
    def manifest(self) -> Manifest:
        self.open()
        return self._manifest

    def create(self, manifest: Manifest) -> None:
        with write_lock(self.directory):
            try:
                live_build(self.directory)
            except QAError:
                with new_build(self.directory, manifest):
                    pass

    @contextmanager
    def rebuild(self, manifest: Manifest, resume: bool):
        with write_lock(self.directory), new_build(self.directory, manifest, resume=resume) as store:
            yield LocalBuild(store, self.directory, manifest)

    @property
    def store(self) -> Store:
        """The live build's store."""
        return self.open()._snapshot.store

    def snapshot(self) -> Snapshot:
        """The latest snapshot: refreshed first if another writer (thread or process) changed
        the index since; if a refresh is already under way, the current one."""
        self.open()
        if self._lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self._lock.release()
        return self._snapshot

    def refresh(self) -> Snapshot:
        """The latest snapshot, waiting for a refresh under way: what a writer calls so that its
        changes are searchable when it returns."""
        self.open()
        with self._lock:
            self._refresh()
        return self._snapshot

    def _refresh(self) -> None:
        build = live_build(self.directory)
        if build != self._snapshot.build:
            self._open(build)
        elif self._snapshot.store.generation() != self._snapshot.generation:
            self._snapshot = Snapshot.load(self.directory / build, self._snapshot.store, self._snapshot, self.options)

    def stored(self, ids: list[str]) -> dict[str, str]:
        store = self.snapshot().store
        hashes = store.hashes(ids)
        for damaged in store.damaged(list(hashes)):
            hashes[damaged] = ""
        return hashes

    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        """One transaction of the live build. Searches see the change from the next
        `snapshot()`; `refresh()` builds it now."""
        self.open()
        with write_lock(self.directory), self._lock:
            build = live_build(self.directory)
            if build != self._snapshot.build:  # a full rebuild replaced the build open here
                self._open(build)
            return self._snapshot.store.write(entries, remove)

    def search(self, stems: list[str] | None, vector: Callable[[], np.ndarray] | None, depth: int,
               filters: Filters, stages: Callable[[str], None] = lambda stage: None) -> list[Hit]:
        snapshot = self.snapshot()
        allowed = self.matching(snapshot, filters)
        stages("snapshot")
        scores = None
        lexical: dict[int, float] = {}
        if stems is not None:
            scores = snapshot.lexical.scores(stems)
            if allowed is not None:
                mask = np.full(len(scores), -np.inf, dtype=np.float32)
                mask[allowed] = 0
                scores = scores + mask
            best = np.argpartition(-scores, depth)[:depth] if len(scores) > depth else np.arange(len(scores))
            best = best[np.argsort(-scores[best], kind="stable")]
            lexical = {int(snapshot.rows[p]): float(scores[p]) for p in best if scores[p] > 0}
        stages("lexical")
        question = vector() if vector else None
        stages("embed")
        dense: dict[int, float] = {}
        if question is not None:
            dense.update(snapshot.dense(question, depth, allowed))
            new = [row for row in lexical if row not in dense]
            if new:
                dense.update(zip(new, map(float, snapshot.similarities(question, new))))
        if scores is not None:
            missing = [row for row in dense if row not in lexical]
            if missing:
                lexical.update(zip(missing, map(float, scores[np.searchsorted(snapshot.rows, missing)])))
        stages("dense")
        rows = list(dict.fromkeys([*dense, *lexical]))
        found = snapshot.store.passages(rows)
        stages("passages")
        return [Hit(row, dense.get(row, 0.0), lexical.get(row, 0.0), found[row]) for row in rows if row in found]

    @staticmethod
    def matching(snapshot: Snapshot, filters: Filters) -> np.ndarray | None:
        """The positions in `snapshot` whose articles pass the filters; None without filters."""
        if not filters:
            return None
        return snapshot.positions(snapshot.store.matching_rows(filters.date_from, filters.date_to,
                                                               list(filters.sources)))

    def passages(self) -> Iterator[Passage]:
        snapshot = self.snapshot()
        rows = [int(row) for row in snapshot.rows]
        for start in range(0, len(rows), PASSAGES_PER_READ):
            yield from snapshot.store.passages(rows[start : start + PASSAGES_PER_READ]).values()

    def articles(self, offset: int, limit: int) -> tuple[int, list[ArticleInfo]]:
        store = self.snapshot().store  # notices a rebuilt or vanished index, as searches do
        return store.counts()[0], store.articles(offset, limit)

    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        return self.snapshot().store.article(article_id)

    def facets(self) -> Facets:
        return self.snapshot().store.facets()

    def facts(self) -> IndexFacts:
        """Counted once per snapshot: counting is linear in the index, and /health must answer fast."""
        snapshot = self.snapshot()
        known = self._facts
        if known is None or known[0] != (snapshot.build, snapshot.generation):
            articles, passages = snapshot.store.counts()
            known = self._facts = ((snapshot.build, snapshot.generation),
                                   IndexFacts(articles, passages, snapshot.generation, self._manifest.built_at))
        return known[1]

    def check(self) -> CheckReport:
        snapshot = self.snapshot()
        articles, passages = snapshot.store.counts()
        return CheckReport(build=snapshot.build, articles=articles, passages=passages,
                           damaged=snapshot.store.damaged(), problems=snapshot.store.integrity())

    def recover(self) -> tuple[str, int] | None:
        with write_lock(self.directory):
            recovered = recover(self.directory)
        if recovered:
            with self._lock:
                self._snapshot = None  # opened afresh on next use
        return recovered

    def backup(self, target: Path) -> tuple[str, int, int]:
        return backup(self.directory, Path(target))
