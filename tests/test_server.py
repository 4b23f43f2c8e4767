"""The HTTP server as deployed: a real uvicorn process on a loopback port."""

import shutil
import signal
import threading
import time

import httpx
import pytest

from conftest import BATTERY, QUESTION, kill_group, running_server, start_qa_serve, within
from qa import Engine

KEY = "kunci"


def test_real_server_answers(server, engine):
    response = httpx.get(f"{server}/ask", params={"question": QUESTION, "top_k": 3}, timeout=60)
    assert response.status_code == 200
    assert response.json() == engine.ask(QUESTION, 3).to_dict()
    posted = httpx.post(f"{server}/ask", json={"question": QUESTION, "top_k": 51}, timeout=60)
    assert posted.status_code == 422 and "k:" in posted.json()["detail"]
    assert httpx.get(f"{server}/health", timeout=10).json()["passages"] == len(engine.index.snapshot())


def _big_batch(n: int, repeat: int = 6) -> list[dict]:
    """Articles enough to keep both cores embedding for several seconds: `n` of them, each
    `repeat` times the battery article's text."""
    return [{**BATTERY, "id": f"besar-{i}", "text": " ".join([BATTERY["text"]] * repeat) + f" Nomor {i}."}
            for i in range(n)]


def test_a_write_whose_client_gave_up_stops_and_stores_nothing(engine, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(engine.settings.index_dir, index_dir)
    with running_server(index_dir, QA_API_KEY=KEY) as base:
        with pytest.raises(httpx.TimeoutException):  # the client gives up after 2 s
            httpx.post(f"{base}/articles", json=_big_batch(300), headers={"X-API-Key": KEY}, timeout=2)
        # The passage model runs one write at a time: this one starts once the abandoned one
        # has stopped (or, had it gone on, finished and stored its 300 articles).
        small = httpx.post(f"{base}/articles", json=BATTERY, headers={"X-API-Key": KEY}, timeout=300)
        assert small.status_code == 201 and small.json()["added"] == [BATTERY["id"]]
        assert httpx.get(f"{base}/articles", params={"limit": 1}, timeout=10).json()["total"] == 6
    assert Engine(engine.settings, embedder=engine.embedder, index_dir=index_dir).articles()[0] == 6


def test_sigterm_stops_qa_serve_within_its_limit_during_a_write(engine, tmp_path):
    index_dir, log = tmp_path / "index", tmp_path / "server.log"
    shutil.copytree(engine.settings.index_dir, index_dir)
    process, base = start_qa_serve(index_dir, log, QA_API_KEY=KEY, QA_SHUTDOWN_TIMEOUT="1")
    try:
        # enough to embed for far longer than the 3 s + 1 s below on a fast CPU (300 articles of 6
        # times the text take about 3 s where bf16 runs on AMX: the write could finish within the limit)
        writing = threading.Thread(target=lambda: httpx.post(
            f"{base}/articles", json=_big_batch(1000, repeat=12), headers={"X-API-Key": KEY}, timeout=300),
            daemon=True)
        writing.start()
        time.sleep(3)  # well into embedding
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)  # without a limit, it waited for the whole write
        written = log.read_text()
        assert "timeout graceful shutdown exceeded" in written and '"POST /articles" 503' in written, written
        assert "Traceback" not in written, written
    finally:
        kill_group(process)
    assert Engine(engine.settings, embedder=engine.embedder, index_dir=index_dir).articles()[0] == 5


def _asks_seen(base: str) -> float:
    """Questions the server's workers have taken: answering, holding in their queues, or answered
    (/metrics). One scrape: counted from two, a question answered between them counts twice."""
    metrics = httpx.get(f"{base}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith(("qa_requests_in_flight", "qa_queue_depth"))
               or line.startswith("qa_requests_total") and 'route="/ask"' in line)


def test_sigterm_lets_the_reads_in_flight_finish(engine, tmp_path):
    """SIGTERM while questions are being answered (and more are waiting their turn): each one
    the server took gets its answer, then it exits within its limit, cleanly."""
    index_dir, log = tmp_path / "index", tmp_path / "server.log"
    shutil.copytree(engine.settings.index_dir, index_dir)
    # all eight may wait their turn, and each takes long enough (the reader reading ten passages
    # whole) to be seen in flight: a sure answer after one window is answered in a few ms
    process, base = start_qa_serve(index_dir, log, QA_SHUTDOWN_TIMEOUT="20", QA_MAX_CONCURRENT_REQUESTS="1",
                                   QA_QUEUE_TIMEOUT="30", QA_READER_PASSAGES="10", QA_READER_WHOLE_PASSAGES="10",
                                   QA_READER_BUDGET_MS="0", QA_READER_STOP_CONFIDENCE="1")
    outcomes: list[object] = []

    def ask():
        try:
            outcomes.append(httpx.get(f"{base}/ask", params={"question": QUESTION}, timeout=60).status_code)
        except httpx.HTTPError as exc:  # taken, then dropped or refused: not allowed
            outcomes.append(repr(exc))

    try:
        asking = [threading.Thread(target=ask) for _ in range(8)]
        for thread in asking:
            thread.start()
        # SIGTERM once the server has taken all eight (one answered at a time per worker, the
        # rest waiting): a connection still in the kernel's backlog is not the server's yet, and
        # on a busy machine the workers may take a while to accept it.
        # (one a busy worker accepted late may find the first ones already answered: those count)
        deadline = time.monotonic() + 30
        while (seen := _asks_seen(base)) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == 8
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
        for thread in asking:
            thread.join(timeout=60)
    finally:
        kill_group(process)
    assert outcomes == [200] * 8, outcomes
    written = log.read_text()
    assert "Traceback" not in written and "Application shutdown complete" in written, written
    assert written.count('"GET /ask?') == 8, written  # one access line per request


def test_one_worker_writes_one_access_line_per_request(engine, tmp_path):
    """`qa serve --workers 1` answers in the CLI's own process, whose logging is set up: each
    request's line is written once, not once by the access log and again by the CLI's handler."""
    log = tmp_path / "server.log"
    process, base = start_qa_serve(engine.settings.index_dir, log, "--workers", "1")
    try:
        assert httpx.get(f"{base}/ask", params={"question": QUESTION}, headers={"X-Request-ID": "once-1"},
                         timeout=60).status_code == 200
        within(30, lambda: "id=once-1" in log.read_text())  # the line is written once the answer has gone
        time.sleep(0.5)  # time for a second line, were there one
    finally:
        kill_group(process)
    assert log.read_text().count("id=once-1") == 1, log.read_text()
