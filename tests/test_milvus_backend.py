"""What only the Milvus backend has: a writer killed between two Milvus calls, Milvus Lite's one
process, bad configuration, and the CLI and HTTP server run on it as a user would."""

import os
import subprocess
import sys
import textwrap

import httpx
import pytest

from qa.backends import Filters, open_backend
from qa.config import Settings
from qa.errors import BackendUnavailableError, IndexBusyError, InvalidInputError
from qa.store import content_hash
from qa.workers import worker_count

from conftest import CORPUS, QUESTION, ROOT, kill_group, start_qa_serve
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


def test_a_writer_killed_between_two_milvus_calls_is_repaired_by_the_next_write(tmp_path):
    backend = milvus(tmp_path)
    with backend.rebuild(MANIFEST, resume=False) as build:
        build.write([entry(article(i)) for i in range(3)])
    backend.close()  # Milvus Lite: one process at a time
    # the writer dies after the new passages are in and before the article's mark is
    died = in_another_process(tmp_path, """
        real = milvus._insert
        def insert(b, collection, rows):
            real(b, collection, rows)
            if collection.endswith("_passages"):
                os.kill(os.getpid(), signal.SIGKILL)
        milvus._insert = insert
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
        real = milvus._insert
        def insert(b, collection, rows):
            real(b, collection, rows)
            os.kill(os.getpid(), signal.SIGKILL)
        milvus._insert = insert
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
    real_stored, real_insert, asked = milvus_module._stored, milvus_module._insert, []
    monkeypatch.setattr(milvus_module, "_stored", lambda b, p, a, ids: asked.append(ids) or real_stored(b, p, a, ids))

    def insert_then_fail(b, collection, rows):
        real_insert(b, collection, rows)
        raise RuntimeError("cut off after the passages")

    with backend.rebuild(MANIFEST, resume=False) as build:
        build.write([entry(article(i)) for i in range(3)])
        monkeypatch.setattr(milvus_module, "_insert", insert_then_fail)
        with pytest.raises(RuntimeError):
            build.write([entry(article(3))])
        monkeypatch.setattr(milvus_module, "_insert", real_insert)
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
    indexed = subprocess.run([sys.executable, "-m", "qa", "index", str(CORPUS)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
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
