"""The local backend's searchable view of one build: FAISS for vectors, BM25 for words, built
from the store and replaced (never changed) when the store changes.

Any process that sees the store's generation change builds a new snapshot, so a reader never
blocks on a writer and always searches a consistent set of passages. A new snapshot reuses what
the previous one built, at the cost of the change, not of the index: added passages go beside
its graph (searched exactly, `qa.vectors.Layered`; into a copy of it past MAX_RECENT) and into
a second BM25 segment; deleted ones, which the store's log names (`Store.removed_since`), stay
in both, hidden, until they are MAX_HIDDEN of them. A process that builds
a graph from scratch saves it in the build directory, so the next process starting on that
build reads it (seconds at 1M passages, where building takes minutes) and catches up from there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.builds import SAVED_VECTORS
from qa.lexical import LexicalIndex
from qa.store import Store
from qa.vectors import VectorIndex, VectorOptions, read_vector_index, vector_index

DIGEST_BYTES = 16  # the BLAKE2b digest that ends a saved vector index
# Deleted passages stay in the vector index, hidden from searches, until they are this share
# of it: a graph search steps over them, and past this it is rebuilt without them.
MAX_HIDDEN = 0.1

log = logging.getLogger(__name__)


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
        hidden = _hidden(store, previous)
        kept = np.ones(len(known), dtype=bool)
        kept[hidden] = False
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


def _hidden(store: Store, previous: Snapshot | None) -> np.ndarray:
    """The positions of `previous` whose passages the store no longer has: those it hid, and
    those the store's log says were deleted since (a live snapshot: the cost is the change's);
    else (a saved graph, a log that does not reach back) found by listing every row."""
    if previous is None:
        return np.zeros(0, dtype=np.int64)
    removed = store.removed_since(previous.generation) if previous.generation >= 0 else None
    if removed is None:
        return np.flatnonzero(~np.isin(previous.rows, store.row_ids(), assume_unique=True))
    return np.union1d(previous.hidden, previous.positions(removed)).astype(np.int64)


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
