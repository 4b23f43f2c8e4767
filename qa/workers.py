"""`qa serve` on every core: several worker processes over one index directory.

Each worker is a whole server (uvicorn's own worker processes, sharing one listening socket)
with its own Engine over the same index; a write made through any of them is committed to the
index (the local store, or a Milvus server) and every other worker sees it at its next request,
as any process does. Against one process with a thread per core, separate processes keep one
request's Python work (tokenizing, ranking, shaping results: it holds the GIL) from holding
up the others.

Start-up, in order:
1. one short-lived process prepares what the workers share: the index (built from the corpus
   folder if there is none) and the models' exports and runtime choices, so N workers do not
   do it N times at once;
2. the workers start. Each takes a numbered slot (a file lock: a worker that dies and is
   replaced frees its slot for its replacement) and, with `pin_workers`, keeps to its share of
   the cores, so that the runtime choice (`qa.runtime_choice`) measures threads for the cores
   it really has rather than every worker running as many threads as the machine has cores.

Reads (questions, listings) go through one queue that all workers share (`qa.read_queue`): a
read waits for the first free turn of any worker, not of the worker whose connection it came on.

Prometheus counts of all workers are summed at each scrape (prometheus-client's multiprocess
mode, through files in a private runtime folder). `qa serve` removes that folder when it
stops, and at its start those of servers that were killed before they could.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from qa.backends.milvus import embedded
from qa.config import Settings
from qa.errors import InvalidInputError
from qa.observability import MULTIPROCESS_VARIABLE
from qa.read_queue import ReadQueue, make_socket, make_table
from qa.runtime_choice import usable_cores

RUNTIME_VARIABLE = "QA_SERVE_RUNTIME"  # the runtime folder of the `qa serve` that started a worker
CORES_VARIABLE = "QA_SERVE_CORES"  # the cores a worker had before it kept to its share
SETTINGS_FILE = "settings.json"
RUNTIME_PREFIX = "qa-serve-"  # a `qa serve`'s private runtime folder, in the temporary directory
OWNER_LOCK = "owner.lock"  # held by the `qa serve` whose runtime folder holds it, for its life
STALE_AFTER_S = 60  # a younger runtime folder may be one whose server has not locked it yet
SLOTS = "slots"
# A worker with the default models, after a run of questions, holds about 1.75 GB (three
# compiled question models and the reader), its embedding process for writes about 0.7 GB
# (benchmarks/load.py prints both).
WORKER_MEMORY = 5 << 29  # 2.5 GiB
READ_QUEUE, READ_TABLE = "reads.sock", "reads.table"  # the workers' shared read queue (qa.read_queue)
_slot_handle = None  # the open lock file of this worker's slot, held for the process's life
_read_queue_socket: socket.socket | None = None  # in a worker: the shared read queue's listening socket


def worker_count(settings: Settings) -> int:
    """The `workers` setting; by default one per core, as many as the free memory holds. Milvus
    Lite runs inside the process that opens its file, and only one may: one worker."""
    if embedded(settings):
        if settings.workers > 1:
            raise InvalidInputError("Milvus Lite (QA_MILVUS_URI a file) serves one process: use --workers 1, or a "
                                    "Milvus server (QA_MILVUS_URI=http://…) for more workers")
        return 1
    if settings.workers:
        return settings.workers
    return max(1, min(usable_cores(), _available_memory() // WORKER_MEMORY))


def _available_memory() -> int:
    """Bytes of memory free for new processes (Linux's MemAvailable); unknown: no limit."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 62


def core_share(slot: int, workers: int, cores: list[int]) -> list[int]:
    """The cores of worker `slot` of `workers`: every workers-th core from its own, so shares
    differ by one core at most; past one worker per core, workers share cores by turns."""
    return cores[slot::workers] or [cores[slot % len(cores)]]


def serve(settings: Settings) -> None:
    """Run the server with `worker_count(settings)` worker processes (blocks until stopped)."""
    workers = worker_count(settings)
    settings = settings.model_copy(update={"workers": workers})  # as counted now, not by each worker later
    remove_stale_runtimes()
    runtime = Path(tempfile.mkdtemp(prefix=RUNTIME_PREFIX))
    owner = _hold(runtime / OWNER_LOCK)
    try:
        settings_file = runtime / SETTINGS_FILE
        settings_file.touch(mode=0o600)  # it holds the API key
        settings_file.write_text(json.dumps(_settings_values(settings)))
        (runtime / SLOTS).mkdir()
        (runtime / "metrics").mkdir()
        os.environ[RUNTIME_VARIABLE] = str(runtime)
        os.environ[MULTIPROCESS_VARIABLE] = str(runtime / "metrics")
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            pool.submit(prepare, settings, workers).result()  # a QAError comes back as itself
        config = TcpConfig("qa.workers:worker_app", factory=True, workers=workers, **uvicorn_options(settings))
        if workers > 1:
            make_table(runtime / READ_TABLE, workers)
            config.read_queue = make_socket(runtime / READ_QUEUE)  # (it travels to each worker with the config)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
        owner.close()


def remove_stale_runtimes(parent: Path | None = None) -> list[Path]:
    """Remove the runtime folders of `qa serve`s that died without removing their own (killed
    with SIGKILL, or by the OOM killer): those whose owner lock and worker slots no process
    holds (workers that outlive their server still use it). A folder without an owner lock (of
    an older release) is left alone."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{RUNTIME_PREFIX}*"):
        try:
            made = folder.stat()
        except OSError:
            continue
        if (made.st_uid != os.getuid() or time.time() - made.st_mtime < STALE_AFTER_S
                or not (folder / OWNER_LOCK).is_file()):
            continue
        locks = []
        try:
            for path in (folder / OWNER_LOCK, *(folder / SLOTS).glob("*.lock")):
                locks.append(_hold(path))
        except OSError:  # held: its server or a worker of it is running; or gone meanwhile
            continue
        else:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            for lock in locks:
                lock.close()
    return removed


def _hold(path: Path):
    """`path` opened and locked for as long as the handle stays open (BlockingIOError if
    another process holds it: the kernel frees a dead process's locks)."""
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise
    return handle


class TcpConfig(uvicorn.Config):
    """uvicorn's Config, binding the socket its workers share as a TCP socket, and carrying
    the listening socket of the workers' shared read queue to each worker."""

    read_queue: socket.socket | None = None

    def load(self) -> None:
        global _read_queue_socket  # (called in the worker, before it makes its app)
        _read_queue_socket = self.read_queue
        super().load()

    def bind_socket(self) -> socket.socket:
        # uvicorn binds the socket it hands its workers with protocol 0, so asyncio never sets
        # TCP_NODELAY on the connections they accept, and every answer on a kept-alive
        # connection waits ~40 ms for the client's delayed ACK (uvicorn issue #3149).
        bound = super().bind_socket()
        return socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())


def uvicorn_options(settings: Settings) -> dict:
    return dict(host=settings.host, port=settings.port, timeout_graceful_shutdown=settings.shutdown_timeout,
                access_log=False)  # the app writes its own (with request ids; questions optional)


def _settings_values(settings: Settings) -> dict:
    values = settings.model_dump(mode="json")
    if settings.api_key is not None:
        values["api_key"] = settings.api_key.get_secret_value()  # (dumped as stars otherwise)
    return values


def prepare(settings: Settings, workers: int) -> None:
    """Load (or build) the index and load the models once, on the first worker's share of the
    cores: exports and runtime choices are then on disk for every worker to read."""
    from qa.engine import Engine

    _keep_to_share(settings, 0, workers)
    Engine(settings).load()


def unpin() -> None:
    """Undo `pin_workers` in a child of a worker (its embedding process for writes)."""
    cores = os.environ.get(CORES_VARIABLE)
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, [int(c) for c in cores.split(",")])


def worker_app():
    """The app of one worker (uvicorn calls this in each worker process)."""
    from qa.api import create_app

    runtime = Path(os.environ[RUNTIME_VARIABLE])
    settings = Settings(**json.loads((runtime / SETTINGS_FILE).read_text()))
    workers = worker_count(settings)
    slot = take_slot(runtime / SLOTS, workers)
    share = _keep_to_share(settings, slot, workers)
    if share:  # (in uvicorn's log: the one a worker process has set up)
        logging.getLogger("uvicorn.error").info("worker %d (process %d) on core(s) %s", slot, os.getpid(),
                                                ",".join(map(str, share)))
    queue = None
    if _read_queue_socket is not None:
        queue = ReadQueue(_read_queue_socket, runtime / READ_TABLE, slot, workers)
    return create_app(settings=settings, read_queue=queue)


def _keep_to_share(settings: Settings, slot: int, workers: int) -> list[int] | None:
    """With `pin_workers`, keep this process to the cores of worker `slot` (remembering all of
    them for `unpin()`); returns that share, or None where nothing was pinned."""
    if not (settings.pin_workers and hasattr(os, "sched_setaffinity")):
        return None
    cores = sorted(os.sched_getaffinity(0))
    os.environ[CORES_VARIABLE] = ",".join(map(str, cores))
    share = core_share(slot, workers, cores)
    os.sched_setaffinity(0, share)
    return share


def take_slot(folder: Path, workers: int) -> int:
    """The first free slot number among `workers` in `folder`; a slot stays taken while its
    process lives (the kernel frees a dead process's lock, so its replacement takes its slot)."""
    global _slot_handle
    for slot in range(workers):
        try:
            _slot_handle = _hold(folder / f"{slot}.lock")
        except BlockingIOError:
            continue
        return slot
    return os.getpid() % workers  # (more workers than slots: uvicorn never starts them)
