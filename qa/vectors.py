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
with most nodes filtered out misses neighbours. Another engine (Qdrant, OpenSearch) is a new
subclass and a branch in `vector_index`; docs/scaling.md says when one is worth it.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from qa.config import Settings

EXACT_FILTER_BELOW = 20_000  # filtered searches over fewer allowed positions are exact
# HNSW efSearch by size: the smallest that reached recall@10 >= 0.98 in benchmarks/scaling.py
# (on its synthetic vectors, which are harder than real ones): (passages below, efSearch).
AUTO_EF_SEARCH = ((300_000, 512), (float("inf"), 2048))


@dataclass(frozen=True)
class VectorOptions:
    """How vector indexes are made; `Settings` carries the same fields."""

    exact_search_below: int = 20_000
    approximate_index: str = "hnsw"  # above exact_search_below: "hnsw" or "ivf"
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 0  # 0: by size, AUTO_EF_SEARCH
    ivf_lists: int = 0  # 0: about 4 × √n
    ivf_probe: int = 256

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorOptions:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


class VectorIndex:
    """Vectors by position; read-only once built, so snapshots can share it between threads."""

    kind: str  # what it is, with its parameters (printed by benchmarks)
    search_depth: int | None = None  # approximate indexes: candidates a search examines

    def __init__(self, vectors: np.ndarray):
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._vectors)

    def vectors(self, positions: np.ndarray | None = None) -> np.ndarray:
        """The vectors at `positions` (all of them by default: a view, valid while this lives)."""
        return self._vectors if positions is None else self._vectors[positions]

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Up to k (position, cosine) pairs nearest `vector`, best first, among `allowed`
        positions (all by default)."""
        if allowed is not None and len(allowed) < max(EXACT_FILTER_BELOW, k):
            return _exact(self.vectors(allowed), vector, k, allowed)
        return self._search(vector, min(k, len(self)), allowed)

    def extended(self, vectors: np.ndarray) -> VectorIndex | None:
        """An index of these vectors followed by `vectors`, made faster than from scratch; None
        where this kind has no faster way (the caller builds anew). This index is unchanged."""
        return None

    def _search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        raise NotImplementedError


class FaissExact(VectorIndex):
    kind = "exact"

    def __init__(self, vectors: np.ndarray):
        super().__init__(vectors)
        self._index = faiss.IndexFlatIP(self._vectors.shape[1])
        self._index.add(self._vectors)
        self._vectors = _stored(self._index)

    def _search(self, vector, k, allowed):
        return _faiss_search(self._index, vector, k, allowed, faiss.SearchParameters)


class FaissHNSW(VectorIndex):
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

    def extended(self, vectors: np.ndarray) -> FaissHNSW:
        """A copy of the graph with `vectors` inserted: 0.2 s at 100k passages for a few new
        ones, where building the graph again takes 30 s or more."""
        index = faiss.clone_index(self._index)  # (already the subclass; it owns the copy)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        grown = FaissHNSW.__new__(FaissHNSW)
        grown._adopt(index, self._options)
        return grown

    def _search(self, vector, k, allowed):
        def params(sel=None):
            return faiss.SearchParametersHNSW(efSearch=max(self.search_depth, k), sel=sel)

        return _faiss_search(self._index, vector, k, allowed, params)


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

    def _search(self, vector, k, allowed):
        def params(sel=None):
            return faiss.SearchParametersIVF(nprobe=self.search_depth, sel=sel)

        return _faiss_search(self._index, vector, k, allowed, params)


def vector_index(vectors: np.ndarray, options: VectorOptions = VectorOptions()) -> VectorIndex:
    """The index for `vectors`: exact below `options.exact_search_below` of them, the approximate
    index `options.approximate_index` above."""
    if len(vectors) < options.exact_search_below:
        return FaissExact(vectors)
    if options.approximate_index == "ivf":
        return FaissIVF(vectors, options)
    return FaissHNSW(vectors, options)


def _stored(flat) -> np.ndarray:
    """The vectors a FAISS flat storage holds, as an array over its memory: FAISS copies what
    it is given, and keeping our copy too would double the memory. Valid while `flat` lives."""
    return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)


def _faiss_search(index, vector, k, allowed, params) -> list[tuple[int, float]]:
    if k <= 0:
        return []
    chosen = params(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else params()
    scores, positions = index.search(vector.reshape(1, -1).astype(np.float32), k, params=chosen)
    return [(int(p), float(s)) for p, s in zip(positions[0], scores[0]) if p >= 0]


def _exact(vectors: np.ndarray, vector: np.ndarray, k: int, positions: np.ndarray) -> list[tuple[int, float]]:
    scores = vectors @ vector.astype(np.float32)
    best = np.argsort(-scores)[:k]
    return [(int(positions[i]), float(scores[i])) for i in best]
