"""`qa serve --workers 2` as deployed: two worker processes over one index, each serving a
write the moment it is acknowledged, metrics summed over both, a clean stop."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from conftest import BATTERY, BATTERY_QUESTION, free_port, kill_group, start_qa_serve
from qa.workers import OWNER_LOCK, RUNTIME_PREFIX, SLOTS, TcpConfig, core_share, remove_stale_runtimes

KEY = "kunci"


@pytest.mark.parametrize("slot, workers, cores, share", [
    (0, 2, [0, 1], [0]), (1, 2, [0, 1], [1]),
    (0, 2, [0, 1, 2, 3], [0, 2]), (1, 3, [0, 1, 2, 3], [1]), (0, 3, [0, 1, 2, 3], [0, 3]),
    (2, 4, [0, 1], [0]), (3, 4, [0, 1], [1]),  # more workers than cores: shared by turns
    (0, 1, [4, 5, 6], [4, 5, 6]),
])
def test_core_share(slot, workers, cores, share):
    assert core_share(slot, workers, cores) == share


def test_the_shared_socket_is_tcp_so_answers_are_not_held_back_by_nagle():
    """asyncio sets TCP_NODELAY only on accepted sockets whose protocol is TCP; uvicorn's own
    shared socket has protocol 0, and each kept-alive answer then waited ~40 ms."""
    listening = TcpConfig("qa.workers:worker_app", host="127.0.0.1", port=free_port()).bind_socket()
    with listening:
        listening.listen()
        with socket.create_connection(listening.getsockname()):
            accepted, _ = listening.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP


def _answering_processes(base: str, requests: int = 40, workers: int = 2, patience: float = 60.0) -> dict[int, list[dict]]:
    """/health over a new connection each time (so the kernel hands them to either worker),
    grouped by the worker process that answered: at least `requests` of them, and more until
    `workers` processes have answered or `patience` seconds have passed (the server is up once
    one worker answers; on a busy machine the other may still be starting)."""
    seen: dict[int, list[dict]] = {}
    deadline = time.monotonic() + patience
    while sum(map(len, seen.values())) < requests or (len(seen) < workers and time.monotonic() < deadline):
        health = httpx.get(f"{base}/health", timeout=30).json()
        seen.setdefault(health["process"], []).append(health)
    return seen


def test_two_workers_serve_a_write_at_once_and_sum_their_metrics(engine, tmp_path):
    index_dir, log = tmp_path / "index", tmp_path / "server.log"
    shutil.copytree(engine.settings.index_dir, index_dir)
    process, base = start_qa_serve(index_dir, log, "--workers", "2", QA_API_KEY=KEY)
    try:
        before = _answering_processes(base)
        assert len(before) == 2, "both workers answer"
        # each worker's reader is chosen for its share of the cores, and /health says which
        cores = sorted(os.sched_getaffinity(0))
        share = max(len(core_share(slot, 2, cores)) for slot in range(2))
        for answers in before.values():
            reader = answers[0]["answer_reader"]
            assert reader["layers"] in (12, 8, 6) and reader["questions"]["threads"] <= share, reader
        added = httpx.post(f"{base}/articles", json=BATTERY, headers={"X-API-Key": KEY}, timeout=300)
        assert added.status_code == 201 and added.json()["added"] == [BATTERY["id"]]
        after = _answering_processes(base)  # every answer after the write, from either worker, has it
        assert len(after) == 2 and all(h["articles"] == 6 for answers in after.values() for h in answers), after
        asked = 0
        for _ in range(10):
            answer = httpx.get(f"{base}/ask", params={"question": BATTERY_QUESTION, "top_k": 1}, timeout=60).json()
            assert answer["results"][0]["doc_id"] == BATTERY["id"]
            asked += 1
        metrics = httpx.get(f"{base}/metrics", timeout=30).text  # whichever worker answers: the sum
        assert re.search(rf'qa_requests_total\{{method="GET",route="/ask",status="200"\}} {asked}\.0', metrics)
        health = re.search(r'qa_requests_total\{method="GET",route="/health",status="200"\} (\d+)', metrics)
        assert int(health[1]) >= 80  # (and the start's wait for it), answered by both workers
        assert 'qa_requests_total{method="POST",route="/articles",status="201"} 1.0' in metrics
        assert "qa_index_articles 6.0" in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        kill_group(process)
    written = log.read_text()
    assert written.count("Application shutdown complete") == 2 and "Traceback" not in written, written


def test_the_runtime_folders_of_killed_servers_are_removed_and_running_ones_kept(tmp_path):
    dead, running, orphans, older, young = (tmp_path / f"{RUNTIME_PREFIX}{name}"
                                            for name in ("dead", "running", "orphans", "older", "young"))
    for folder in (dead, running, orphans, older, young):
        (folder / SLOTS).mkdir(parents=True)
        (folder / SLOTS / "0.lock").touch()
    for folder in (dead, running, orphans, young):
        (folder / OWNER_LOCK).touch()
    an_hour_ago = time.time() - 3600
    for folder in (dead, running, orphans, older):
        os.utime(folder, (an_hour_ago, an_hour_ago))
    holder = subprocess.Popen([sys.executable, "-c", (  # a live server holds its lock; orphaned workers, their slots
        "import fcntl, sys, time; held = [open(p, 'a') for p in sys.argv[1:]]; "
        "[fcntl.flock(h, fcntl.LOCK_EX) for h in held]; print(flush=True); time.sleep(600)"),
        str(running / OWNER_LOCK), str(orphans / SLOTS / "0.lock")], stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        assert remove_stale_runtimes(tmp_path) == [dead]
        assert running.is_dir() and orphans.is_dir() and young.is_dir()
        assert older.is_dir()  # no owner lock: an older release's, left alone
    finally:
        holder.kill()
        holder.wait()
    assert sorted(remove_stale_runtimes(tmp_path)) == [orphans, running]  # their processes are gone now
