"""The HTTP server as deployed: a real uvicorn process on a loopback port."""

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from conftest import QUESTION, ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(settings, engine):
    port = _free_port()
    env = {**os.environ, "QA_INDEX_DIR": str(settings.index_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {process.stdout.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("server did not start")
    yield base
    process.terminate()
    process.wait(timeout=30)


def test_real_server_answers(server, engine):
    response = httpx.get(f"{server}/ask", params={"q": QUESTION, "k": 3}, timeout=60)
    assert response.status_code == 200
    assert response.json() == engine.ask(QUESTION, 3).to_dict()
    posted = httpx.post(f"{server}/ask", json={"q": QUESTION, "k": 51}, timeout=60)
    assert posted.status_code == 422 and "k:" in posted.json()["detail"]
    assert httpx.get(f"{server}/health", timeout=10).json()["passages"] == len(engine.index.snapshot())
