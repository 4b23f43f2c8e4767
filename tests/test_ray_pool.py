"""Embedding on Ray (`qa index --ray`): a local Ray indexes the default corpus and the passages
of FacQA's valid questions; its vectors and answers are the single-process build's, and an
interrupted run resumes."""

import json

import numpy as np
import pytest

from qa import Engine
from qa.evaluation import facqa

from conftest import CORPUS, QUESTION, ROOT

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
