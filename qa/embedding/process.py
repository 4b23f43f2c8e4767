"""Passages embedded in a process of their own at a lower CPU priority: what a server's writes
use. Embedding an article keeps every core busy for seconds, and its Python work holds the GIL;
done in the process that answers questions, every question asked meanwhile waits behind it.
In a child process at `nice` +5, the questions come first and the write takes the cores they
leave.

The child starts at the first write and lives as long as its parent. The parent sends it the
passages a batch at a time, so a write can still stop between batches (its client gone, its
time up) with nothing stored; a child that dies (killed, out of memory) fails the write under
way with a clear error, nothing stored, and the next write starts a new one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from multiprocessing import get_context

import numpy as np

from qa.config import Settings
from qa.embedding.base import PassageEmbedder
from qa.errors import ModelError, WorkStoppedError

log = logging.getLogger(__name__)

# Below the serving processes (0): the scheduler gives them the cores first. At +10 a write got
# a tenth of a busy machine and took 20 s (benchmarks/load.py, 16 clients); +5 gives it about a quarter.
NICENESS = 5


class EmbeddingProcess(PassageEmbedder):
    """`embed_passages` as an Embedder's, run in a lower-priority child process."""

    def __init__(self, settings: Settings, dimension: int):
        self.settings, self.dimension = settings, dimension
        self._lock = threading.Lock()  # one write's passages at a time
        self._process = self._connection = None

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for `texts`, in order; `progress(n)` after each batch of n (where a write
        may stop). Batches are cut from the texts sorted by length, as the embedder's own are."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = self.settings.batch_size
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        with self._lock:
            for start in range(0, len(order), size):
                batch = order[start : start + size]
                vectors[batch] = self._ask([texts[i] for i in batch])
                if progress:
                    progress(len(batch))
        return vectors

    def close(self) -> None:
        if self._process is not None:
            self._connection.close()
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
            self._process = self._connection = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _ask(self, texts: list[str]) -> np.ndarray:
        if self._process is None or not self._process.is_alive():
            self._start()
        try:
            self._connection.send(texts)
            kind, value = self._connection.recv()
        except (EOFError, OSError):
            self._process.join(timeout=1)
            code = self._process.exitcode
            self._process = self._connection = None
            log.warning("the embedding process stopped (exit code %s)", code)
            raise WorkStoppedError(f"the process that embeds new articles stopped (exit code {code}); nothing "
                                   "was stored: send the articles again") from None
        if kind == "failed":
            raise ModelError(value)
        return value

    def _start(self) -> None:
        context = get_context("spawn")  # a fresh interpreter: no copy of the parent's threads or locks
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_embed_until_closed, args=(self.settings, child_end),
                                        name="qa-embedding", daemon=True)
        self._process.start()
        child_end.close()
        log.info("embedding process started (pid %d, nice +%d)", self._process.pid, NICENESS)


def _embed_until_closed(settings: Settings, connection) -> None:
    """The child: embed each list of texts it is sent, until its parent closes the pipe."""
    from qa.embedding import load_embedder
    from qa.workers import unpin

    os.nice(NICENESS)
    unpin()  # a server worker keeps to its share of the cores; its writes may use them all
    embedder = None
    while True:
        try:
            texts = connection.recv()
        except (EOFError, OSError):
            return
        try:
            embedder = embedder or load_embedder(settings)
            vectors = embedder.embed_passages(texts)
        except Exception as exc:  # the parent turns it into the write's error
            log.exception("embedding failed")
            answer = ("failed", f"the model could not embed the articles ({type(exc).__name__}: {exc})")
        else:
            answer = ("vectors", vectors)
        try:
            connection.send(answer)
        except OSError:  # the parent is gone (a server stopping mid-write): nobody is waiting
            return
