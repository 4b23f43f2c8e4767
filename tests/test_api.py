"""The HTTP interface through FastAPI's TestClient, over the session's real engine."""

import pytest
from fastapi.testclient import TestClient

from conftest import QUESTION
from qa.api import create_app


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(engine=engine)) as client:
        yield client


def test_get_ask(client, engine):
    response = client.get("/ask", params={"q": QUESTION, "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body == engine.ask(QUESTION, 3).to_dict()
    assert set(body["results"][0]) == {"rank", "score", "text", "title", "source", "date", "url", "doc_id",
                                       "passage_id", "highlights", "period", "answer", "also_in"}
    assert body["answer"]["text"] == "12,37 juta tenaga kerja" and body["answer"]["confident"]


def test_post_ask_with_filters(client):
    response = client.post("/ask", json={"q": QUESTION, "k": 50, "source": ["kumparan"],
                                         "date_from": "2024-01-01"})
    assert response.status_code == 200
    assert {r["source"] for r in response.json()["results"]} == {"kumparan"}


def test_get_with_repeated_source(client):
    response = client.get("/ask", params=[("q", QUESTION), ("k", "50"), ("source", "KETIK"), ("source", "Republika")])
    assert {r["source"] for r in response.json()["results"]} == {"KETIK", "Republika"}


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"q": ""}, "q:"),
        ({"q": "   "}, "empty"),
        ({"q": QUESTION, "k": 0}, "k:"),
        ({"q": QUESTION, "k": 51}, "k:"),
        ({"q": QUESTION, "k": "abc"}, "k:"),
        ({"q": QUESTION, "date_from": "kemarin"}, "date_from"),
        ({"q": QUESTION, "top": 3}, "unknown parameter"),
        ({}, "q:"),
    ],
)
def test_get_bad_input_is_422_with_a_message(client, params, fragment):
    response = client.get("/ask", params=params)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"q": QUESTION, "k": 3, "extra": 1}, "extra"),
        ({"q": " "}, "empty"),
        ({"q": QUESTION, "k": 100}, "k:"),
        ({"k": 3}, "q:"),
    ],
)
def test_post_bad_input_is_422_with_a_message(client, body, fragment):
    response = client.post("/ask", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_post_malformed_json_is_422(client):
    response = client.post("/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_health_and_docs(client, engine):
    health = client.get("/health").json()
    assert health["passages"] == len(engine.index.snapshot()) and health["model"] == engine.embedder.model_id
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/ask", "/health"}
    assert client.get("/docs").status_code == 200
