"""Conformance tests every vector backend passes (a new backend adds itself to BACKENDS)."""

import io
from dataclasses import replace

import numpy as np
import pytest

import qa.vectors
from qa.vectors import (
    AUTO_EF_SEARCH, FaissExact, FaissHNSW, FaissIVF, Layered, VectorOptions, read_vector_index, vector_index,
)

BACKENDS = {
    "faiss exact": FaissExact,
    "faiss hnsw": lambda vectors: FaissHNSW(vectors, VectorOptions()),
    "faiss ivf": lambda vectors: FaissIVF(vectors, VectorOptions()),
    # a graph and the vectors written after it (a fifth here), as a snapshot holds them after writes
    "faiss hnsw + recent": lambda vectors: FaissHNSW(vectors[: len(vectors) * 4 // 5], VectorOptions()).extended(
        vectors[len(vectors) * 4 // 5 :]),
}


def clustered(n: int, dim: int = 48, seed: int = 0) -> np.ndarray:
    """Unit vectors in topical clusters, like passage embeddings (uniform noise is not)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n // 50, 1), dim))
    vectors = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def exact_top(vectors, query, k, allowed=None):
    positions = np.arange(len(vectors)) if allowed is None else allowed
    scores = vectors[positions] @ query
    return [int(positions[i]) for i in np.argsort(-scores)[:k]]


@pytest.fixture(params=list(BACKENDS), scope="module")
def backend(request):
    return BACKENDS[request.param]


@pytest.fixture(scope="module")
def data():
    return clustered(5000), clustered(50, seed=1)


def test_finds_the_nearest_vectors_with_their_cosines(backend, data):
    vectors, queries = data
    index = backend(vectors)
    assert len(index) == len(vectors)
    recall = []
    for query in queries:
        found = index.search(query, 10)
        positions = [p for p, _ in found]
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
        assert np.allclose([s for _, s in found], vectors[positions] @ query, atol=1e-5)
        recall.append(len(set(positions) & set(exact_top(vectors, query, 10))) / 10)
    assert np.mean(recall) >= 0.98


def test_a_filter_keeps_only_allowed_positions(backend, data):
    vectors, queries = data
    index = backend(vectors)
    allowed = np.arange(3, len(vectors), 97)
    found = [p for p, _ in index.search(queries[0], 5, allowed)]
    assert found == exact_top(vectors, queries[0], 5, allowed)
    assert index.search(queries[0], 5, np.array([], dtype=np.int64)) == []


def test_hidden_positions_are_never_returned(backend, data):
    vectors, queries = data
    index = backend(vectors)
    hidden = np.unique(np.concatenate([  # a tenth of the passages, among them each question's nearest
        np.random.default_rng(2).choice(len(vectors), len(vectors) // 10, replace=False),
        [exact_top(vectors, q, 1)[0] for q in queries]]))
    visible = np.setdiff1d(np.arange(len(vectors)), hidden)
    recall = []
    for query in queries:
        found = [p for p, _ in index.search(query, 10, hidden=hidden)]
        assert len(found) == 10 and not set(found) & set(hidden.tolist())
        recall.append(len(set(found) & set(exact_top(vectors, query, 10, visible))) / 10)
    assert np.mean(recall) >= 0.98
    assert len(index.search(queries[0], len(vectors), hidden=hidden)) <= len(visible)


def test_stored_vectors_come_back(backend, data):
    vectors, _ = data
    index = backend(vectors)
    assert np.array_equal(index.vectors(np.array([0, 42])), vectors[[0, 42]])
    assert np.array_equal(index.vectors(), vectors)


def test_k_larger_than_the_index_and_an_empty_index(backend):
    few = clustered(3)
    assert sorted(p for p, _ in backend(few).search(few[0], 10)) == [0, 1, 2]
    empty = backend(np.zeros((0, 48), np.float32))
    assert empty.search(few[0], 5) == [] and empty.vectors().shape == (0, 48)


def test_the_index_type_follows_corpus_size():
    vectors = clustered(300)
    assert vector_index(vectors, VectorOptions(exact_search_below=301)).kind == "exact"
    assert vector_index(vectors, VectorOptions(exact_search_below=300)).kind.startswith("hnsw")
    assert vector_index(vectors, VectorOptions(exact_search_below=300, approximate_index="ivf")).kind.startswith("ivf")


def test_hnsw_search_depth_follows_size_unless_set():
    vectors = clustered(300)
    assert FaissHNSW(vectors, VectorOptions()).search_depth == AUTO_EF_SEARCH[0][1]
    assert FaissHNSW(vectors, VectorOptions(hnsw_ef_search=40)).search_depth == 40


@pytest.mark.parametrize("recent_at_most", [5000, 300])
def test_a_graph_extended_with_new_vectors_finds_them_and_leaves_the_original_alone(data, monkeypatch,
                                                                                    recent_at_most):
    monkeypatch.setattr(qa.vectors, "MAX_RECENT", recent_at_most)
    vectors, queries = data
    original = FaissHNSW(vectors[:4000], VectorOptions())
    grown = original.extended(vectors[4000:4500]).extended(vectors[4500:])
    # beside the graph while few, inserted into a copy of it past MAX_RECENT
    assert isinstance(grown, Layered if recent_at_most == 5000 else FaissHNSW)
    assert (len(original), len(grown)) == (4000, len(vectors)) and grown.kind == original.kind
    assert np.array_equal(grown.vectors(), vectors)
    assert np.array_equal(grown.vectors(np.array([4999, 3, 4000])), vectors[[4999, 3, 4000]])
    recall = [len({p for p, _ in grown.search(q, 10)} & set(exact_top(vectors, q, 10))) / 10 for q in queries]
    assert np.mean(recall) >= 0.98
    assert all(p < 4000 for q in queries for p, _ in original.search(q, 10))
    assert FaissExact(vectors).extended(vectors[:1]) is None  # a copy either way: rebuilt by the caller


def test_a_saved_graph_reads_back_and_other_settings_refuse_it(data):
    vectors, queries = data
    options = VectorOptions(exact_search_below=len(vectors))
    graph = FaissHNSW(vectors, options)
    assert graph.worth_saving and not FaissExact(vectors).worth_saving
    file = io.BytesIO()
    graph.save(file)
    file.seek(0)
    again = read_vector_index(file, options)
    assert again.kind == graph.kind and np.array_equal(again.vectors(), vectors)
    assert [again.search(q, 10) for q in queries] == [graph.search(q, 10) for q in queries]
    for other in (replace(options, hnsw_m=16), replace(options, hnsw_ef_construction=40),
                  replace(options, approximate_index="ivf"), replace(options, exact_search_below=len(vectors) + 1)):
        file.seek(0)
        with pytest.raises(ValueError, match="other settings"):
            read_vector_index(file, other)
    with pytest.raises(ValueError, match="unreadable"):
        read_vector_index(io.BytesIO(file.getvalue()[: len(file.getvalue()) // 2]), options)
