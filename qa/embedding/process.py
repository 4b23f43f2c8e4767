"""Passages embedded in a process of their own at a lower CPU priority: what a server's writes
use. Embedding an article keeps every core busy for seconds, and its Python work holds the GIL;
done in the process that answers questions, every question asked meanwhile waits behind it.
In a child process at `nice` +5, the questions come first and the write takes the cores they
leave.

A server that takes writes starts the child as it starts (`start`, which waits until its model
is loaded), not at the first write, which waited for it (1.4 s on an idle 2-core machine,
6.6–6.9 s on a busy one, competing with the questions). The child lives as long as its parent.
The parent sends it the passages a batch at a time, so a write can still stop between batches
(its client gone, its time up) with nothing stored; a child that dies (killed, out of memory)
fails the write under way with a clear error, nothing stored, and the next write starts a new
one.
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
READY = "ready"  # the child's first message: its model is loaded
LOAD_WAIT_S = 120  # a server's start waits at most this long for it (then its first write does)


class EmbeddingProcess(PassageEmbedder):
    """`embed_passages` as an Embedder's, run in a lower-priority child process."""

    def __init__(self, settings: Settings, dimension: int):
        self.settings, self.dimension = settings, dimension
        self._lock = threading.Lock()  # one write's passages at a time
        self._process = self._connection = None
        self._loading = False  # started, its READY not received yet

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
            self._forget()

    def start(self) -> None:
        """Start the child now, if it is not running, and wait until it has loaded its model."""
        with self._lock:
            try:
                self._start_if_stopped(wait=LOAD_WAIT_S)
            except WorkStoppedError as exc:  # the next write starts another
                log.warning("%s", exc)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _ask(self, texts: list[str]) -> np.ndarray:
        self._start_if_stopped()
        try:
            self._connection.send(texts)
            kind, value = self._connection.recv()
        except (EOFError, OSError):
            raise self._stopped() from None
        if kind == "failed":
            raise ModelError(value)
        return value

    def _start_if_stopped(self, wait: float | None = None) -> None:
        """Start the child if it is not running, and wait (at most `wait` seconds; None: as
        long as it takes) until it has loaded its model."""
        if self._process is None or not self._process.is_alive():
            context = get_context("spawn")  # a fresh interpreter: no copy of the parent's threads or locks
            self._connection, child_end = context.Pipe()
            self._process = context.Process(target=_embed_until_closed, args=(self.settings, child_end),
                                            name="qa-embedding", daemon=True)
            self._process.start()
            child_end.close()
            self._loading = True
        if not self._loading:
            return
        try:  # its READY (if its model failed to load, the first write tries again and answers the error)
            if not self._connection.poll(wait):
                log.warning("the embedding process is still loading its model after %g s", wait)
                return
            self._connection.recv()
        except (EOFError, OSError):
            raise self._stopped() from None
        self._loading = False
        log.info("embedding process started (pid %d, nice +%d)", self._process.pid, NICENESS)

    def _forget(self) -> None:
        """No child: the next write (or `start`) starts another."""
        self._process = self._connection = None
        self._loading = False

    def _stopped(self) -> WorkStoppedError:
        """The error of a child that stopped, forgotten so that the next write starts another."""
        self._process.join(timeout=1)
        code = self._process.exitcode
        self._forget()
        log.warning("the embedding process stopped (exit code %s)", code)
        return WorkStoppedError(f"the process that embeds new articles stopped (exit code {code}); nothing "
                                "was stored: send the articles again")


def _embed_until_closed(settings: Settings, connection) -> None:
    """The child: embed each list of texts it is sent, until its parent closes the pipe."""
    from qa.embedding import load_embedder
    from qa.workers import unpin

    os.nice(NICENESS)
    unpin()  # a server worker keeps to its share of the cores; its writes may use them all
    embedder = None
    try:  # now, not at the first write
        embedder = load_embedder(settings)
        embedder.embed_passages(["warm"])  # the first run readies the passage model (a third of a second)
    except Exception:  # the first write tries again and fails with the error
        log.exception("the embedding process could not load the model")
    try:
        connection.send(READY)
    except OSError:  # the parent is gone already
        return
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
