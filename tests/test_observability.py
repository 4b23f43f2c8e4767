"""What an operator sees of the server (request ids, the access log, /metrics) and how it sheds
load (503 with Retry-After), through the real app over the session's engine, and through the
admission middleware around a handler that waits until told to finish."""

import asyncio
import json
import logging
import re
import time
from urllib.parse import quote_plus

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import QUESTION
from qa import Engine
from qa.api import create_app
from qa.observability import HIDDEN, RETRY_AFTER_SECONDS, Admission, Metrics


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(engine=engine)) as client:
        yield client


def test_every_response_carries_a_request_id(client):
    first, second = client.get("/health"), client.get("/ask", params={"question": QUESTION})
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert client.get("/health", headers={"X-Request-ID": "trace-42.a"}).headers["x-request-id"] == "trace-42.a"
    for odd in ("x" * 65, "a b", "<script>"):  # not echoed: a new one instead
        assert re.fullmatch(r"[0-9a-f]{32}", client.get("/health", headers={"X-Request-ID": odd}).headers["x-request-id"])
    assert client.get("/no-such-page").headers["x-request-id"]  # errors too


def test_the_access_log_has_one_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="qa.access"):
        response = client.get("/ask", params={"question": QUESTION, "top_k": 3}, headers={"X-Request-ID": "log-test-1"})
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.access"]
    assert len(lines) == 1
    assert re.match(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00 testclient \"GET /ask\?question=.+&top_k=3\" 200 [\d.]+ ms id=log-test-1$",
                    lines[0])
    assert response.status_code == 200


def test_the_access_log_in_json_and_without_questions(engine, caplog):
    quiet = Engine(engine.settings.model_copy(update={"access_log": "json", "log_questions": False}), engine.embedder)
    with TestClient(create_app(engine=quiet)) as client, caplog.at_level(logging.INFO, logger="qa.access"):
        client.get("/ask", params={"question": QUESTION, "top_k": 2})
    line = json.loads([r.getMessage() for r in caplog.records if r.name == "qa.access"][0])
    assert line["method"] == "GET" and line["path"] == "/ask" and line["status"] == 200 and line["ms"] > 0
    assert QUESTION.split()[0] not in json.dumps(line) and line["query"] == f"question={quote_plus(HIDDEN)}&top_k=2"
    assert set(line) == {"time", "request_id", "client", "method", "path", "query", "status", "ms"}


def test_metrics_count_requests_by_route_and_show_the_index(client, engine):
    client.get("/ask", params={"question": QUESTION})
    client.get("/ask", params={"question": ""})  # 422
    client.get("/articles/no-such-article")  # 404, counted under its route, not its path
    text = client.get("/metrics").text
    assert re.search(r'qa_requests_total\{method="GET",route="/ask",status="200"\} [1-9]', text)
    assert re.search(r'qa_requests_total\{method="GET",route="/ask",status="422"\} [1-9]', text)
    assert re.search(r'qa_requests_total\{method="GET",route="/articles/\{article_id:path\}",status="404"\} 1', text)
    assert 'qa_request_seconds_bucket{le="0.5",route="/ask"}' in text
    facts = engine.index_facts()
    assert f"qa_index_passages {float(facts['passages'])}" in text
    assert f"qa_index_generation {float(facts['generation'])}" in text
    assert "qa_queue_depth 0.0" in text and "qa_requests_in_flight" in text


class Held:
    """An ASGI app whose /ask answers only when `release` is set; anything else at once."""

    def __init__(self):
        self.release = asyncio.Event()
        self.started = 0

    async def __call__(self, scope, receive, send):
        if scope["path"] == "/ask":
            self.started += 1
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def while_one_read_runs(app, held: Held, then):
    """`then(client)`, with one /ask running (held) meanwhile; returns what `then` returned and
    the held read's response, once released."""

    async def test():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
            running = asyncio.create_task(client.get("/ask"))
            while held.started < 1:
                await asyncio.sleep(0.01)
            meanwhile = await then(client)
            held.release.set()
            return meanwhile, await running

    return asyncio.run(test())


def test_a_read_that_would_end_late_at_the_slower_reads_time_gets_503_not_a_late_answer():
    """Reads have taken 0.05 s and 0.35 s in turn (0.12 s on average). One waits behind a read
    of 0.75 s: at the average time it would have been started at 0.75 s and answered at 1.1 s,
    past the 1 s limit. A read is started only if it would end in time at about the slower
    reads' time, so it gets 503 before that."""
    metrics = Metrics()

    async def sleeping(scope, receive, send):
        await asyncio.sleep(float(scope["query_string"].decode().removeprefix("s=")))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = Admission(sleeping, metrics, concurrent=1, waiting=10, timeout=1.0)

    async def test():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
            for seconds in (0.05, 0.35) * 3:
                await client.get(f"/ask?s={seconds}")
            running = asyncio.create_task(client.get("/ask?s=0.75"))
            await asyncio.sleep(0.02)
            started = time.perf_counter()
            late = await client.get("/ask?s=0.35")
            return late, time.perf_counter() - started, await running

    late, seconds, running = asyncio.run(test())
    assert late.status_code == 503 and "queue_timeout" in late.json()["detail"] and late.headers["retry-after"]
    assert seconds < 0.73  # before the turn came
    assert running.status_code == 200
    assert metrics.rejected.labels("waited_too_long")._value.get() == 1


def test_a_full_queue_gets_503_with_retry_after_at_once_and_health_still_answers():
    held, metrics = Held(), Metrics()
    app = Admission(held, metrics, concurrent=1, waiting=1, timeout=30)

    async def then(client):
        waiting = asyncio.create_task(client.get("/ask"))
        await asyncio.sleep(0.05)
        refused = await asyncio.wait_for(client.get("/ask"), 1)  # at once, not after the others
        health = await asyncio.wait_for(client.get("/health"), 1)
        held.release.set()
        return refused, health, await waiting

    (refused, health, waiting), running = while_one_read_runs(app, held, then)
    assert refused.status_code == 503 and refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "busy" in refused.json()["detail"]
    assert health.status_code == running.status_code == waiting.status_code == 200
    assert metrics.rejected.labels("queue_full")._value.get() == 1


def test_a_read_that_waits_past_queue_timeout_gets_503():
    held, metrics = Held(), Metrics()
    app = Admission(held, metrics, concurrent=1, waiting=10, timeout=0.2)

    async def then(client):
        return await asyncio.wait_for(client.get("/ask"), 2)

    late, running = while_one_read_runs(app, held, then)
    assert late.status_code == 503 and "queue_timeout" in late.json()["detail"]
    assert running.status_code == 200
    _, after = while_one_read_runs(app, held, lambda client: asyncio.sleep(0))  # released: answers at once
    assert after.status_code == 200  # the turns were handed back
    assert metrics.rejected.labels("waited_too_long")._value.get() == 1
    assert metrics.waiting._value.get() == 0 and metrics.in_flight._value.get() == 0


def test_a_read_whose_wait_would_run_past_queue_timeout_gets_503_at_once():
    """Reads have taken 0.3 s; with one answered and one waiting, a third would be answered in
    about 0.9 s, past the 0.75 s limit: it is told at once, and the one waiting is answered."""
    metrics = Metrics()

    async def slow(scope, receive, send):
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = Admission(slow, metrics, concurrent=1, waiting=10, timeout=0.75)

    async def test():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
            await client.get("/ask")  # the time reads take
            running = asyncio.create_task(client.get("/ask"))
            await asyncio.sleep(0.05)
            waiting = asyncio.create_task(client.get("/ask"))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            refused = await client.get("/ask")
            return refused, time.perf_counter() - started, await running, await waiting

    refused, seconds, running, waiting = asyncio.run(test())
    assert refused.status_code == 503 and seconds < 0.1 and refused.headers["retry-after"]
    assert "0.9 s away" in refused.json()["detail"]
    assert running.status_code == waiting.status_code == 200
    assert metrics.rejected.labels("wait_foreseen")._value.get() == 1
