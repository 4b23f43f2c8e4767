"""The HTTP server as deployed: a real uvicorn process on a loopback port."""

import httpx

from conftest import QUESTION


def test_real_server_answers(server, engine):
    response = httpx.get(f"{server}/ask", params={"q": QUESTION, "k": 3}, timeout=60)
    assert response.status_code == 200
    assert response.json() == engine.ask(QUESTION, 3).to_dict()
    posted = httpx.post(f"{server}/ask", json={"q": QUESTION, "k": 51}, timeout=60)
    assert posted.status_code == 422 and "k:" in posted.json()["detail"]
    assert httpx.get(f"{server}/health", timeout=10).json()["passages"] == len(engine.index.snapshot())
