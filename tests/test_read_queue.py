"""The workers' shared read queue: two workers' admissions in one event loop, over a real Unix
socket and shared table, as `qa serve --workers 2` runs them in two processes."""

import asyncio
import json

import httpx

from qa.observability import Admission, Metrics
from qa.read_queue import ReadQueue, make_socket, make_table


class Worker:
    """An app that says which worker answered; a read of /ask?hold waits until released."""

    def __init__(self, name: str):
        self.name, self.release, self.holding, self.answered = name, asyncio.Event(), 0, []

    async def __call__(self, scope, receive, send):
        body = b""
        if scope["method"] == "POST":
            body = (await receive())["body"]
        if scope["query_string"] == b"hold":
            self.holding += 1
            await self.release.wait()
        self.answered.append(scope["query_string"].decode())
        answer = json.dumps({"worker": self.name, "body": body.decode()}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})


def two_workers(tmp_path, timeout=5.0, waiting=10):
    listener = make_socket(tmp_path / "reads.sock")
    make_table(tmp_path / "reads.table", 2)
    workers, admissions = [], []
    for slot, sock in enumerate((listener, listener.dup())):
        worker, queue = Worker(f"w{slot}"), ReadQueue(sock, tmp_path / "reads.table", slot, 2)
        admission = Admission(worker, Metrics(), concurrent=1, waiting=waiting, timeout=timeout, queue=queue)
        workers.append(worker)
        admissions.append(admission)
    return workers, admissions


def run(tmp_path, body, **options):
    """Start both workers' takers, give `body` a client of worker 0 only (and the workers and
    their admissions), stop them; returns what `body` returned and the admissions."""
    workers, admissions = two_workers(tmp_path, **options)

    async def test():
        for admission in admissions:
            admission.queue.start(app=None)
        transport = httpx.ASGITransport(admissions[0])
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await body(client, workers, admissions)
        finally:
            for worker in workers:
                worker.release.set()
            takers = {task for admission in admissions for task in admission.queue._takers}
            asking = asyncio.all_tasks() - takers - {asyncio.current_task()}
            await asyncio.wait_for(asyncio.gather(*asking, return_exceptions=True), 5)  # the reads held
            for admission in admissions:
                await admission.queue.stop(timeout=1)

    return asyncio.run(test()), admissions


async def until(condition, seconds=2.0):
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.005)


async def hold_both(client, workers):
    """Two reads that keep both workers busy (the caller keeps them: asyncio holds tasks weakly)."""
    holds = [asyncio.create_task(client.get("/ask?hold")) for _ in range(2)]
    await until(lambda: sum(w.holding for w in workers) == 2)
    return holds


def test_a_read_sent_to_a_busy_worker_is_answered_by_the_idle_one(tmp_path):
    async def body(client, workers, admissions):
        held = asyncio.create_task(client.get("/ask?hold"))
        await until(lambda: sum(w.holding for w in workers) == 1)
        other = await asyncio.wait_for(client.get("/ask"), 2)
        assert not held.done()  # answered while the first is still held
        return other, next(w.name for w in workers if w.holding)

    (other, holder), _ = run(tmp_path, body)
    assert other.status_code == 200 and other.json()["worker"] != holder


def test_a_posted_question_travels_with_its_body(tmp_path):
    async def body(client, workers, admissions):
        return await client.post("/ask", content=b'{"question": "siapa dirjen IKMA?"}')

    answer, _ = run(tmp_path, body)
    assert answer.status_code == 200 and answer.json()["body"] == '{"question": "siapa dirjen IKMA?"}'


def test_reads_wait_for_the_first_free_turn_of_any_worker_in_arrival_order(tmp_path):
    async def body(client, workers, admissions):
        holds = await hold_both(client, workers)  # noqa: F841
        waiting = []
        for n in range(3):
            waiting.append(asyncio.create_task(client.get("/ask", params={"n": n})))
            await until(lambda: admissions[0].queue.waiting() == n + 1)
        await asyncio.sleep(0.1)
        assert not any(task.done() for task in waiting)  # no turn free: they wait
        workers[1].release.set()  # one worker is free again: it answers all three, in order
        return await asyncio.wait_for(asyncio.gather(*waiting), 2), admissions[0].queue.waiting(), workers[1].answered

    (answers, left, order), _ = run(tmp_path, body)
    assert [a.json()["worker"] for a in answers] == ["w1"] * 3 and left == 0
    assert order == ["hold", "n=0", "n=1", "n=2"]


def test_a_read_that_no_worker_takes_within_queue_timeout_gets_503(tmp_path):
    async def body(client, workers, admissions):
        holds = await hold_both(client, workers)  # noqa: F841
        return await asyncio.wait_for(client.get("/ask"), 2)

    late, admissions = run(tmp_path, body, timeout=0.3)
    assert late.status_code == 503 and late.headers["retry-after"] and "queue_timeout" in late.json()["detail"]
    assert admissions[0].metrics.rejected.labels("waited_too_long")._value.get() == 1
    assert admissions[0].metrics.waiting._value.get() == 0


def test_past_the_waiting_limit_of_all_workers_a_read_gets_503_at_once(tmp_path):
    async def body(client, workers, admissions):
        holds = await hold_both(client, workers)  # noqa: F841
        waiting = asyncio.create_task(client.get("/ask"))
        await until(lambda: admissions[0].queue.waiting() == 1)
        refused = await asyncio.wait_for(client.get("/ask"), 0.5)
        workers[0].release.set()
        return refused, await waiting

    (refused, waited), _ = run(tmp_path, body, waiting=1)
    assert refused.status_code == 503 and "1 requests are waiting" in refused.json()["detail"]
    assert waited.status_code == 200


def test_a_read_whose_worker_stops_while_answering_gets_503(tmp_path):
    async def body(client, workers, admissions):
        held = asyncio.create_task(client.get("/ask?hold"))
        await until(lambda: sum(w.holding for w in workers) == 1)
        taker = next(a for a, w in zip(admissions, workers) if w.holding)
        for task in taker.queue._takers:
            task.cancel()  # as when its process is killed: the connection closes
        return await asyncio.wait_for(held, 2)

    answer, _ = run(tmp_path, body)
    assert answer.status_code == 503 and "stopped" in answer.json()["detail"]


def test_a_read_gets_503_when_the_queue_is_gone(tmp_path):
    async def body(client, workers, admissions):
        (tmp_path / "reads.sock").unlink()  # as when the server's runtime folder is removed under it
        return await asyncio.wait_for(client.get("/ask"), 2), admissions[0].queue.waiting()

    (answer, left), _ = run(tmp_path, body)
    assert answer.status_code == 503 and answer.headers["retry-after"] and "worker stopped" in answer.json()["detail"]
    assert left == 0


def test_one_slow_read_does_not_make_a_worker_refuse_every_read_after_it(tmp_path):
    """A read that took longer than queue_timeout (a cold start, a long refresh) must not leave
    the estimate of the next reads' time where every read counts as too late to answer."""

    async def body(client, workers, admissions):
        for admission in admissions:
            admission._read_seconds = 3.0  # as after one read of 3 s, past the 1 s timeout
        answers = [await client.get("/ask?q") for _ in range(3)]
        return [a.status_code for a in answers], [a._read_seconds for a in admissions]

    (statuses, estimates), _ = run(tmp_path, body, timeout=1.0)
    assert statuses == [200, 200, 200]
    assert min(estimates) < 3.0  # the reads answered bring it back down
