"""The lower-priority process that embeds a server's writes: the same vectors as the model in
process, a lower priority, and a clear error (nothing half-done) when it dies."""

import os
import signal
from multiprocessing import get_context

import numpy as np
import pytest

from qa.embedding import process as process_module
from qa.embedding.process import NICENESS, READY, EmbeddingProcess, _embed_until_closed
from qa.errors import WorkStoppedError

TEXTS = ["Kementerian Perindustrian meresmikan pabrik baterai di Batang.",
         "Nilai investasi mencapai Rp 18 triliun.",
         "Sentra IKM di Kudus menyerap 4.321 tenaga kerja pada 2025, naik dari tahun sebelumnya."] * 5


@pytest.fixture(scope="module")
def process(engine):
    embedding = EmbeddingProcess(engine.settings.model_copy(update={"batch_size": 4}), engine.embedder.dimension)
    yield embedding
    embedding.close()


def test_it_gives_the_vectors_of_the_model_in_process_in_batches(process, engine):
    steps = []
    vectors = process.embed_passages(TEXTS, steps.append)
    expected = engine.embedder.embed_passages(TEXTS)
    assert vectors.shape == expected.shape
    assert np.min(np.sum(vectors * expected, axis=1)) > 0.999  # unit vectors: cosine
    assert steps == [4, 4, 4, 3]
    assert process.embed_passages([]).shape == (0, engine.embedder.dimension)


def test_it_runs_at_a_lower_priority(process):
    process.embed_passages(TEXTS[:1])
    assert os.getpriority(os.PRIO_PROCESS, process.pid) == os.getpriority(os.PRIO_PROCESS, 0) + NICENESS


def test_a_process_killed_during_a_write_fails_it_clearly_and_the_next_write_starts_another(process):
    process.embed_passages(TEXTS[:1])
    first = process.pid

    batches = []

    def kill_after_two_batches(n):
        batches.append(n)
        if len(batches) == 2:
            os.kill(first, signal.SIGKILL)

    with pytest.raises(WorkStoppedError, match="stopped .*exit code -9.*nothing was stored"):
        process.embed_passages(TEXTS * 10, kill_after_two_batches)
    assert process.embed_passages(TEXTS[:2]).shape[0] == 2
    assert process.pid != first


def test_one_started_before_a_write_serves_it(engine):
    embedding = EmbeddingProcess(engine.settings, engine.embedder.dimension)
    try:
        embedding.start()
        started = embedding.pid
        embedding.start()  # running already: the same one
        assert embedding.pid == started
        assert embedding.embed_passages(TEXTS[:2]).shape == (2, engine.embedder.dimension)
        assert embedding.pid == started
    finally:
        embedding.close()


def test_a_start_that_stops_waiting_leaves_the_first_write_to_wait(engine, monkeypatch):
    """A server's start waits for the model a bounded time; a write after that still gets its
    vectors from the same process, once the model is loaded."""
    monkeypatch.setattr(process_module, "LOAD_WAIT_S", 0.01)
    embedding = EmbeddingProcess(engine.settings, engine.embedder.dimension)
    try:
        embedding.start()  # back before the model is loaded
        started = embedding.pid
        vectors = embedding.embed_passages(TEXTS[:2])
        assert np.min(np.sum(vectors * engine.embedder.embed_passages(TEXTS[:2]), axis=1)) > 0.999
        assert embedding.pid == started
    finally:
        embedding.close()


def test_a_stop_between_batches_leaves_the_process_ready(process):
    def stop(n):  # what a write's StopWork does when its client has gone
        raise WorkStoppedError("the client disconnected; nothing was stored")

    with pytest.raises(WorkStoppedError, match="disconnected"):
        process.embed_passages(TEXTS, stop)
    assert process.embed_passages(TEXTS[:3]).shape[0] == 3


def test_a_parent_gone_before_the_vectors_lets_the_process_end_quietly(engine):
    """A server stopping mid-write closes its end of the pipe while the child still embeds:
    the child ends (exit code 0), no traceback about a broken pipe."""
    context = get_context("spawn")
    parent, child = context.Pipe()
    worker = context.Process(target=_embed_until_closed, args=(engine.settings, child))
    worker.start()
    child.close()
    assert parent.recv() == READY  # its model loaded
    parent.send(TEXTS)
    parent.close()  # gone before the answer
    worker.join(timeout=120)
    assert worker.exitcode == 0
