"""What only the Milvus backend has: a writer killed between two Milvus calls, Milvus Lite's one
process, bad configuration, the CLI and HTTP server run on it as a user would, and API replicas
sharing one Milvus server."""

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest

import qa.backends.milvus as milvus_backend
from qa.backends import Filters, open_backend
from qa.config import Settings
from qa.errors import BackendUnavailableError, IndexBusyError, InvalidInputError
from qa.store import content_hash
from qa.workers import worker_count

from conftest import CORPUS, QUESTION, ROOT, free_port, kill_group, start_qa_serve, within
from test_backends import MANIFEST, article, entry, unit

pytest.importorskip("pymilvus", reason="the Milvus backend needs the cluster extra: pip install -e '.[cluster]'")


def milvus(index_dir, **settings):
    return open_backend(Settings(backend="milvus", index_dir=index_dir, **settings))


def in_another_process(index_dir, code: str) -> subprocess.CompletedProcess:
    """Run `code` with `backend` open on the Milvus Lite index in `index_dir`."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        import numpy as np
        import qa.backends.milvus as milvus
        from qa.backends import open_backend
        from qa.config import Settings
        from test_backends import article, entry
        backend = open_backend(Settings(backend="milvus", index_dir={str(index_dir)!r}))
    """) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)


def qa_index(env: dict, *args: str) -> subprocess.CompletedProcess:
    """`qa index` as a user runs it, with QA_* `env`."""
    return subprocess.run([sys.executable, "-m", "qa", "index", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)


def test_a_writer_killed_between_two_milvus_calls_is_repaired_by_the_next_write(tmp_path):
    backend = milvus(tmp_path)
    with backend.rebuild(MANIFEST, resume=False) as build:
        build.write([entry(article(i)) for i in range(3)])
    backend.close()  # Milvus Lite: one process at a time
    # the writer dies after the new passages are in and before the article's mark is
    died = in_another_process(tmp_path, """
        real = milvus._upsert
        def upsert(b, collection, rows):
            real(b, collection, rows)
            if collection.endswith("_passages"):
                os.kill(os.getpid(), signal.SIGKILL)
        milvus._upsert = upsert
        backend.write([entry(article(1, text="Isi baru."))])
    """)
    assert died.returncode == -9, died.stderr
    backend = milvus(tmp_path)
    assert backend.check().damaged == ["a1"]  # passages without their article's mark
    assert "a1" not in backend.stored(["a1"])
    written, _ = backend.write([entry(article(1, text="Isi baru."))])
    assert written == ["a1"] and backend.check().intact
    assert backend.stored(["a1"]) == {"a1": content_hash(article(1, text="Isi baru."))}
    assert backend.article("a1")[1] == "Isi baru." and backend.facts().passages == 3
    backend.close()


def test_a_removal_after_a_cut_off_write_clears_what_it_left(tmp_path):
    backend = milvus(tmp_path)
    with backend.rebuild(MANIFEST, resume=False) as build:
        build.write([entry(article(i)) for i in range(2)])
    backend.close()
    died = in_another_process(tmp_path, """
        real = milvus._upsert
        def upsert(b, collection, rows):
            real(b, collection, rows)
            os.kill(os.getpid(), signal.SIGKILL)
        milvus._upsert = upsert
        backend.write([entry(article(5))])
    """)
    assert died.returncode == -9, died.stderr
    backend = milvus(tmp_path)
    assert backend.check().damaged == ["a5"]
    assert backend.write(remove=["a5"]) == ([], [])  # it was never stored...
    assert backend.check().intact and backend.facts().passages == 2  # ...and nothing of it is left
    backend.close()


def test_a_fresh_build_checks_only_what_it_wrote_and_still_replaces_it(tmp_path, monkeypatch):
    """A build looks up (and deletes) only ids it wrote before: its collections hold nothing
    else. An article written twice, or cut off halfway and written again, is there once."""
    import qa.backends.milvus as milvus_module

    backend = milvus(tmp_path)
    real_stored, real_upsert, asked = milvus_module._stored, milvus_module._upsert, []
    monkeypatch.setattr(milvus_module, "_stored", lambda b, p, a, ids: asked.append(ids) or real_stored(b, p, a, ids))

    def upsert_then_fail(b, collection, rows):
        real_upsert(b, collection, rows)
        raise RuntimeError("cut off after the passages")

    with backend.rebuild(MANIFEST, resume=False) as build:
        build.write([entry(article(i)) for i in range(3)])
        monkeypatch.setattr(milvus_module, "_upsert", upsert_then_fail)
        with pytest.raises(RuntimeError):
            build.write([entry(article(3))])
        monkeypatch.setattr(milvus_module, "_upsert", real_upsert)
        build.write([entry(article(3)), entry(article(1, text="Isi baru."))])
        build.write(remove=["a2", "a9"])
    assert asked == [["a3", "a1"], ["a2"]]
    assert backend.check().intact and backend.facts().passages == 3
    assert backend.article("a1")[1] == "Isi baru." and backend.stored(["a2", "a9"]) == {}
    backend.close()


def test_milvus_lite_serves_one_process_and_says_so(tmp_path):
    backend = milvus(tmp_path)
    backend.create(MANIFEST)
    held = in_another_process(tmp_path, "print(backend.facts().passages)")
    assert held.returncode != 0 and "another process" in held.stderr
    backend.close()
    assert worker_count(Settings(backend="milvus", index_dir=tmp_path)) == 1
    with pytest.raises(InvalidInputError, match="one process"):
        worker_count(Settings(backend="milvus", index_dir=tmp_path, workers=2))


def test_milvus_lite_file_locked_is_busy_not_damaged(tmp_path):
    backend = milvus(tmp_path)
    backend.create(MANIFEST)
    held = in_another_process(tmp_path, """
        try:
            backend.facts()
        except Exception as exc:
            print(type(exc).__name__)
    """)
    assert held.stdout.strip() == IndexBusyError.__name__
    backend.close()


@pytest.mark.parametrize("uri, message", [
    ("http://127.0.0.1:9", "cannot reach Milvus at http://127.0.0.1:9"),
    ("/tmp/index.sqlite", "neither a Milvus Lite file ending in .db"),
])
def test_bad_configuration_is_one_clear_line(tmp_path, uri, message):
    with pytest.raises(BackendUnavailableError, match=message):
        milvus(tmp_path, milvus_uri=uri).facts()
    done = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "QA_BACKEND": "milvus", "QA_MILVUS_URI": uri}, timeout=120)
    assert done.returncode == BackendUnavailableError.exit_code
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_an_index_of_another_model_is_refused_with_a_rebuild_hint(tmp_path):
    backend = milvus(tmp_path)
    backend.create(MANIFEST)  # model "m", dimension 8
    backend.close()
    done = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "QA_BACKEND": "milvus", "QA_INDEX_DIR": str(tmp_path)}, timeout=300)
    assert done.returncode == 3 and "was built with model 'm'" in done.stderr and "qa index" in done.stderr


def test_the_cli_and_the_server_run_on_milvus_as_on_the_local_index(tmp_path):
    env = {**os.environ, "QA_BACKEND": "milvus", "QA_INDEX_DIR": str(tmp_path / "index")}
    indexed = qa_index(env, str(CORPUS))
    assert indexed.returncode == 0, indexed.stderr
    asked = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert asked.returncode == 0 and "12,37 juta" in asked.stdout
    process, base = start_qa_serve(tmp_path / "index", tmp_path / "server.log", "--workers", "1",
                                   QA_BACKEND="milvus")
    try:
        health = httpx.get(f"{base}/health", timeout=30).json()
        assert (health["backend"], health["articles"]) == ("milvus", 5)
        answer = httpx.get(f"{base}/ask", params={"q": QUESTION}, timeout=60).json()
        assert "12,37 juta" in answer["answer"]["text"]
        assert httpx.get(f"{base}/facets", timeout=30).json()["sources"]
    finally:
        kill_group(process)


def test_a_live_index_that_grows_past_exact_search_gets_a_graph(tmp_path):
    backend = milvus(tmp_path, exact_search_below=5)
    backend.create(MANIFEST)
    backend.write([entry(article(i)) for i in range(3)])
    assert backend._exact(backend._live_collection())
    backend.write([entry(article(i)) for i in range(3, 7)])
    assert not backend._exact(backend._live_collection())
    assert [h.passage.doc_id for h in backend.search(None, lambda: unit(2), 1, Filters())] == ["a2"]
    backend.close()


class MilvusServer:
    """A Milvus server on a loopback port, reached as a standalone Milvus is (`QA_MILVUS_URI=
    http://…`, gRPC over TCP): Milvus Lite's own server (`milvus-lite server`), which speaks the
    same protocol to the same client code. It can be stopped and started again on its data."""

    def __init__(self, directory):
        self.directory, self.port, self.process = directory, free_port(), None
        self.uri = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.directory / "milvus.log"
        with open(log, "a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.directory / "milvus"),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the Milvus server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)

    def stop(self) -> None:
        kill_group(self.process)
        self.process.wait()


@pytest.fixture
def milvus_server(tmp_path):
    server = MilvusServer(tmp_path)
    server.start()
    yield server
    server.stop()


REPLICA_KEY = "kunci"
COFFEE = "berapa ekspor kopi Lampung Oktober 2026?"


def coffee_article(number: int) -> dict:
    return {"id": f"kopi-{number}", "title": "Ekspor kopi Lampung naik", "source": "Uji", "date": "2026-11-30",
            "text": f"Ekspor kopi Lampung pada Oktober 2026 mencapai {41_250 + number} ton, naik 18 persen dari "
                    "bulan sebelumnya, kata Kepala Dinas Perdagangan Lampung Rina Susanti."}


def first_result(base: str, question: str) -> str | None:
    results = httpx.get(f"{base}/ask", params={"q": question}, timeout=60).json()["results"]
    return results[0]["doc_id"] if results else None


def test_api_replicas_share_one_milvus_server(tmp_path, milvus_server):
    """Two `qa serve` replicas (as behind a load balancer) over one Milvus server: what one writes
    the other serves within 2 s, and a full rebuild goes live under both while they answer."""
    env = {"QA_BACKEND": "milvus", "QA_MILVUS_URI": milvus_server.uri, "QA_API_KEY": REPLICA_KEY}
    indexed = qa_index(env, str(CORPUS), "--index-dir", str(tmp_path / "a"))
    assert indexed.returncode == 0, indexed.stderr
    replicas = [start_qa_serve(tmp_path / name, tmp_path / f"{name}.log", "--workers", "1", **env) for name in "ab"]
    a, b = (base for _, base in replicas)
    key = {"X-API-Key": REPLICA_KEY}
    try:
        assert "12,37 juta" in httpx.get(f"{b}/ask", params={"q": QUESTION}, timeout=60).json()["answer"]["text"]
        # a write through one replica is served by the other; so is a removal
        posted = httpx.post(f"{a}/articles", json=coffee_article(1), headers=key, timeout=120)
        assert posted.status_code == 201 and posted.json()["added"] == ["kopi-1"]
        assert within(2.0, lambda: first_result(b, COFFEE) == "kopi-1")
        assert httpx.delete(f"{a}/articles/kopi-1", headers=key, timeout=120).json()["removed"] == ["kopi-1"]
        assert within(2.0, lambda: first_result(b, COFFEE) != "kopi-1")
        # writes of different articles through both replicas at once all land, once each
        done = {}
        writers = [threading.Thread(target=lambda base, n: done.__setitem__(n, httpx.post(
            f"{base}/articles", json=coffee_article(n), headers=key, timeout=120).status_code), args=(base, n))
            for n, base in ((2, a), (3, b))]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert done == {2: 201, 3: 201}
        for base in (a, b):
            assert within(2.0, lambda: httpx.get(f"{base}/health", timeout=30).json()["articles"] == 7)
        assert httpx.get(f"{a}/health", timeout=30).json()["passages"] == 13 + 2
        # a full rebuild (another collection, the alias switched when complete) while B answers
        built = httpx.get(f"{b}/health", timeout=30).json()["built_at"]
        answers, stop = [], threading.Event()

        def ask_b():
            while not stop.is_set():
                response = httpx.get(f"{b}/ask", params={"q": QUESTION}, timeout=60)
                answers.append(response.status_code == 200 and "12,37 juta" in response.json()["answer"]["text"])

        asker = threading.Thread(target=ask_b)
        asker.start()
        rebuilt = qa_index(env, str(CORPUS), "--fresh", "--index-dir", str(tmp_path / "a"))
        time.sleep(2)
        stop.set()
        asker.join()
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert answers and all(answers)
        for base in (a, b):
            health = httpx.get(f"{base}/health", timeout=30).json()
            assert health["built_at"] != built and health["articles"] == 5  # the rebuild holds the corpus only
    finally:
        for process, _ in replicas:
            kill_group(process)


def test_a_replica_rides_out_a_milvus_server_restart(tmp_path, milvus_server):
    """While the server is down, questions and health checks get a 503 that names it; once it is
    back (its collections no longer loaded), the replica answers again without a restart."""
    env = {"QA_BACKEND": "milvus", "QA_MILVUS_URI": milvus_server.uri}
    indexed = qa_index(env, str(CORPUS), "--index-dir", str(tmp_path / "a"))
    assert indexed.returncode == 0, indexed.stderr
    process, base = start_qa_serve(tmp_path / "a", tmp_path / "a.log", "--workers", "1", **env)
    ask = lambda: httpx.get(f"{base}/ask", params={"q": QUESTION}, timeout=60)  # noqa: E731
    try:
        assert "12,37 juta" in ask().json()["answer"]["text"]
        milvus_server.stop()
        for response in (ask(), httpx.get(f"{base}/health", timeout=60)):
            assert response.status_code == 503 and milvus_server.uri in response.json()["detail"]
        milvus_server.start()
        assert within(30.0, lambda: ask().status_code == 200)
        assert "12,37 juta" in ask().json()["answer"]["text"]
    finally:
        kill_group(process)


def test_a_listing_is_not_kept_past_a_write_whose_generation_was_lost(tmp_path, milvus_server):
    """Two replicas' writes at the same moment can raise the generation once (each reads it,
    raises it and writes it back): another replica's article listing still sees both writes,
    even one that leaves the counts as they were (an article added, one of the same size removed)."""
    writer, reader = (milvus(tmp_path / name, milvus_uri=milvus_server.uri) for name in "ab")
    writer.create(MANIFEST)
    writer.write([entry(article(i)) for i in range(2)])
    assert reader.articles(0, 10)[0] == 2  # listed, and the listing cached
    before = reader.facts()
    writer.write([entry(article(2))], remove=["a0"])
    writer._call("undo the raise", "alter_collection_properties", writer._live_collection(fresh=True),
                 properties={milvus_backend.GENERATION_PROPERTY: str(before.generation)})  # as if the raise was lost
    assert reader.facts() == before
    total, listed = reader.articles(0, 10)
    assert total == 2 and [a.id for a in listed] == ["a1", "a2"]
    writer.close()
    reader.close()
