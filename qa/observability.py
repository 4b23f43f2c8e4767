"""What a running server shows its operator, and how it sheds load.

- **A request id** on every response (`X-Request-ID`): the client's own, if it sent a sane one,
  or a new one; the access log carries it, so a complaint can be matched to its line.
- **An access log**: one line per request, as text or JSON, with the time, client, method,
  path, status and milliseconds; the question text (`question=`, or its old name `q=`) can be kept out of it.
- **Prometheus metrics** (`/metrics`): requests (writes among them) and errors by route, method
  and status, latency histograms, reads in flight and waiting, rejected reads, and the index's
  generation, articles and passages.
- **Admission**: at most `max_concurrent_requests` reads are answered at once; up to
  `max_waiting_requests` more wait their turn, each to be answered within `queue_timeout`
  seconds. A read that cannot be gets 503 with `Retry-After` at once, instead of every request
  waiting without limit behind the others. /health, /metrics, the page and its files are never held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from urllib.parse import parse_qsl, urlencode

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.read_queue import STARTED, QueueLost, ReadQueue, read_body

access_log = logging.getLogger("qa.access")

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")  # a client's id is echoed only if it is this
# Reads that queue for a turn: the routes that run the model or search the index.
ADMITTED = ("/ask", "/articles", "/facets", "/corpus")
RETRY_AFTER_SECONDS = 1
READ_TIME_WEIGHT = 0.1  # of the latest read in the moving average of read times (about the last 10)
# A read is started only if it would end in time at the recent reads' average time plus this many
# times their average distance from it: about as long as few reads take.
READ_TIME_SPREADS = 3
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client reads it when imported
QUESTION_PARAMETERS = ("question", "q")  # where a question is in a query string (q: the deprecated name)
HIDDEN = "[hidden]"  # stands for a question in the access log when questions are kept out


class Metrics:
    """The server's Prometheus metrics, in a registry of its own (two apps in one process, as
    in tests, do not share counts). `index_facts()` is read at each scrape. Under `qa serve`
    with several workers (prometheus-client's multiprocess folder set), each worker's counts go
    to files there and a scrape, whichever worker answers it, sums them."""

    def __init__(self, index_facts=None):
        self.registry = CollectorRegistry()
        self.shared = MULTIPROCESS_VARIABLE in os.environ
        own = None if self.shared else self.registry  # shared: counted in files, read by the collector
        self.requests = Counter("qa_requests", "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"], registry=own)
        self.latency = Histogram("qa_request_seconds", "Seconds from a request's arrival to its answer, by route.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=own)
        self.in_flight = Gauge("qa_requests_in_flight", "Reads being answered now.", registry=own,
                               multiprocess_mode="livesum")
        self.waiting = Gauge("qa_queue_depth", "Reads waiting for their turn.", registry=own,
                             multiprocess_mode="livesum")
        self.rejected = Counter("qa_rejected", "Reads answered 503 without being run, by reason (queue_full, "
                                "wait_foreseen: too long a wait ahead, waited_too_long).", ["reason"], registry=own)
        if self.shared:
            multiprocess.MultiProcessCollector(self.registry)
        if index_facts is not None:
            self.registry.register(_IndexCollector(index_facts))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def close(self) -> None:
        """At a worker's exit: its gauges leave the sums (its counters stay counted)."""
        if self.shared:
            multiprocess.mark_process_dead(os.getpid())


class _IndexCollector:
    """The index's generation, articles and passages, read when Prometheus scrapes."""

    def __init__(self, facts):
        self._facts = facts

    def collect(self):
        facts = self._facts()
        for name, help_text in (("generation", "Commits the index has had (raised by every write)."),
                                ("articles", "Articles in the index."), ("passages", "Passages in the index.")):
            metric = GaugeMetricFamily(f"qa_index_{name}", help_text)
            metric.add_metric([], facts[name])
            yield metric

    def describe(self):
        return []


class Observed:
    """ASGI middleware: the request id, the access-log line and the request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_format: str, log_questions: bool):
        self.app, self.metrics, self.log_format, self.log_questions = app, metrics, log_format, log_questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex.encode()
        status = 500  # what the client gets if the app fails before it answers

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (REQUEST_ID_HEADER, request_id)]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            if self.log_format != "off":
                self._log(scope, status, seconds, request_id.decode())

    def _log(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        if query and not self.log_questions:
            query = urlencode([(k, HIDDEN if k in QUESTION_PARAMETERS else v) for k, v in parse_qsl(query, keep_blank_values=True)])
        client = (scope.get("client") or ("-",))[0]
        fields = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "request_id": request_id, "client": client, "method": scope["method"], "path": scope["path"],
            "query": query, "status": status, "ms": round(seconds * 1000, 1),
        }
        if self.log_format == "json":
            access_log.info(json.dumps(fields, ensure_ascii=False))
        else:
            target = scope["path"] + (f"?{query}" if query else "")
            access_log.info('%s %s "%s %s" %d %.1f ms id=%s', fields["time"], client, scope["method"], target,
                            status, fields["ms"], request_id)


def _route(scope: Scope) -> str:
    """The route's template ("/articles/{article_id:path}"), not the path a client sent: one
    label per route, however many article ids are asked for."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class Admission:
    """ASGI middleware: reads (ADMITTED routes) take turns, `concurrent` at a time, and each is
    to be answered within `timeout` seconds of its arrival. At most `waiting` wait. A read that
    the reads ahead of it would keep past its time (at the time reads have been taking lately)
    gets 503 with Retry-After at once, rather than after waiting in vain; one whose turn comes
    too late to be answered in time gets it then. With a shared `queue` (several workers), the
    turns and the waiting reads are those of every worker: a read is handed on to whichever
    worker has a turn free (`qa.read_queue`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, concurrent: int, waiting: int, timeout: float,
                 queue: ReadQueue | None = None):
        self.app, self.metrics = app, metrics
        self.concurrent, self.max_waiting, self.timeout = concurrent, waiting, timeout
        self.queue = queue
        if queue is not None:
            queue.attach(self._take, concurrent)
        self._turns: asyncio.Semaphore | None = None  # made in the server's event loop
        self._waiting = 0
        self._read_seconds = 0.0  # a moving average of the time a read holds its turn
        self._read_spread = 0.0  # ... and of how far a read's time is from it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_read(scope):
            return await self.app(scope, receive, send)
        if self.queue is not None:
            return await self._hand_on(scope, receive, send)
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.concurrent)
        if self._turns.locked():
            refusal = self._refusal(self._waiting, self.concurrent)
            if refusal:
                return await busy(scope, receive, send, refusal)
        self._waiting += 1
        self.metrics.waiting.inc()
        try:  # a turn given as time runs out is handed on
            async with asyncio.timeout(max(0.0, self.timeout - self._read_most)):
                await self._turns.acquire()
            admitted = True
        except TimeoutError:
            admitted = False
        finally:
            self._waiting -= 1
            self.metrics.waiting.dec()
        if not admitted:
            return await self._too_late(scope, receive, send)
        try:
            await self._answer(scope, receive, send)
        finally:
            self._turns.release()

    def _refusal(self, waiting: int, turns: int) -> str | None:
        """Why a read that finds every turn taken is refused at once, if it is."""
        if waiting >= self.max_waiting:
            self.metrics.rejected.labels("queue_full").inc()
            return f"the server is busy ({waiting} requests are waiting); retry in {RETRY_AFTER_SECONDS} s"
        answered_in = ((waiting + 1) / turns + 1) * self._read_seconds
        if answered_in > self.timeout:
            self.metrics.rejected.labels("wait_foreseen").inc()
            return (f"the server is busy (an answer is about {answered_in:.1f} s away, over queue_timeout "
                    f"{self.timeout:g} s); retry in {RETRY_AFTER_SECONDS} s")
        return None

    async def _too_late(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.metrics.rejected.labels("waited_too_long").inc()
        await busy(scope, receive, send, f"the server is busy (no turn in time to answer within {self.timeout:g} s, "
                   f"queue_timeout); retry in {RETRY_AFTER_SECONDS} s")

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.metrics.in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.metrics.in_flight.dec()
            took = time.perf_counter() - started
            if self._read_seconds:
                self._read_spread += READ_TIME_WEIGHT * (abs(took - self._read_seconds) - self._read_spread)
            self._read_seconds += (READ_TIME_WEIGHT if self._read_seconds else 1.0) * (took - self._read_seconds)

    @property
    def _read_most(self) -> float:
        """A time that few recent reads took longer than: a read is started only if it would end
        in time at it. (At the average time about half of those started last would end late: at
        64 clients on 2 cores, 1-2% of the answers came after queue_timeout; with it, 0.1%.) At
        most half the timeout: reads slower than that (one after a cold start or a long index
        refresh) would make every read that waits too late, and none answered would bring it back down."""
        return min(self._read_seconds + READ_TIME_SPREADS * self._read_spread, self.timeout / 2)

    async def _hand_on(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Have the read answered by whichever worker takes it first from the shared queue."""
        queue = self.queue
        if queue.all_turns_taken():
            refusal = self._refusal(queue.waiting(), queue.turns * queue.workers)
            if refusal:
                return await busy(scope, receive, send, refusal)
        _name_route(scope)  # for this worker's access log and metrics: the router that matches it runs elsewhere
        body = await read_body(receive)
        deadline = time.monotonic() + self.timeout
        taken = responded = False
        self.metrics.waiting.inc()
        try:
            async with contextlib.aclosing(queue.hand_on(scope, body, deadline)) as answer:
                async for message in answer:
                    if not taken:
                        taken = True
                        self.metrics.waiting.dec()
                        if message["type"] == STARTED["type"]:
                            continue
                    responded = True
                    await send(message)
        except TimeoutError:
            return await self._too_late(scope, receive, send)
        except QueueLost:
            if responded:
                raise
            await busy(scope, receive, send, f"the server could not answer it (a worker stopped); retry in "
                       f"{RETRY_AFTER_SECONDS} s")
        finally:
            if not taken:
                self.metrics.waiting.dec()

    async def _take(self, scope: Scope, receive: Receive, send: Send, deadline: float) -> None:
        """Answer a read taken from the shared queue, unless its turn came too late."""
        now = time.monotonic()
        if now > deadline:
            return  # the worker that handed it on has answered it (503) already
        if now > deadline - self._read_most:  # too late: it could end past its deadline
            return await self._too_late(scope, receive, send)
        await send(STARTED)
        await self._answer(scope, receive, send)


def _name_route(scope: Scope) -> None:
    """Put the app's route that answers the request in its scope, as the app's router would."""
    for route in getattr(getattr(scope.get("app"), "router", None), "routes", ()):
        if route.matches(scope)[0] == Match.FULL:
            scope["route"] = route
            return


def _is_read(scope: Scope) -> bool:
    """A request that queues: a GET of an ADMITTED route, or a question POSTed (writes have
    their own limits)."""
    if scope["type"] != "http" or not scope["path"].startswith(ADMITTED):
        return False
    return scope["method"] == "GET" or (scope["method"] == "POST" and scope["path"] == "/ask")


async def busy(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
    """503 with Retry-After, in the app's error format."""
    response = JSONResponse(status_code=503, content={"detail": detail},
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    await response(scope, receive, send)
