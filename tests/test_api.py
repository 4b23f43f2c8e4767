"""The HTTP interface through FastAPI's TestClient, over the session's real engine."""

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from conftest import BATTERY, BATTERY_QUESTION, QUESTION, within
from qa import Engine
from qa.api import create_app, serving_engine
from qa.config import Settings


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(engine=engine)) as client:
        yield client


def test_get_ask(client, engine):
    response = client.get("/ask", params={"question": QUESTION, "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body == engine.ask(QUESTION, 3).to_dict()
    assert set(body) == {"question", "answer", "results", "total", "offset", "sort"}
    assert set(body["results"][0]) == {"rank", "score", "text", "title", "source", "date", "url", "doc_id",
                                       "passage_id", "highlights", "period", "answer", "answer_confidence", "citation",
                                       "article_span", "also_in", "more", "author"}
    assert set(body["answer"]) == {"text", "confident", "confidence", "kind", "passage_id", "source", "date",
                                   "period", "cited", "note"}
    assert body["answer"]["text"] == "12,37 juta tenaga kerja" and body["answer"]["confident"]
    assert body["answer"]["kind"] == "span" and 0.5 < body["answer"]["confidence"] <= 1
    assert body["results"][0]["citation"] == "kumparan (15 November 2024)"
    for result in body["results"]:  # the passage, where it says it is in its article
        start, end = result["article_span"]
        assert client.get(f"/articles/{result['doc_id']}").json()["text"][start:end] == result["text"]
    assert body["answer"]["cited"] == (
        "Menurut kumparan (15 November 2024), Wakil Menteri Perindustrian (Wamenperin) Faisol Riza "
        "mengatakan, hingga saat ini IKM tersebut telah menyerap 12,37 juta tenaga kerja.")


def test_post_ask_with_filters(client):
    response = client.post("/ask", json={"question": QUESTION, "top_k": 50, "sources": ["kumparan"],
                                         "date_from": "2024-01-01"})
    assert response.status_code == 200
    assert {r["source"] for r in response.json()["results"]} == {"kumparan"}


def test_get_with_repeated_source(client):
    response = client.get("/ask", params=[("question", QUESTION), ("top_k", "50"), ("sources", "KETIK"),
                                          ("sources", "Republika")])
    assert {r["source"] for r in response.json()["results"]} == {"KETIK", "Republika"}


def test_the_old_option_names_still_work(client):
    """q, k and source are deprecated aliases of question, top_k and sources for one release:
    they give the same answer, which says in its headers that they are deprecated."""
    fresh = client.get("/ask", params={"question": QUESTION, "top_k": 2, "sources": "KETIK"})
    old_get = client.get("/ask", params={"q": QUESTION, "k": 2, "source": "KETIK"})
    old_post = client.post("/ask", json={"q": QUESTION, "top_k": 2, "source": ["KETIK"]})
    assert old_get.json() == old_post.json() == fresh.json()
    assert "Deprecation" not in fresh.headers and "Warning" not in fresh.headers
    assert old_get.headers["Deprecation"] == old_post.headers["Deprecation"] == "true"
    assert old_get.headers["Warning"] == ('299 - "deprecated option name(s), accepted until the next release: '
                                          'q (use question), k (use top_k), source (use sources)"')
    assert old_post.headers["Warning"].endswith('q (use question), source (use sources)"')
    assert "Deprecation" not in client.post("/ask", json={"question": QUESTION}).headers
    deprecated = {p["name"] for p in client.get("/openapi.json").json()["paths"]["/ask"]["get"]["parameters"]
                  if p.get("deprecated")}
    assert deprecated == {"q", "k", "source"}


def test_results_are_articles_paged_and_sorted(client):
    first = client.get("/ask", params={"question": QUESTION, "top_k": 2}).json()
    second = client.get("/ask", params={"question": QUESTION, "top_k": 2, "offset": 2}).json()
    assert first["total"] == second["total"] == 5 and second["offset"] == 2
    ids = [r["doc_id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 4, "each article once, and the second page goes on from the first"
    assert [r["rank"] for r in second["results"]] == [3, 4]
    for result in first["results"]:  # the article's other matching passages come with it
        assert all(m["passage_id"].startswith(result["doc_id"] + ":") for m in result["more"])
    newest = client.get("/ask", params={"question": QUESTION, "top_k": 5, "sort": "newest"}).json()
    dates = [r["date"] for r in newest["results"]]
    assert dates == sorted(dates, reverse=True) and newest["sort"] == "newest"
    assert newest["answer"] == first["answer"], "the order of the results does not change the answer"


def test_an_unknown_source_or_a_bad_date_says_what_is_valid(client):
    response = client.get("/ask", params={"question": QUESTION, "sources": "kompas"})
    assert response.status_code == 422
    assert response.json() == {"detail": "unknown source(s): kompas; the sources are: KETIK, kumparan, marketeers, "
                                         "Republika"}
    response = client.post("/ask", json={"question": QUESTION, "date_from": "15-11-2024"})
    assert response.status_code == 422
    assert response.json() == {"detail": "date_from must be a date like 2024-11-15, got '15-11-2024'"}


def test_corpus_describes_what_is_indexed(client, engine):
    corpus = client.get("/corpus").json()
    assert (corpus["articles"], corpus["passages"]) == (5, len(engine.index.snapshot()))
    assert corpus["name"] is None and corpus["description"] is None
    assert corpus["summary"] == ("5 news articles from KETIK, kumparan, marketeers and 1 more publisher, "
                                 "published 2022-08-10 to 2024-11-15")
    assert client.get("/health").json()["corpus"] == corpus


def test_a_named_corpus(engine):
    named = Engine(engine.settings, engine.embedder, corpus_name="Arsip IKM", corpus_description="Berita IKM.")
    with TestClient(create_app(engine=named)) as client:
        corpus = client.get("/corpus").json()
    assert (corpus["name"], corpus["description"]) == ("Arsip IKM", "Berita IKM.")


def test_security_headers(client):
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in client.get("/static/search.js").headers
    assert client.get("/health").headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in client.get("/docs").headers  # Swagger UI loads its own scripts


def test_health_and_docs(client, engine):
    health = client.get("/health").json()
    assert health["passages"] == len(engine.index.snapshot()) and health["model"] == engine.embedder.model_id
    assert health["embedding"] == engine.embedder.describe()  # the runtime choice and its reason
    # which reader answers here: a worker's share of the cores may afford a shallower one
    reader = health["answer_reader"]
    assert reader["layers"] == engine.reader.weights.layers and reader["reason"] == engine.reader.describe()["reason"]
    assert f"{reader['layers']}-layer reader" in reader["layers_reason"] or "reader_layers=" in reader["layers_reason"]
    assert reader["reading"]["windows_per_question"] == engine.reader.windows_within(engine.settings.reader_budget_ms)
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/ask", "/health"}
    assert client.get("/docs").status_code == 200


def test_facets_list_publishers_and_dates(client):
    facets = client.get("/facets").json()
    assert {s["source"]: s["articles"] for s in facets["sources"]} == {
        "KETIK": 1, "kumparan": 1, "marketeers": 1, "Republika": 1}  # the fifth article names no publisher
    assert (facets["first_date"], facets["last_date"], facets["undated"]) == ("2022-08-10", "2024-11-15", 0)


def test_the_search_page_and_its_assets_are_served_locally(client):
    from qa.api import WEB_PAGE

    for path, kind in [("/", "text/html"), ("/article", "text/html"), ("/static/search.js", "text/javascript"),
                       ("/static/style.css", "text/css")]:
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind), path
    page = client.get("/").text
    assert '<input id="q" name="q" type="search"' in page and 'href="/static/style.css"' in page
    # No CDN, web font or external script: the page works offline.
    for asset in WEB_PAGE.iterdir():
        text = asset.read_text(encoding="utf-8")
        for external in ("http:", "https:", '"//', "'//", "url("):
            assert external not in text, f"{asset.name} refers to {external}"
    assert client.get("/static/missing.js").status_code == 404


KEY = "kunci-rahasia"
WRITE = {"X-API-Key": KEY}


@pytest.fixture
def writable(live_engine):
    """A client of a server with an API key, over a private copy of the index."""
    live_engine.settings.api_key = SecretStr(KEY)
    with TestClient(create_app(engine=live_engine)) as client:
        yield client


def test_posted_articles_are_answered_at_once_and_reposting_is_a_no_op(writable):
    added = writable.post("/articles", json=BATTERY, headers=WRITE)
    assert added.status_code == 201
    assert added.json() | {"passages": 0} == {"added": ["baterai-batang"], "replaced": [], "unchanged": [],
                                              "removed": [], "passages": 0, "skipped": [], "warnings": []}
    answer = writable.get("/ask", params={"question": BATTERY_QUESTION}).json()
    assert answer["answer"]["text"] == "Rp 18 triliun" and answer["results"][0]["source"] == "antara"
    again = writable.post("/articles", json=[BATTERY], headers=WRITE).json()
    assert again["unchanged"] == ["baterai-batang"] and again["passages"] == 0


def test_a_posted_author_is_in_the_results_and_the_article(writable):
    writable.post("/articles", json=BATTERY | {"author": "Sugiharto Purnama"}, headers=WRITE)
    answer = writable.get("/ask", params={"question": BATTERY_QUESTION}).json()
    assert answer["results"][0]["author"] == "Sugiharto Purnama"
    assert writable.get("/articles/baterai-batang").json()["author"] == "Sugiharto Purnama"
    others = [r for r in writable.get("/ask", params={"question": QUESTION}).json()["results"]
              if r["doc_id"] != "baterai-batang"]
    assert others and all(r["author"] is None for r in others)  # the default corpus names none


def test_a_list_of_articles_without_ids_gets_ids_from_their_text(writable):
    records = [{"text": BATTERY["text"]}, {"text": BATTERY["text"] + " Tambahan."}]
    first = writable.post("/articles", json=records, headers=WRITE).json()
    assert len(first["added"]) == 2 and all(i.startswith("a-") for i in first["added"])
    assert writable.post("/articles", json=records, headers=WRITE).json()["unchanged"] == first["added"]


def test_delete_get_and_list_articles(writable):
    writable.post("/articles", json=BATTERY, headers=WRITE)
    one = writable.get("/articles/baterai-batang").json()
    assert one["text"].startswith("Kementerian Perindustrian") and one["date"] == "2025-03-03"
    page = writable.get("/articles", params={"offset": 0, "limit": 2}).json()
    assert page["total"] == 6 and len(page["articles"]) == 2 and "text" not in page["articles"][0]
    removed = writable.delete("/articles/baterai-batang", headers=WRITE)
    assert removed.status_code == 200 and removed.json()["removed"] == ["baterai-batang"]
    assert writable.get("/articles").json()["total"] == 5
    assert writable.delete("/articles/baterai-batang", headers=WRITE).status_code == 404


def test_writes_need_the_key_and_reads_stay_open(writable):
    assert writable.post("/articles", json=BATTERY).status_code == 401
    assert writable.post("/articles", json=BATTERY, headers={"X-API-Key": KEY + "x"}).status_code == 401
    assert writable.delete("/articles/baterai-batang", headers={"X-API-Key": ""}).status_code == 401
    assert writable.get("/articles").json()["total"] == 5
    assert writable.get("/ask", params={"question": QUESTION}).status_code == 200


def test_without_a_configured_key_writes_are_refused(client):
    response = client.post("/articles", json=BATTERY, headers=WRITE)
    assert response.status_code == 403 and "QA_API_KEY" in response.json()["detail"]
    assert client.delete("/articles/x", headers=WRITE).status_code == 403


def test_protected_reads_need_the_key_but_health_does_not(live_engine):
    live_engine.settings.api_key, live_engine.settings.protect_reads = SecretStr(KEY), True
    with TestClient(create_app(engine=live_engine)) as client:
        assert client.get("/ask", params={"question": QUESTION}).status_code == 401
        assert client.get("/articles").status_code == 401
        assert client.get("/corpus").status_code == 401
        assert client.get("/ask", params={"question": QUESTION}, headers=WRITE).status_code == 200
        assert client.get("/health").status_code == 200


def test_openapi_documents_the_key_header(client):
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert {"post", "get"} <= set(schema["paths"]["/articles"])


def test_openapi_tells_the_truth(client, live_engine):
    """Readable operationIds and tags; the key only on writes (reads are open by default); every
    error documented with the body it really has; 201 for creation."""
    schema = client.get("/openapi.json").json()
    operations = {(method, path): op for path, ops in schema["paths"].items() for method, op in ops.items()}
    assert {op["operationId"] for op in operations.values()} >= {
        "ask", "ask_with_body", "add_articles", "remove_article", "list_articles", "get_article", "corpus", "health"}
    assert all(op.get("tags") for op in operations.values())
    secured = {key for key, op in operations.items() if op.get("security")}
    assert secured == {("post", "/articles"), ("post", "/articles/fetch"), ("delete", "/articles/{article_id}")}
    for key, op in operations.items():
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, key
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "201" in operations[("post", "/articles")]["responses"]
    live_engine.settings.api_key, live_engine.settings.protect_reads = SecretStr(KEY), True
    protected = create_app(engine=live_engine).openapi()
    assert protected["paths"]["/ask"]["get"]["security"] and "401" in protected["paths"]["/ask"]["get"]["responses"]


def test_cors_is_off_unless_origins_are_set(client, engine):
    preflight = {"Origin": "https://chat.example.org", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.options("/ask", headers=preflight).headers
    widget = Engine(engine.settings, engine.embedder, cors_origins="https://chat.example.org")
    with TestClient(create_app(engine=widget)) as cors:
        allowed = cors.options("/ask", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://chat.example.org"
        answer = cors.get("/ask", params={"question": QUESTION}, headers={"Origin": "https://chat.example.org"})
        assert answer.headers["access-control-allow-origin"] == "https://chat.example.org"
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
        other = cors.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("allowed, host, status", [
    ("qa.example.org", "qa.example.org", 200),
    ("qa.example.org", "QA.example.org.:8000", 200),
    ("qa.example.org", "evil.example", 400),
    ("*.example.org", "qa.example.org", 200),
    ("*.example.org", "example.org.evil.example", 400),
    ("qa.example.org", "localhost:8000", 200),  # loopback names always pass
    ("qa.example.org", "[::1]:8000", 200),
    ("", "evil.example", 200),  # default, on an address that is not loopback: any name
])
def test_allowed_hosts(engine, monkeypatch, allowed, host, status):
    monkeypatch.setenv("QA_ALLOWED_HOSTS", allowed)
    app = create_app(engine=Engine(Settings(_env_file=None, index_dir=engine.settings.index_dir), embedder=engine.embedder))
    with TestClient(app) as client:
        response = client.get("/health", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert "is not served here (a guard against DNS rebinding)" in response.json()["detail"]



def test_an_app_started_again_takes_writes_again(live_engine):
    """Its shutdown tells writes in flight to stop; starting it again must not keep refusing."""
    live_engine.settings.api_key = SecretStr("kunci")
    app = create_app(engine=live_engine)
    with TestClient(app):
        pass
    with TestClient(app) as client:
        response = client.post("/articles", json=BATTERY, headers={"X-API-Key": "kunci"})
    assert response.status_code == 201 and response.json()["added"] == [BATTERY["id"]], response.text


def test_fetching_urls_is_off_unless_the_server_allows_it(writable, news_site):
    url = f"{news_site.base}/berita/detik"
    refused = writable.post("/articles/fetch", json={"urls": [url]}, headers=WRITE)
    assert refused.status_code == 403 and "QA_FETCH_OVER_HTTP" in refused.json()["detail"]
    writable.app.state.engine.settings.fetch_over_http = True
    private = writable.post("/articles/fetch", json={"urls": [url]}, headers=WRITE)
    assert private.status_code == 422 and "private, loopback or link-local" in private.json()["detail"]
    assert writable.post("/articles/fetch", json={"urls": ["file:///etc/passwd"]}, headers=WRITE).status_code == 422
    assert writable.post("/articles/fetch", json={"urls": [url]}).status_code == 401


def test_fetched_pages_and_feeds_are_answered_at_once(live_engine, news_site):
    engine = Engine(live_engine.settings, embedder=live_engine.embedder, api_key=KEY, fetch_over_http=True,
                    fetch_private_addresses=True)
    with TestClient(create_app(engine=engine)) as client:
        added = client.post("/articles/fetch", json={"urls": [f"{news_site.base}/rss.xml",
                                                              f"{news_site.base}/tidak-ada"]}, headers=WRITE)
        assert added.status_code == 201
        assert len(added.json()["added"]) == 3 and "HTTP 404" in added.json()["skipped"][0]
        answer = client.get("/ask", params={"question": "berapa juta wisatawan mancanegara ke Bali?"}).json()
        assert answer["results"][0]["source"] == "ANTARA" and answer["results"][0]["date"] == "2024-12-02"


def resident_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def test_a_server_that_takes_writes_starts_their_embedding_process_with_it(settings):
    """Its model loads as the server starts: a first write waited seconds for it, and on a busy
    server the loading slowed the questions answered meanwhile. A server without an API key
    takes no writes and starts none."""
    taking = serving_engine(settings.model_copy(update={"api_key": SecretStr("kunci")}))
    refusing = serving_engine(settings)
    try:
        assert refusing.passage_embedder.pid is None
        pid = taking.passage_embedder.pid
        assert pid is not None
        assert within(60, lambda: resident_mb(pid) > 300)  # the model loaded (without it: about 110 MB)
    finally:
        taking.passage_embedder.close()
