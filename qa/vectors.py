"""Nearest-neighbour search over passage vectors, behind one small interface.

A `VectorIndex` holds the vectors of a snapshot's passages by position (0..n-1) and finds the
nearest ones to a question by inner product (cosine: vectors are unit length). The FAISS
backend picks the index type by size:

- exact (`IndexFlatIP`) below `exact_search_below` vectors (20k): every passage compared, no
  recall loss; its cost grows with n (about 4 ms at 20k, 22 ms at 100k on 2 cores);
- above it, HNSW by default (`IndexHNSWFlat`: M links per node, efSearch candidates per search,
  cost growing with log n), or IVF (`IndexIVFFlat`: k-means cells, `probe` of them searched;
  builds 3× faster, searches slower at the same recall). Their defaults are the smallest that
  reached recall@10 ≥ 0.98 against exact search in `benchmarks/scaling.py` (docs/scaling.md).

A search restricted to few positions (a filter) compares them exactly, since a graph search
with most nodes filtered out misses neighbours. Deleted passages can stay in an index, `hidden`
from searches, so that a deletion does not rebuild it. A graph is saved beside the store
(`save`, `read_vector_index`), so a new process does not build it again. Another engine
(Qdrant, OpenSearch) is a new subclass and a branch in `vector_index`; docs/scaling.md says
when one is worth it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import faiss
import numpy as np

from qa.config import Settings, default_of

EXACT_FILTER_BELOW = 20_000  # filtered searches over fewer allowed positions are exact
# Vectors added to a graph are searched exactly beside it up to this many (about 1 ms a
# question on 2 cores), then inserted into a copy of it (`Layered`).
MAX_RECENT = 5_000
# HNSW efSearch by size: the smallest that reached recall@10 >= 0.98 in benchmarks/scaling.py
# (on its synthetic vectors, which are harder than real ones): (passages below, efSearch).
AUTO_EF_SEARCH = ((300_000, 512), (float("inf"), 2048))


@dataclass(frozen=True)
class VectorOptions:
    """How vector indexes are made; `Settings` carries the same fields."""

    exact_search_below: int = default_of("exact_search_below")
    approximate_index: str = default_of("approximate_index")  # above exact_search_below: "hnsw" or "ivf"
    hnsw_m: int = default_of("hnsw_m")
    hnsw_ef_construction: int = default_of("hnsw_ef_construction")
    hnsw_ef_search: int = default_of("hnsw_ef_search")  # 0: by size, AUTO_EF_SEARCH
    ivf_lists: int = default_of("ivf_lists")  # 0: about 4 × √n
    ivf_probe: int = default_of("ivf_probe")

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorOptions:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


class VectorIndex:
    """Vectors by position; read-only once built, so snapshots can share it between threads."""

    kind: str  # what it is, with its parameters (printed by benchmarks)
    search_depth: int | None = None  # approximate indexes: candidates a search examines
    worth_saving = False  # whether it reads back (`read_vector_index`) much faster than it builds

    def __init__(self, vectors: np.ndarray):
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._vectors)

    def vectors(self, positions: np.ndarray | None = None) -> np.ndarray:
        """The vectors at `positions` (all of them by default: a view, valid while this lives)."""
        return self._vectors if positions is None else self._vectors[positions]

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None,
               hidden: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Up to k (position, cosine) pairs nearest `vector`, best first, among `allowed`
        positions (by default all but the `hidden` ones)."""
        if allowed is not None and len(allowed) < max(EXACT_FILTER_BELOW, k):
            return _exact(self.vectors(allowed), vector, k, allowed)
        return self._search_among(vector, k, allowed, hidden)

    def _search_among(self, vector: np.ndarray, k: int, allowed: np.ndarray | None,
                      hidden: np.ndarray | None) -> list[tuple[int, float]]:
        """`search` where comparing the allowed positions one by one would cost too much."""
        if allowed is None and hidden is not None and len(hidden):
            visible = np.ones(len(self), dtype=bool)
            visible[hidden] = False
            bitmap = np.packbits(visible, bitorder="little")  # FAISS's bit order
            return self._search(vector, min(k, len(self) - len(hidden)), _Selection(bitmap=bitmap))
        return self._search(vector, min(k, len(self)), None if allowed is None else _Selection(positions=allowed))

    def extended(self, vectors: np.ndarray) -> VectorIndex | None:
        """An index of these vectors followed by `vectors`, made faster than from scratch; None
        where this kind has no faster way (the caller builds anew). This index is unchanged."""
        return None

    def save(self, file: BinaryIO) -> None:
        """Write this index to `file`, to be read back by `read_vector_index` (kinds that are
        `worth_saving`)."""
        raise NotImplementedError

    def _search(self, vector: np.ndarray, k: int, selection: _Selection | None) -> list[tuple[int, float]]:
        raise NotImplementedError


class FaissExact(VectorIndex):
    kind = "exact"

    def __init__(self, vectors: np.ndarray):
        super().__init__(vectors)
        self._index = faiss.IndexFlatIP(self._vectors.shape[1])
        self._index.add(self._vectors)
        self._vectors = _stored(self._index)

    def _search(self, vector, k, selection):
        return _faiss_search(self._index, vector, k, selection, faiss.SearchParameters)


class FaissHNSW(VectorIndex):
    worth_saving = True  # reads in 0.15 s at 100k passages, builds in 30 s

    def __init__(self, vectors: np.ndarray, options: VectorOptions):
        index = faiss.IndexHNSWFlat(vectors.shape[1], options.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = options.hnsw_ef_construction
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._adopt(index, options)

    def _adopt(self, index, options: VectorOptions) -> None:
        self._index, self._options = index, options
        self._vectors = _stored(faiss.downcast_index(index.storage))
        self.search_depth = options.hnsw_ef_search or next(ef for below, ef in AUTO_EF_SEARCH if len(self) < below)

    @property
    def kind(self) -> str:
        return f"hnsw M={self._options.hnsw_m} efSearch={self.search_depth}"

    def extended(self, vectors: np.ndarray) -> VectorIndex:
        """This graph and `vectors` beside it, searched exactly (`Layered`): a write costs its
        own vectors. Past MAX_RECENT of them, a copy of the graph with them inserted: 0.2 s at
        100k passages, where building the graph again takes 30 s or more."""
        if len(vectors) <= MAX_RECENT:
            return Layered(self, vectors)
        index = faiss.clone_index(self._index)  # (already the subclass; it owns the copy)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        grown = FaissHNSW.__new__(FaissHNSW)
        grown._adopt(index, self._options)
        return grown

    def save(self, file: BinaryIO) -> None:
        faiss.write_index(self._index, faiss.PyCallbackIOWriter(file.write))

    def _search(self, vector, k, selection):
        def params(sel=None):
            return faiss.SearchParametersHNSW(efSearch=max(self.search_depth, k), sel=sel)

        return _faiss_search(self._index, vector, k, selection, params)


class FaissIVF(VectorIndex):
    """Inverted lists: the vectors grouped in `lists` k-means cells; a search compares the
    question with the vectors of the `probe` cells whose centres are nearest to it."""

    def __init__(self, vectors: np.ndarray, options: VectorOptions):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        lists = options.ivf_lists or max(1, min(round(4 * np.sqrt(len(vectors))), len(vectors) // 39))
        self._lists, self.search_depth = lists, min(options.ivf_probe, lists)
        self._index = faiss.IndexIVFFlat(faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], lists,
                                         faiss.METRIC_INNER_PRODUCT)
        if len(vectors):
            # k-means on a sample: FAISS needs about 39 vectors per cell and gains little past 256
            sample = np.random.default_rng(0).choice(len(vectors), min(len(vectors), 64 * lists), replace=False)
            self._index.train(vectors[np.sort(sample)])
            self._index.add(vectors)
        self._index.make_direct_map()  # to read vectors back by position
        self._size = len(vectors)

    def __len__(self) -> int:
        return self._size

    @property
    def kind(self) -> str:
        return f"ivf lists={self._lists} probe={self.search_depth}"

    def vectors(self, positions: np.ndarray | None = None) -> np.ndarray:
        if positions is None:
            return self._index.reconstruct_n(0, self._size) if self._size else np.zeros((0, self._index.d), np.float32)
        positions = np.asarray(positions, dtype=np.int64)
        return self._index.reconstruct_batch(positions) if len(positions) else np.zeros((0, self._index.d), np.float32)

    def _search(self, vector, k, selection):
        def params(sel=None):
            return faiss.SearchParametersIVF(nprobe=self.search_depth, sel=sel)

        return _faiss_search(self._index, vector, k, selection, params)


class Layered(VectorIndex):
    """A graph (or other approximate index), never changed, and the vectors added after it
    was built, at the positions after its own, compared exactly with every question. The
    graph is shared with the snapshot before, so taking a write in costs the new vectors
    (copying a graph of 100k passages to insert a few took 0.15-0.2 s in every process that
    serves the index)."""

    def __init__(self, base: VectorIndex, recent: np.ndarray):
        super().__init__(recent)
        self._base = base
        self.kind, self.search_depth = base.kind, base.search_depth

    def __len__(self) -> int:
        return len(self._base) + len(self._vectors)

    def vectors(self, positions: np.ndarray | None = None) -> np.ndarray:
        if positions is None:
            return np.concatenate([self._base.vectors(), self._vectors])
        positions = np.asarray(positions, dtype=np.int64)
        size = len(self._base)
        found = np.empty((len(positions), self._vectors.shape[1]), dtype=np.float32)
        in_base = positions < size
        found[in_base] = self._base.vectors(positions[in_base])
        found[~in_base] = self._vectors[positions[~in_base] - size]
        return found

    def _search_among(self, vector: np.ndarray, k: int, allowed: np.ndarray | None,
                      hidden: np.ndarray | None) -> list[tuple[int, float]]:
        size = len(self._base)
        if allowed is not None:
            found = self._base.search(vector, k, allowed[allowed < size])
            recent = allowed[allowed >= size]
        else:
            found = self._base.search(vector, k, None, None if hidden is None else hidden[hidden < size])
            recent = np.setdiff1d(np.arange(size, len(self)), [] if hidden is None else hidden)
        found += _exact(self._vectors[recent - size], vector, k, recent)
        return sorted(found, key=lambda pair: -pair[1])[:k]

    def extended(self, vectors: np.ndarray) -> VectorIndex:
        recent = np.concatenate([self._vectors, np.asarray(vectors, dtype=np.float32)])
        return Layered(self._base, recent) if len(recent) <= MAX_RECENT else self._base.extended(recent)


def vector_index(vectors: np.ndarray, options: VectorOptions = VectorOptions()) -> VectorIndex:
    """The index for `vectors`: exact below `options.exact_search_below` of them, the approximate
    index `options.approximate_index` above."""
    if len(vectors) < options.exact_search_below:
        return FaissExact(vectors)
    if options.approximate_index == "ivf":
        return FaissIVF(vectors, options)
    return FaissHNSW(vectors, options)


def read_vector_index(file: BinaryIO, options: VectorOptions) -> VectorIndex:
    """An index written by `VectorIndex.save`, if `vector_index` would build that kind with
    these options at its size; ValueError otherwise (or if the file is damaged)."""
    try:
        index = faiss.read_index(faiss.PyCallbackIOReader(file.read))
    except RuntimeError as exc:
        raise ValueError(f"unreadable vector index: {exc}") from exc
    if not (isinstance(index, faiss.IndexHNSWFlat) and options.approximate_index == "hnsw"
            and index.ntotal >= options.exact_search_below and index.metric_type == faiss.METRIC_INNER_PRODUCT
            and index.hnsw.nb_neighbors(1) == options.hnsw_m
            and index.hnsw.efConstruction == options.hnsw_ef_construction):
        raise ValueError("the saved vector index was built with other settings")
    saved = FaissHNSW.__new__(FaissHNSW)
    saved._adopt(index, options)
    return saved


def _stored(flat) -> np.ndarray:
    """The vectors a FAISS flat storage holds, as an array over its memory: FAISS copies what
    it is given, and keeping our copy too would double the memory. Valid while `flat` lives."""
    return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)


@dataclass
class _Selection:
    """The positions a search may return: these `positions`, or those set in `bitmap`."""

    positions: np.ndarray | None = None
    bitmap: np.ndarray | None = None  # bit i of byte i // 8 (from the lowest) for position i

    def selector(self):
        """A FAISS selector; it reads `bitmap` in place, which must outlive the search."""
        if self.positions is not None:
            return faiss.IDSelectorBatch(self.positions)
        return faiss.IDSelectorBitmap(len(self.bitmap), faiss.swig_ptr(self.bitmap))


def _faiss_search(index, vector, k, selection: _Selection | None, params) -> list[tuple[int, float]]:
    if k <= 0:
        return []
    chosen = params(sel=selection.selector()) if selection is not None else params()
    scores, positions = index.search(vector.reshape(1, -1).astype(np.float32), k, params=chosen)
    return [(int(p), float(s)) for p, s in zip(positions[0], scores[0]) if p >= 0]


def _exact(vectors: np.ndarray, vector: np.ndarray, k: int, positions: np.ndarray) -> list[tuple[int, float]]:
    scores = vectors @ vector.astype(np.float32)
    best = np.argsort(-scores)[:k]
    return [(int(positions[i]), float(scores[i])) for i in best]
