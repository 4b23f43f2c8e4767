"""Passages and questions to vectors, with the prefixes the chosen model expects.

`load_embedder(settings)` picks the backend named by `QA_EMBEDDING_BACKEND`:

- ``openvino`` (default, `qa.embedding.openvino_backend`): the model exported to OpenVINO once
  and run in the number format, streams and threads measured fastest on this CPU among those
  within cosine 0.999 of fp32 (`qa.runtime_choice`; `benchmarks/embedding.py` compares them);
- ``torch`` (`qa.embedding.torch_backend`): sentence-transformers as it comes, the fp32 reference.

Both run any sentence-transformers model (`QA_MODEL`); `QA_EMBEDDING_PRECISION` forces a format.
Passages can also be embedded elsewhere: in a lower-priority process (`qa.embedding.process`,
what a server's writes use) or on a Ray cluster (`qa.embedding.ray_pool`, `qa index --ray`).
The backends import `base`, and only this module imports them: no import circle.
"""

from __future__ import annotations

from qa.config import Settings
from qa.embedding.base import Embedder, model_source

__all__ = ["Embedder", "load_embedder", "model_source"]


def load_embedder(settings: Settings, measure_again: bool = False) -> Embedder:
    """The embedder of the backend `settings.embedding_backend`; `measure_again`: OpenVINO
    chooses its runtime anew instead of taking the choice recorded for this CPU."""
    if settings.embedding_backend == "openvino":
        from qa.embedding.openvino_backend import OpenVINOEmbedder

        return OpenVINOEmbedder(settings, measure_again)
    from qa.embedding.torch_backend import TorchEmbedder

    return TorchEmbedder(settings)
