"""Nearest-neighbour search over passage vectors, behind one small interface.

A `VectorIndex` holds the vectors of a snapshot's passages by position (0..n-1) and finds the
nearest ones to a question by inner product (cosine: vectors are unit length). The FAISS
backend picks the index type by size:

- exact (`IndexFlatIP`) below `exact_below` vectors: every passage compared, no recall loss,
  and at that size still a few milliseconds;
- HNSW (`IndexHNSWFlat`, M links per node, efSearch candidates per search) above it: search
  cost grows with log n; `benchmarks/scaling.py` prints its recall@10 against exact search
  (on its synthetic vectors the defaults do not yet reach 0.98: docs/scaling.md).

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


@dataclass(frozen=True)
class VectorOptions:
    """How vector indexes are made; `Settings` carries the same fields."""

    exact_below: int = 200_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 96

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorOptions:
        return cls(
            exact_below=settings.exact_search_below, hnsw_m=settings.hnsw_m,
            hnsw_ef_construction=settings.hnsw_ef_construction, hnsw_ef_search=settings.hnsw_ef_search,
        )


class VectorIndex:
    """Vectors by position; read-only once built, so snapshots can share it between threads."""

    kind: str

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
            return _exact(self._vectors[allowed], vector, k, allowed)
        return self._search(vector, min(k, len(self)), allowed)

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
        super().__init__(vectors)
        self.kind = f"hnsw M={options.hnsw_m} efSearch={options.hnsw_ef_search}"
        self._ef_search = options.hnsw_ef_search
        self._index = faiss.IndexHNSWFlat(self._vectors.shape[1], options.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efConstruction = options.hnsw_ef_construction
        self._index.add(self._vectors)
        self._vectors = _stored(faiss.downcast_index(self._index.storage))

    def _search(self, vector, k, allowed):
        def params(sel=None):
            return faiss.SearchParametersHNSW(efSearch=max(self._ef_search, k), sel=sel)

        return _faiss_search(self._index, vector, k, allowed, params)


def vector_index(vectors: np.ndarray, options: VectorOptions = VectorOptions()) -> VectorIndex:
    """The index for `vectors`: exact below `options.exact_below` of them, HNSW above."""
    if len(vectors) < options.exact_below:
        return FaissExact(vectors)
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
