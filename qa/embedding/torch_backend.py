"""The sentence-transformers backend: the model run by PyTorch as the library runs it.

In fp32 this is the reference every faster backend is measured against."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from qa.config import Settings
from qa.embedding.base import Embedder, model_source
from qa.errors import ModelError
from qa.model_cache import quiet_model_libraries


class TorchEmbedder(Embedder):
    def __init__(self, settings: Settings):
        quiet_model_libraries()
        import torch
        from sentence_transformers import SentenceTransformer

        self.model_id, source = model_source(settings)
        try:
            self._model = SentenceTransformer(source, device="cpu")
        except Exception as exc:  # the library raises many kinds; all mean "cannot use this model"
            raise ModelError(f"cannot load embedding model {settings.model!r}: {exc}") from exc
        self.precision = "bf16" if settings.embedding_precision == "bf16" else "fp32"
        if self.precision == "bf16":
            self._model.to(torch.bfloat16)
        self.dimension = int(self._model.get_embedding_dimension())
        super().__init__(settings, self._model.prompts or {}, source)

    def describe(self, measurements: bool = False) -> dict:
        return {"backend": "torch", "precision": self.precision,
                "reason": "sentence-transformers as it comes" + (" (forced bf16)" if self.precision == "bf16" else "")}

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32)

    def _encode_batches(self, batches: list[list[str]]) -> Iterator[np.ndarray]:
        return map(self._encode, batches)
