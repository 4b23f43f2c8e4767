"""One queue of reads for all the workers of `qa serve`.

A worker's HTTP connections are its own: a client's kept-alive connection, and every read sent
on it, stay with the worker that accepted it. Queued where they arrive, reads would wait behind
a busy worker while another worker is idle; at 80% load, two such queues have about twice the
p99 of one queue served by both (benchmarks/load.py). So, with several workers, the worker
that receives a read hands it on through a Unix socket that every worker listens on, and
whichever worker has a turn free takes it: each worker runs one taker per turn, and a taker
accepts the next read only once it has answered the last. The kernel keeps the socket's backlog
in arrival order, so the workers share one first-come-first-served queue.

A read travels as the plain parts of its ASGI scope, its body and its deadline; the answer
comes back as the ASGI messages the taking worker's app sends, after `STARTED`, which says its
turn has begun. A shared table (a small memory-mapped file, one row per worker, each written
only by its own worker) holds how many reads each worker has handed on that wait, and how many
it is answering: the admission's limits apply to their sums.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import pickle
import socket
import struct
import time
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

STARTED: Message = {"type": "qa.read.started"}  # the taker's turn has begun
SCOPE_KEYS = ("type", "asgi", "http_version", "method", "scheme", "path", "raw_path", "query_string",
              "root_path", "headers", "client", "server")
_LENGTH = struct.Struct("!I")
_ROW = struct.Struct("ii")  # reads handed on and waiting, reads being answered
BACKLOG = 4096  # the admission refuses reads long before the kernel's backlog fills


class QueueLost(ConnectionError):
    """The worker answering a handed-on read stopped before its answer was complete."""


def make_socket(path: Path) -> socket.socket:
    """The listening socket that the workers share (made by `qa serve` before they start)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(BACKLOG)
    return listener


def make_table(path: Path, workers: int) -> None:
    """The shared table of the workers' waiting and answered reads, all zero."""
    path.write_bytes(bytes(_ROW.size * workers))


Taker = Callable[[Scope, Receive, Send, float], Awaitable[None]]


class ReadQueue:
    """This worker's end of the shared queue: hands reads on, and takes them when it has a turn."""

    def __init__(self, listener: socket.socket, table: Path, slot: int, workers: int):
        self.listener, self.slot, self.workers = listener, slot, workers
        self.path = listener.getsockname()
        with open(table, "r+b") as file:
            self._table = mmap.mmap(file.fileno(), _ROW.size * workers)
        self._row = [0, 0]
        self.take: Taker | None = None  # set by `attach`
        self.turns = 0
        self._takers: list[asyncio.Task] = []
        self._answering: set[asyncio.Task] = set()
        self._stopping = False

    def attach(self, take: Taker, turns: int) -> None:
        """The worker's admission: `take` answers a read taken from the queue, within its
        deadline; `turns` reads at a time."""
        self.take, self.turns = take, turns

    # -- the shared table

    def _count(self, column: int, change: int) -> None:
        self._row[column] += change
        _ROW.pack_into(self._table, _ROW.size * self.slot, *self._row)

    def _total(self, column: int) -> int:
        return sum(_ROW.unpack_from(self._table, _ROW.size * slot)[column] for slot in range(self.workers))

    def waiting(self) -> int:
        """Reads handed on by any worker and not yet taken."""
        return self._total(0)

    def all_turns_taken(self) -> bool:
        return self._total(1) >= self.turns * self.workers

    # -- handing a read on

    async def hand_on(self, scope: Scope, body: bytes, deadline: float) -> AsyncIterator[Message]:
        """The messages of the read's answer, from whichever worker takes it, `STARTED` first.
        Raises TimeoutError when no worker has taken it by `deadline` (time.monotonic()),
        QueueLost when the worker that took it stops."""
        writer = None
        try:
            self._count(0, 1)
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
                plain = {key: scope[key] for key in SCOPE_KEYS if key in scope}
                _write_frame(writer, (plain, body, deadline))
                await writer.drain()
                async with asyncio.timeout(deadline - time.monotonic()):
                    first = await _read_frame(reader)
            finally:
                self._count(0, -1)
            yield first
            while True:
                message = await _read_frame(reader)
                yield message
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, FileNotFoundError) as error:  # (not TimeoutError)
            raise QueueLost(str(error)) from error
        finally:
            if writer is not None:
                writer.close()

    # -- taking reads

    def start(self, app: ASGIApp) -> None:
        """Run `turns` takers in this worker's event loop (`app`: the whole app, which a
        request's scope names)."""
        self.listener.setblocking(False)
        self._takers = [asyncio.create_task(self._taker(app)) for _ in range(self.turns)]

    async def stop(self, timeout: float) -> None:
        """Take no more reads; let those being answered finish within `timeout` seconds."""
        self._stopping = True
        for taker in self._takers:
            if taker not in self._answering:
                taker.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*self._takers, return_exceptions=True)
        for taker in self._takers:
            taker.cancel()
        await asyncio.gather(*self._takers, return_exceptions=True)  # (their counts, before the table goes)
        self._table.close()

    async def _taker(self, app: ASGIApp) -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        while not self._stopping:
            connection, _ = await loop.sock_accept(self.listener)
            self._answering.add(me)
            try:
                reader, writer = await asyncio.open_unix_connection(sock=connection)
                await self._answer(app, reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass  # the worker that handed it on has gone: nobody to answer
            except Exception:
                log.exception("a handed-on read failed")
            finally:
                self._answering.discard(me)
                connection.close()

    async def _answer(self, app: ASGIApp, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        plain, body, deadline = await _read_frame(reader)
        scope = {**plain, "app": app, "state": {}}
        answered = asyncio.Event()

        async def receive() -> Message:
            nonlocal body
            if body is not None:
                message, body = {"type": "http.request", "body": body, "more_body": False}, None
                return message
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            _write_frame(writer, message)
            await writer.drain()

        self._count(1, 1)
        try:
            await self.take(scope, receive, send, deadline)
        finally:
            self._count(1, -1)
            answered.set()
            writer.close()


async def read_body(receive: Receive) -> bytes:
    """A request's whole body (reads are small: a question; BodyCheck bounds the rest)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _write_frame(writer: asyncio.StreamWriter, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)  # between this server's own processes only
    writer.write(_LENGTH.pack(len(data)) + data)


async def _read_frame(reader: asyncio.StreamReader):
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return pickle.loads(await reader.readexactly(length))
