"""Embedding on Ray (`qa index --ray`): a local Ray indexes the default corpus and the passages
of FacQA's valid questions; its vectors and answers are the single-process build's, and an
interrupted run resumes. A Ray cluster of two nodes (both on this machine, reached by the head's
address, with token authentication) builds the same index through `qa index --ray-address`."""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from qa import Engine
from qa.errors import BackendUnavailableError
from qa.evaluation import facqa

from conftest import CORPUS, QUESTION, ROOT, free_port, kill_group, within

pytest.importorskip("ray", reason="embedding on Ray needs the cluster extra: pip install -e '.[cluster]'")

FACQA = ROOT.parent / "shared" / "data" / "facqa"


@pytest.fixture(scope="module")
def ray_embedder(engine):
    from qa.embedding.ray_pool import RayEmbedder

    embedder = RayEmbedder(engine.settings, engine.embedder.dimension, workers=1)
    yield embedder
    embedder.close()


def vectors_by_passage(engine: Engine) -> dict[str, np.ndarray]:
    snapshot = engine.index.snapshot()
    rows = [int(r) for r in snapshot.rows]
    passages = snapshot.store.passages(rows)
    vectors = snapshot.vectors.vectors(np.arange(len(rows)))
    return {passages[row].id: vectors[i] for i, row in enumerate(rows)}


def test_chunks_come_back_in_order_with_the_models_vectors(engine, ray_embedder):
    texts = [f"Kalimat nomor {i} tentang industri kecil dan menengah." for i in range(40)]
    chunks = [texts[:7], [], texts[7:30], texts[30:]]
    found = list(ray_embedder.embed_chunks(chunks))
    assert [len(v) for v in found] == [7, 0, 23, 10]
    expected = engine.embedder.embed_passages(texts)
    cosines = np.sum(np.concatenate(found) * expected, axis=1)
    assert cosines.min() >= 0.999


@pytest.mark.skipif(not FACQA.is_dir(), reason="../shared/data/facqa not present")
def test_a_ray_build_equals_the_single_process_build(engine, ray_embedder, tmp_path, monkeypatch):
    items = facqa(FACQA, "valid", tmp_path / "all.jsonl")
    asked = {article for item in items for article in item.articles}  # the valid questions' passages
    lines = (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "facqa.jsonl").write_text("\n".join(line for line in lines if json.loads(line)["id"] in asked),
                                          encoding="utf-8")
    paths = [CORPUS, tmp_path / "facqa.jsonl"]
    single = Engine(engine.settings, embedder=engine.embedder, index_dir=tmp_path / "single")
    single.build_index(paths)
    on_ray = Engine(engine.settings, embedder=engine.embedder, index_dir=tmp_path / "ray")
    on_ray.passage_embedder = ray_embedder
    monkeypatch.setattr("qa.indexing.COMMIT_EVERY", 100)
    monkeypatch.setattr("qa.embedding.ray_pool.ROWS_PER_BLOCK", 32)  # several batches in these 286 passages

    def interrupt_after_the_first_commit(done, total):
        if done > 150:  # the first 100 articles (~103 passages) came back in batches of 32 and are in
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        on_ray.build_index(paths, interrupt_after_the_first_commit)
    report = on_ray.build_index(paths)
    assert report.reused >= 100 and report.embedded < report.passages  # went on where it stopped

    expected, found = vectors_by_passage(single), vectors_by_passage(on_ray)
    assert sorted(found) == sorted(expected) and len(found) > 250
    assert min(float(found[i] @ expected[i]) for i in expected) >= 0.999
    for question in [QUESTION] + [item.question for item in items[:20]]:
        a, b = single.ask(question), on_ray.ask(question)
        assert [r.passage_id for r in a.results] == [r.passage_id for r in b.results]
        assert a.answer.text == b.answer.text
    assert json.loads(json.dumps(on_ray.health()))["passages"] == report.passages


@pytest.fixture(scope="module")
def ray_cluster():
    """A Ray cluster of a head and one worker node on this machine, one core each, started as
    an operator does (`ray start`; `--block` so that stopping the command stops its node and
    nothing else on the machine), with token authentication on and the head's job server.
    Yields the head's address, its job server's and the environment that reaches them."""
    ray = Path(sys.executable).parent / "ray"
    folder = Path(tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_TMPDIR": str(folder), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    address, jobs = f"127.0.0.1:{free_port()}", free_port()
    log = open(folder / "nodes.log", "w")

    def node(*role: str) -> subprocess.Popen:
        # Each node's agent gets ports of its own: by default it takes 52365, and another Ray on the
        # machine (the local one above) would leave the head with no agent to run jobs.
        ports = [f"--{name}={free_port()}" for name in ("dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                        "runtime-env-agent-port", "metrics-export-port")]
        return subprocess.Popen([ray, "start", *role, *ports, "--num-cpus", "1", "--object-store-memory",
                                 str(200 * 2**20), "--disable-usage-stats", "--block"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    head = node("--head", "--port", address.split(":")[1], "--dashboard-host", "127.0.0.1", "--dashboard-port", str(jobs))
    worker = node("--address", address)

    def nodes() -> int:
        status = subprocess.run([ray, "status", "--address", address], env=env, capture_output=True, text=True)
        return status.stdout.split("Pending:")[0].count(" node_")

    try:
        assert within(120, lambda: nodes() == 2, pause=2), (folder / "nodes.log").read_text()[-3000:]
        yield address, f"http://127.0.0.1:{jobs}", env
    finally:
        for process in (worker, head):  # a node stops its own processes on SIGTERM; any left are killed
            process.terminate()
        for process in (worker, head):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
            kill_group(process)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def assert_same_index(engine: Engine, index_dir: Path) -> None:
    """The index in `index_dir` holds `engine`'s passages, vectors (cosine >= 0.999) and answers."""
    on_cluster = Engine(engine.settings, embedder=engine.embedder, index_dir=index_dir)
    expected, found = vectors_by_passage(engine), vectors_by_passage(on_cluster)
    assert sorted(found) == sorted(expected)
    assert min(float(found[i] @ expected[i]) for i in expected) >= 0.999
    a, b = engine.ask(QUESTION), on_cluster.ask(QUESTION)
    assert b.answer.text == a.answer.text == "12,37 juta tenaga kerja"
    assert [r.passage_id for r in b.results] == [r.passage_id for r in a.results]


def test_a_two_node_ray_cluster_builds_the_single_process_index(engine, ray_cluster, tmp_path):
    address, _, env = ray_cluster
    done = subprocess.run([sys.executable, "-m", "qa", "index", str(CORPUS), "--index-dir", str(tmp_path),
                           "--ray-address", address], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 worker(s) x 1 core(s) on 2 node(s)" in done.stderr  # an actor on each node
    assert "INFO" not in done.stderr  # Ray Data's own lines stay in its log file: the build prints its progress
    assert_same_index(engine, tmp_path)


def test_fewer_workers_than_nodes_each_fit_on_one_node(engine, ray_cluster, tmp_path):
    """One actor on a cluster of two one-core nodes asks for one core, not the cluster's two:
    no node has two, and it would wait for ever."""
    address, _, env = ray_cluster
    done = subprocess.run([sys.executable, "-m", "qa", "index", str(CORPUS), "--index-dir", str(tmp_path),
                           "--ray-address", address, "--ray-workers", "1"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 worker(s) x 1 core(s) on 2 node(s)" in done.stderr
    assert_same_index(engine, tmp_path)


def test_qa_index_submitted_as_a_ray_job_builds_the_same_index(engine, ray_cluster, tmp_path):
    """The other way onto a cluster: `ray job submit -- qa index ... --ray-address auto`, whose
    driver runs on the head (here the articles and the index folder are on the same disk)."""
    _, jobs, env = ray_cluster
    ray = Path(sys.executable).parent / "ray"
    runs = []

    def submitted() -> bool:  # the head's job agent may still be starting: Ray says to try again later
        runs.append(subprocess.run([ray, "job", "submit", "--address", jobs, "--", sys.executable, "-m", "qa", "index",
                                    str(CORPUS), "--index-dir", str(tmp_path), "--ray-address", "auto"],
                                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=600))
        return "No available agent" not in runs[-1].stderr

    assert within(120, submitted, pause=3)
    done = runs[-1]
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "on 2 node(s)" in done.stdout + done.stderr and "succeeded" in done.stdout + done.stderr
    assert_same_index(engine, tmp_path)


def test_ray_without_an_address_starts_its_own_beside_a_running_cluster(ray_cluster, tmp_path):
    """`--ray` alone is a Ray for this run, not whatever cluster `ray start` left on the machine."""
    _, _, env = ray_cluster
    done = subprocess.run([sys.executable, "-m", "qa", "index", str(CORPUS), "--index-dir", str(tmp_path), "--ray"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on 1 node(s)" in done.stderr


def test_ray_client_addresses_are_refused_with_the_way_that_works(engine, tmp_path):
    """Ray Data does not run over Ray Client (ray-project/ray#48682): one line says what to do."""
    done = subprocess.run([sys.executable, "-m", "qa", "index", str(CORPUS), "--index-dir", str(tmp_path),
                           "--ray-address", "ray://127.0.0.1:10001"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "head:6379" in done.stderr and "ray job submit" in done.stderr
    assert not any(tmp_path.iterdir())  # refused before anything was read or written
    from qa.embedding.ray_pool import RayEmbedder

    with pytest.raises(BackendUnavailableError, match="Ray Client"):
        RayEmbedder(engine.settings, engine.embedder.dimension, address="ray://head:10001")
