"""Where the index lives, chosen by `QA_BACKEND`:

- ``local`` (default, `qa.backends.local`): one directory on this machine (SQLite, FAISS, BM25);
- ``milvus`` (`qa.backends.milvus`): Milvus, embedded (Milvus Lite, a file path in
  `QA_MILVUS_URI`) or a standalone server or cluster (an ``http://`` URI); `pip install
  'qa-berita[cluster]'`.

Both sit behind one seam, `qa.backends.base.Backend`; nothing above it knows which one runs.
"""

from __future__ import annotations

from qa.backends.base import Backend, Build, CheckReport, Filters, Hit, IndexFacts, Manifest
from qa.config import Settings

__all__ = ["Backend", "Build", "CheckReport", "Filters", "Hit", "IndexFacts", "Manifest", "open_backend"]


def open_backend(settings: Settings) -> Backend:
    """The backend `settings.backend` names, over the index the settings name (nothing is read
    until it is used)."""
    if settings.backend == "milvus":
        from qa.backends.milvus import MilvusBackend

        return MilvusBackend(settings)
    from qa.backends.local import LocalBackend

    return LocalBackend(settings)
