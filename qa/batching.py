"""Work that arrives one item at a time from many threads, run in batches: a model call on
eight questions costs little more than on one, so a busy server answers several times as many."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

Item, Output = TypeVar("Item"), TypeVar("Output")


class Batcher(Generic[Item, Output]):
    """Runs `run` in one worker thread on whatever items are waiting, up to `max_batch`;
    `run` returns one output per item, in order."""

    def __init__(self, run: Callable[[list[Item]], Sequence[Output]], max_batch: int, name: str):
        self._run_batch, self._max_batch, self._name = run, max_batch, name
        self._waiting: queue.SimpleQueue[tuple[Item, Future]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, item: Item) -> Future:
        """A future of `item`'s output."""
        with self._start_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._worker.start()
        result: Future = Future()
        self._waiting.put((item, result))
        return result

    def _run(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                outputs = self._run_batch([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
                for _, result in batch:
                    result.set_exception(exc)
                continue
            for (_, result), output in zip(batch, outputs):
                result.set_result(output)
