"""The index on disk and in memory: builds in an index directory, and the searchable view of
the live one (FAISS for vectors, BM25 for words), kept up to date as articles come and go.

Layout of an index directory:

    index/CURRENT              name of the live build (replaced atomically)
    index/write.lock           held by whoever writes (flock: released if the process dies)
    index/build-<time>-<tag>/  manifest.json (model, prefixes, format), store.sqlite (qa.store),
                               vectors.saved (a graph worth keeping: rows, the FAISS index, a digest)
    index/.staging/            a full build under way or interrupted (same files)

A full build is written beside the live one, in `index/.staging/`, and switched in by
renaming CURRENT, so a crash leaves the previous build in service; the staging build commits as
it goes and the next full build with the same model resumes it. Live changes
(`PassageIndex.write`) are transactions in the live build's store. Searching happens on a
`Snapshot` built from the store; any process that sees the store's generation (or CURRENT)
change builds a new snapshot, so a reader never blocks on a writer and always searches a
consistent set of passages.

A new snapshot reuses what the previous one built: added passages go into a copy of its graph
and a second BM25 segment, and deleted ones stay in both, hidden, until they are MAX_HIDDEN of
them. A process that builds a graph from scratch saves it in the build directory, so the next
process starting on that build reads it (seconds at 1M passages, where building takes
minutes) and catches up from there.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.errors import (
    CorruptIndexError, IndexBusyError, IndexMismatchError, IndexNotFoundError, InvalidInputError, QAError,
    StorageError, disk_problem,
)
from qa.lexical import LexicalIndex
from qa.store import Entry, Store
from qa.types import ArticleInfo, Facets, Passage
from qa.vectors import VectorIndex, VectorOptions, read_vector_index, vector_index

FORMAT_VERSION = 4  # 3: one SQLite store holding vectors and BM25 terms; live updates. 4: row checksums
POINTER = "CURRENT"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
LOCK = "write.lock"
STAGING = ".staging"  # the full build under way (or interrupted)
SAVED_VECTORS = "vectors.saved"
DIGEST_BYTES = 16  # the BLAKE2b digest that ends a saved vector index
LOCK_WAIT_SECONDS = 10.0
# Deleted passages stay in the vector index, hidden from searches, until they are this share
# of it: a graph search steps over them, and past this it is rebuilt without them.
MAX_HIDDEN = 0.1

log = logging.getLogger(__name__)


@dataclass
class Manifest:
    """What a build was made with; a build is only searched with the same model and prefixes."""

    model: str
    dimension: int
    query_prefix: str
    passage_prefix: str
    built_at: str
    format: int = FORMAT_VERSION


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _require_folder(index_dir: Path) -> None:
    """An index directory that is a file is an operator's slip, not a damaged index."""
    if index_dir.exists() and not index_dir.is_dir():
        raise InvalidInputError(f"index directory {index_dir} is a file, not a folder: name a folder "
                                "(one that does not exist yet is made)")


@contextmanager
def write_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS):
    """Hold the index directory's write lock, waiting at most `wait` seconds for it."""
    _require_folder(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / LOCK, "a+")
    except OSError as exc:
        raise disk_problem(index_dir) or CorruptIndexError(f"index in {index_dir} cannot be written ({exc})") from exc
    with handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"index in {index_dir} is being written by another process (a full rebuild?); "
                        "try again later"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def live_build(index_dir: Path) -> str:
    """The name of the live build (the content of CURRENT). A directory whose CURRENT is lost,
    unreadable or names no build, but that holds builds, is not an empty one: that is an error
    naming them and `qa recover`, so nothing indexes over them."""
    _require_folder(index_dir)
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text().strip()
        if name.startswith("build-") and "/" not in name and (index_dir / name).is_dir():
            return name
        problem = f"has a {POINTER} file naming no build here ({name[:80]!r})"
    except FileNotFoundError:
        problem = f"has lost its {POINTER} file"
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"has an unreadable {POINTER} file ({exc})"
    found = builds(index_dir)
    if found:
        raise CorruptIndexError(
            f"index in {index_dir} {problem} but holds {len(found)} build(s) "
            f"({', '.join(b.name for b in found[:3])}{', …' if len(found) > 3 else ''}); nothing was "
            f"changed: run `qa recover --index-dir {index_dir}` to make the newest complete build live"
        ) from None
    if problem.startswith("has lost"):
        raise IndexNotFoundError(f"no index in {index_dir}: build one with `qa index PATH --index-dir {index_dir}`")
    raise CorruptIndexError(f"index in {index_dir} {problem} and no build; rebuild it with `qa index`")


def builds(index_dir: Path) -> list[Path]:
    """The build directories in `index_dir`, newest first (their names begin with the time)."""
    try:
        return sorted((b for b in index_dir.glob("build-*") if b.is_dir()), key=lambda b: b.name, reverse=True)
    except OSError:
        return []


def _set_live(index_dir: Path, name: str) -> None:
    """Point CURRENT at build `name`, atomically and durably."""
    pointer = index_dir / f".{POINTER}.{secrets.token_hex(3)}.tmp"
    pointer.write_text(name + "\n")
    _fsync(pointer)
    os.replace(pointer, index_dir / POINTER)
    _fsync(index_dir)


def recover(index_dir: Path) -> tuple[str, int] | None:
    """Make the newest complete build live when CURRENT is lost or names no readable build;
    returns it with its article count, or None when the live build is fine as it is. The
    caller holds `write_lock`. Nothing is deleted."""
    try:
        build, manifest = read_manifest(index_dir)
        _checked_store(index_dir, build, manifest).close()
        return None
    except IndexNotFoundError:
        raise
    except (CorruptIndexError, IndexMismatchError):
        pass  # lost, dangling or damaged: look for a build that reads
    problems = []
    for build in builds(index_dir):
        try:
            _, manifest = read_manifest(index_dir, build.name)
            store = _checked_store(index_dir, build, manifest)
        except QAError as exc:
            problems.append(f"{build.name}: {exc}")
            continue
        articles = store.counts()[0]
        store.close()
        _set_live(index_dir, build.name)
        log.info("%s now points at %s (%d articles)", POINTER, build.name, articles)
        return build.name, articles
    raise CorruptIndexError(f"no complete build to recover in {index_dir} ({'; '.join(problems) or 'none found'}); "
                            f"rebuild it with `qa index PATH --index-dir {index_dir}`")


def backup(index_dir: Path, target: Path) -> tuple[str, int, int]:
    """Copy the live build of `index_dir` into `target`, a new folder (or an empty one), as an
    index directory of its own; returns the build's name and its article and passage counts.

    The copy is consistent: writes wait for it (the write lock; they fail after
    LOCK_WAIT_SECONDS), and the store is copied by SQLite's backup API, not as a file that may
    be mid-commit. It is written beside `target` and renamed into place when complete, so an
    interrupted backup leaves no half index under that name. Restoring is the same copy the
    other way: `backup(the_backup, fresh_dir)`."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(f"{target} already exists and is not an empty folder; name a new one "
                                "(a backup never writes over anything)")
    partial = target.parent / f".{target.name}.partial-{secrets.token_hex(3)}"
    with write_lock(index_dir):
        build, manifest = read_manifest(index_dir)
        source = _checked_store(index_dir, build, manifest)
        try:
            (partial / build.name).mkdir(parents=True)
            shutil.copy2(build / MANIFEST, partial / build.name / MANIFEST)
            if (build / SAVED_VECTORS).is_file():  # a graph saves the next start rebuilding it
                shutil.copy2(build / SAVED_VECTORS, partial / build.name / SAVED_VECTORS)
            with sqlite3.connect(partial / build.name / STORE) as copy:
                source.backup_to(copy)
            articles, passages = source.counts()
            for written in (partial / build.name / STORE, partial / build.name, partial):
                _fsync(written)
            _set_live(partial, build.name)
            if target.exists():  # an empty folder: rename replaces it
                target.rmdir()
            os.rename(partial, target)
            _fsync(target.parent)
        except (OSError, sqlite3.Error) as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise disk_problem(target.parent) or StorageError(f"backup to {target} failed ({exc})") from exc
        finally:
            source.close()
    return build.name, articles, passages


def _damaged(index_dir: Path, build: Path, exc: BaseException) -> QAError:
    """What a failure to read a build means: a full or read-only disk, or a damaged index."""
    return disk_problem(build) or CorruptIndexError(f"index in {index_dir} is damaged ({exc}); rebuild it with `qa index`")


def _checked_store(index_dir: Path, build: Path, manifest: Manifest) -> Store:
    """The build's store, open and checked; an error saying why if it cannot be read."""
    store = Store(build / STORE, manifest.dimension)
    try:
        if not store.path.is_file():
            raise FileNotFoundError(f"{store.path} is missing")
        store.check()
    except (sqlite3.Error, OSError) as exc:
        store.close()
        raise _damaged(index_dir, build, exc) from exc
    return store


def read_manifest(index_dir: Path, build_name: str | None = None) -> tuple[Path, Manifest]:
    """A build directory (by default the live one) and its manifest."""
    build = index_dir / (build_name or live_build(index_dir))
    try:
        fields = json.loads((build / MANIFEST).read_text())
        if fields.get("format") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index in {index_dir} has format {fields.get('format')}, this version reads format "
                f"{FORMAT_VERSION}; rebuild it: qa index PATH --index-dir {index_dir}"
            )
        manifest = Manifest(**fields)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise CorruptIndexError(f"index in {index_dir} is damaged ({exc}); rebuild it with `qa index`") from exc
    return build, manifest


def same_model(a: Manifest, b: Manifest) -> bool:
    """Whether vectors of one build are valid in the other."""
    return (a.model, a.dimension, a.passage_prefix) == (b.model, b.dimension, b.passage_prefix)


@contextmanager
def new_build(index_dir: Path, manifest: Manifest, resume: bool = False):
    """A store in a staging directory; when the block ends without error, the build becomes the
    live one. The caller holds `write_lock`.

    With `resume`, the staging directory is kept when the block fails or the process dies, and
    the next resumable build with the same model goes on from what it committed; otherwise it is
    private to this build and removed on failure."""
    index_dir.mkdir(parents=True, exist_ok=True)
    for stale in index_dir.glob(f"{STAGING}-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted private build
    staging = index_dir / (STAGING if resume else f"{STAGING}-{secrets.token_hex(3)}")
    try:
        store = _staging_store(staging, manifest)
    except (sqlite3.Error, OSError) as exc:
        raise disk_problem(index_dir) or CorruptIndexError(f"index in {index_dir} cannot be written ({exc})") from exc
    try:
        yield store
    except BaseException:
        store.close()
        if not resume:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    store.close()
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    for file in staging.iterdir():
        _fsync(file)
    _fsync(staging)
    name = f"build-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
    os.rename(staging, index_dir / name)
    try:
        replaced = (index_dir / POINTER).read_text().strip()
    except (OSError, UnicodeDecodeError):
        replaced = None
    _set_live(index_dir, name)
    # Only the build this one replaces is deleted: any other (one a lost CURRENT left behind,
    # say) may hold articles nobody asked to drop.
    if replaced and replaced != name and (index_dir / replaced).parent == index_dir and replaced.startswith("build-"):
        shutil.rmtree(index_dir / replaced, ignore_errors=True)


def _staging_store(staging: Path, manifest: Manifest) -> Store:
    """The store of an interrupted build in `staging` made with the same model, or a new one."""
    try:
        found = Manifest(**json.loads((staging / MANIFEST).read_text()))
        if same_model(found, manifest) and found.format == FORMAT_VERSION and (staging / STORE).is_file():
            store = Store(staging / STORE, manifest.dimension)
            try:
                store.check()
                return store
            except QAError:
                store.close()
    except (OSError, ValueError, TypeError):
        pass  # nothing there, or nothing usable: start afresh
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    store = Store.create(staging / STORE, manifest.dimension)
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    return store


@dataclass(frozen=True)
class Snapshot:
    """A consistent, read-only view of the passages: position i of the FAISS index and of the
    BM25 index is passage row `rows[i]`, except the `hidden` positions, whose passages were
    deleted after the vector index was built. Replaced, never changed."""

    build: str
    store: Store  # of `build`: row numbers only mean something in their own build
    generation: int
    rows: np.ndarray  # ascending
    hidden: np.ndarray  # positions of deleted passages (no longer in the store)
    vectors: VectorIndex  # exact or approximate, by size (qa.vectors)
    lexical: LexicalIndex  # hidden positions score 0

    def __len__(self) -> int:
        return len(self.rows) - len(self.hidden)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Where the given rows sit in this snapshot (rows it lacks are left out)."""
        at = np.searchsorted(self.rows, rows)
        inside = at < len(self.rows)
        at = at[inside]
        return at[self.rows[at] == rows[inside]]

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        """The k passage rows nearest `vector` by cosine, among the `allowed` positions."""
        found = self.vectors.search(vector, k, allowed, self.hidden)
        return [(int(self.rows[p]), score) for p, score in found]

    def similarities(self, vector: np.ndarray, rows: list[int]) -> np.ndarray:
        """Cosine of `vector` with the passages at `rows` (all in this snapshot)."""
        if not rows:
            return np.zeros(0, dtype=np.float32)
        return self.vectors.vectors(np.searchsorted(self.rows, np.array(rows, dtype=np.int64))) @ vector

    @classmethod
    def load(cls, build: Path, store: Store, previous: Snapshot | None = None,
             options: VectorOptions = VectorOptions()) -> Snapshot:
        """The store's passages now, in build directory `build`, reusing what `previous` (of the
        same build) or the saved graph already has."""
        generation = store.generation()
        if previous is None or previous.build != build.name:
            previous = _saved_snapshot(build, store, options)
        known = previous.rows if previous else np.zeros(0, dtype=np.int64)
        added = store.rows_after(int(known[-1]) if len(known) else 0)
        kept = np.isin(known, store.row_ids(), assume_unique=True)
        hidden = np.flatnonzero(~kept)
        vectors = None
        if previous and len(hidden) <= MAX_HIDDEN * (len(known) + len(added.rows)):
            # a news feed's usual change: the index takes new passages in and hides deleted ones
            vectors = previous.vectors.extended(added.vectors) if len(added.rows) else previous.vectors
        if vectors is not None:
            rows = np.concatenate([known, added.rows])
            lexical = previous.lexical.extended(added.stems, hidden)
        else:  # built anew from the passages there are: no hidden ones
            old_vectors = previous.vectors.vectors() if len(known) else added.vectors[:0]
            rows, hidden = np.concatenate([known[kept], added.rows]), hidden[:0]
            vectors = vector_index(np.concatenate([old_vectors[kept], added.vectors]).reshape(-1, store.dimension),
                                   options)
            lexical = (previous.lexical.without(kept) if previous else LexicalIndex()).extended(added.stems)
            _save_vectors(build, rows, vectors)
        return cls(build.name, store, generation, rows, hidden, vectors, lexical)


class _Digesting:
    """A file being written that keeps a digest of what went into it."""

    def __init__(self, file):
        self.file, self.digest = file, hashlib.blake2b(digest_size=DIGEST_BYTES)

    def write(self, data) -> int:
        self.digest.update(data)
        return self.file.write(data)


def _intact(file, size: int) -> bool:
    """Whether a saved file's last DIGEST_BYTES are the digest of the rest: a garbled graph
    handed to FAISS could crash the process or search wrong neighbours, never just fail."""
    digest, left = hashlib.blake2b(digest_size=DIGEST_BYTES), size - DIGEST_BYTES
    while left > 0:
        chunk = file.read(min(left, 1 << 24))
        if not chunk:
            return False
        digest.update(chunk)
        left -= len(chunk)
    intact = left == 0 and file.read(DIGEST_BYTES) == digest.digest()
    file.seek(0)
    return intact


def _save_vectors(build: Path, rows: np.ndarray, vectors: VectorIndex) -> None:
    """Keep a graph for the next process (atomically: a crash leaves the old file or none),
    ending with a digest of what it holds."""
    if not vectors.worth_saving:
        return
    temporary = build / f".{SAVED_VECTORS}.{secrets.token_hex(3)}.tmp"
    try:
        with open(temporary, "wb") as file:
            digesting = _Digesting(file)
            np.save(digesting, rows)
            vectors.save(digesting)
            file.write(digesting.digest.digest())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, build / SAVED_VECTORS)
    except OSError as exc:  # a read-only index directory, a full disk: only the next start is slower
        log.warning("could not save the vector index in %s (%s)", build, exc)
    finally:
        temporary.unlink(missing_ok=True)


def _saved_snapshot(build: Path, store: Store, options: VectorOptions) -> Snapshot | None:
    """The saved graph as a snapshot to start from, if there is a usable one."""
    try:
        with open(build / SAVED_VECTORS, "rb") as file:
            if not _intact(file, os.fstat(file.fileno()).st_size):
                log.warning("saved vector index in %s fails its checksum (changed on disk): building it anew", build)
                return None
            rows = np.load(file)
            vectors = read_vector_index(file, options)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.info("saved vector index in %s not used (%s): building it", build, exc)
        return None
    if len(rows) != len(vectors) or np.any(np.diff(rows) <= 0):
        log.info("saved vector index in %s does not match its rows: building it", build)
        return None
    stems = store.stems(int(rows[-1])) if len(rows) else {}
    lexical = LexicalIndex([stems.get(int(row), []) for row in rows])  # deleted rows: hidden by the caller
    return Snapshot(build.name, store, -1, rows, rows[:0], vectors, lexical)


class PassageIndex:
    """The live index of a directory: search its latest snapshot, read passages and articles,
    and write changes. Safe to share between threads."""

    def __init__(self, index_dir: Path, options: VectorOptions = VectorOptions()):
        self.directory = Path(index_dir)
        self.options = options
        self._lock = threading.Lock()  # one refresh at a time; readers never wait for it
        self._snapshot: Snapshot | None = None
        self._open(live_build(self.directory))

    def _open(self, build_name: str) -> None:
        build, manifest = read_manifest(self.directory, build_name)
        store = _checked_store(self.directory, build, manifest)
        try:
            snapshot = Snapshot.load(build, store, options=self.options)
        except (sqlite3.Error, OSError, ValueError, RuntimeError) as exc:
            store.close()
            raise _damaged(self.directory, build, exc) from exc
        # The previous build's store stays open for searches still on its snapshots; its
        # connections close when the last of them is dropped.
        self.manifest, self._snapshot = manifest, snapshot

    def require(self, model: str, dimension: int, passage_prefix: str) -> None:
        """Raise IndexMismatchError unless the live build was made with this model: vectors of
        another model (or prefix) are not comparable with its questions' vectors."""
        m = self.manifest
        if (m.model, m.dimension, m.passage_prefix) != (model, dimension, passage_prefix):
            raise IndexMismatchError(
                f"index in {self.directory} was built with model {m.model!r} (dimension {m.dimension}, "
                f"passage prefix {m.passage_prefix!r}) but the current setting is {model!r} (dimension "
                f"{dimension}, passage prefix {passage_prefix!r}); rebuild it: qa index PATH --index-dir "
                f"{self.directory}"
            )

    @property
    def store(self) -> Store:
        """The live build's store."""
        return self._snapshot.store

    def snapshot(self) -> Snapshot:
        """The latest snapshot: refreshed first if another writer (thread or process) changed
        the index since; if a refresh is already under way, the current one."""
        if self._lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self._lock.release()
        return self._snapshot

    def refresh(self) -> Snapshot:
        """The latest snapshot, waiting for a refresh under way: what a writer calls so that its
        changes are searchable when it returns."""
        with self._lock:
            self._refresh()
        return self._snapshot

    def _refresh(self) -> None:
        build = live_build(self.directory)
        if build != self._snapshot.build:
            self._open(build)
        elif self.store.generation() != self._snapshot.generation:
            self._snapshot = Snapshot.load(self.directory / build, self.store, self._snapshot, self.options)

    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        """Store `entries` and delete the articles `remove` in one transaction of the live build;
        returns the ids written (new or changed) and the ids removed. Searches see the change
        from the next `snapshot()`; call `refresh()` to build it now."""
        with write_lock(self.directory), self._lock:
            build = live_build(self.directory)
            if build != self._snapshot.build:  # a full rebuild replaced the build open here
                self._open(build)
            return self.store.write(entries, remove)

    @staticmethod
    def passages(snapshot: Snapshot, rows: list[int]) -> dict[int, Passage]:
        """The passages at `rows` of `snapshot` by row; rows deleted since it was taken are missing."""
        return snapshot.store.passages(rows)

    def matching(self, snapshot: Snapshot, date_from: str | None, date_to: str | None,
                 sources: list[str]) -> np.ndarray | None:
        """The positions in `snapshot` whose articles pass the filters; None without filters."""
        if not (date_from or date_to or sources):
            return None
        return snapshot.positions(snapshot.store.matching_rows(date_from, date_to, sources))

    def articles(self, offset: int, limit: int) -> tuple[int, list[ArticleInfo]]:
        """How many articles there are, and `limit` of them from `offset`, in id order."""
        store = self.snapshot().store  # notices a rebuilt or vanished index, as searches do
        return store.counts()[0], store.articles(offset, limit)

    def facets(self) -> Facets:
        return self.snapshot().store.facets()

    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        """One article's listing and its text, if it is indexed."""
        return self.snapshot().store.article(article_id)
