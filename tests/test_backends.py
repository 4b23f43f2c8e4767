"""The backend conformance suite: the same checks on every backend behind `qa.backends.base.Backend`
(local: SQLite, FAISS, BM25; milvus: Milvus Lite), then the same questions answered on both."""

import numpy as np
import pytest

from qa import Engine
from qa.backends import Filters, Manifest, open_backend
from qa.backends.base import FORMAT_VERSION
from qa.config import Settings
from qa.errors import IndexMismatchError, IndexNotFoundError
from qa.lexical import LexicalIndex, stems
from qa.store import Entry, content_hash
from qa.types import Article, Passage

from conftest import CORPUS, QUESTION

pytest.importorskip("pymilvus", reason="the Milvus backend needs the cluster extra: pip install -e '.[cluster]'")

BACKENDS = ["local", "milvus"]
DIM = 8
MANIFEST = Manifest(model="m", dimension=DIM, query_prefix="q: ", passage_prefix="p: ",
                    built_at="2026-01-01T00:00:00+00:00")
WORDS = "industri kecil menengah tenaga kerja ekspor bahan baku pelatihan koperasi digital pasar modal".split()


def article(i: int, tag: str = "a", text: str | None = None) -> Article:
    rng = np.random.default_rng(i)
    words = " ".join(rng.choice(WORDS, size=12))
    return Article(id=f"{tag}{i}", text=text or f"Berita {tag}{i}: {words}. Nilai {i},5 persen.",
                   title=f"Judul {tag}{i}", source=["kumparan", "KETIK", None][i % 3],
                   date=[f"2024-0{i % 9 + 1}-01", None, "2022-08-10"][i % 3], url=f"https://x.test/{tag}{i}")


def entry(a: Article, vectors: np.ndarray | None = None) -> Entry:
    """One passage per article, of its text's first 1000 characters; its vector: unit vector i
    (or `vectors`)."""
    passage = Passage(id=f"{a.id}:0", doc_id=a.id, position=0, text=a.text[:1000], start=0, end=min(len(a.text), 1000),
                      title=a.title, source=a.source, date=a.date, url=a.url)
    i = int(a.id.lstrip("abcdefghijklmnopqrstuvwxyz") or 0)
    vector = np.eye(1, DIM, i % DIM, dtype=np.float32) if vectors is None else vectors
    return Entry(a, [passage], vector)


def unit(i: int) -> np.ndarray:
    return np.eye(1, DIM, i, dtype=np.float32)[0]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    backend = open_backend(Settings(backend=request.param, index_dir=tmp_path / "index"))
    with backend.rebuild(MANIFEST, resume=False) as build:
        build.write([entry(article(i)) for i in range(6)])
    backend.refresh()
    yield backend
    backend.close()


def ids(hits) -> list[str]:
    return [hit.passage.doc_id for hit in hits]


def search(backend, stems_=None, vector=None, depth=10, **filters):
    return backend.search(stems_, (lambda: vector) if vector is not None else None, depth, Filters(**filters))


def test_there_is_no_index_until_one_is_built(tmp_path):
    for name in BACKENDS:
        backend = open_backend(Settings(backend=name, index_dir=tmp_path / name))
        with pytest.raises(IndexNotFoundError, match="qa index"):
            backend.manifest
        backend.create(MANIFEST)
        assert backend.facts().passages == 0 and search(backend, ["industri"], unit(0)) == []
        backend.close()


def test_a_build_reads_back_whole(backend):
    facts = backend.facts()
    assert (facts.articles, facts.passages) == (6, 6)
    assert backend.manifest.model == "m" and backend.manifest.format == FORMAT_VERSION
    total, page = backend.articles(0, 4)
    assert total == 6 and [a.id for a in page] == ["a0", "a1", "a2", "a3", "a4", "a5"][:4]
    assert [a.id for a in backend.articles(4, 4)[1]] == ["a4", "a5"]
    info, text = backend.article("a1")
    assert (info.source, info.date, info.title, info.passages) == ("KETIK", None, "Judul a1", 1)
    assert text == article(1).text and info.hash == content_hash(article(1))
    assert backend.article("nobody") is None
    assert sorted(p.id for p in backend.passages()) == [f"a{i}:0" for i in range(6)]
    assert backend.check().intact


def test_writes_replace_and_delete(backend):
    written, removed = backend.write([entry(article(1)), entry(article(7)), entry(article(2, text="Baru."))],
                                     remove=["a0", "nobody"])
    backend.refresh()
    assert sorted(written) == ["a2", "a7"] and removed == ["a0"]  # a1: the same content, left alone
    assert backend.stored(["a0", "a1", "a2", "a7"]) == {
        "a1": content_hash(article(1)), "a2": content_hash(article(2, text="Baru.")), "a7": content_hash(article(7))}
    assert backend.article("a2")[1] == "Baru."
    assert backend.facts().passages == 6 and "a0" not in ids(search(backend, vector=unit(0)))
    # a new facts generation after a write (for /health), the same after a write that changed nothing
    generation = backend.facts().generation
    backend.write([entry(article(1))])
    assert backend.facts().generation == generation
    assert backend.check().intact


def test_long_article_texts_come_back_whole(backend):
    text = "Kalimat panjang tentang industri kecil. " * 2000  # 80,000 characters
    backend.write([entry(article(9, text=text))])
    backend.refresh()
    assert backend.article("a9")[1] == text


def test_search_gives_both_scores_under_filters(backend):
    hits = search(backend, stems("industri tenaga kerja"), unit(3))
    assert hits[0].passage.doc_id == "a3" or hits[0].lexical > 0
    assert all(hit.dense != 0 or hit.lexical != 0 for hit in hits)
    by_id = {hit.passage.doc_id: hit for hit in hits}
    assert by_id["a3"].dense == pytest.approx(1.0, abs=1e-5)
    assert ids(search(backend, vector=unit(0), date_from="2023-01-01")) == ["a0", "a3"] or \
        sorted(ids(search(backend, vector=unit(0), date_from="2023-01-01"))) == ["a0", "a3"]
    assert sorted(ids(search(backend, vector=unit(0), date_to="2023-01-01"))) == ["a2", "a5"]
    assert sorted(ids(search(backend, vector=unit(0), sources=("kumparan",)))) == ["a0", "a3"]
    assert sorted(ids(search(backend, vector=unit(0), sources=('KE"TIK', "ketik")))) == ["a1", "a4"]
    assert search(backend, stems("industri"), unit(0), sources=("nobody",)) == []
    hit = by_id["a3"].passage
    assert (hit.title, hit.source, hit.date, hit.url) == ("Judul a3", "kumparan", "2024-04-01", "https://x.test/a3")


def test_bm25_scores_are_the_local_bm25_over_the_same_stems(backend):
    texts = [article(i).text for i in range(6)]
    local = LexicalIndex([stems(t) for t in texts])
    question = stems("tenaga kerja industri 1,5 persen")
    expected = local.scores(question)
    hits = search(backend, question, depth=6)
    assert len(hits) == int((expected > 0).sum())
    for hit in hits:
        assert hit.lexical == pytest.approx(expected[int(hit.passage.doc_id[1:])], rel=1e-4)


def test_facets(backend):
    facets = backend.facets()
    assert [(s.source, s.articles) for s in facets.sources] == [("KETIK", 2), ("kumparan", 2)]
    assert (facets.first_date, facets.last_date, facets.undated) == ("2022-08-10", "2024-04-01", 2)


def test_a_rebuild_is_invisible_until_complete_and_resumes_after_an_interruption(backend):
    with pytest.raises(KeyboardInterrupt):
        with backend.rebuild(MANIFEST, resume=True) as build:
            build.write([entry(article(i, tag="b")) for i in range(3)])
            assert sorted(ids(search(backend, vector=unit(0)))) == [f"a{i}" for i in range(6)]  # readers: old
            raise KeyboardInterrupt
    assert backend.facts().articles == 6  # the live build is untouched
    with backend.rebuild(MANIFEST, resume=True) as build:
        assert sorted(build.stored()) == ["b0", "b1", "b2"]  # what the interrupted build committed
        assert build.copy_live([article(1)]) == ["a1"]  # the same content: copied, not embedded
        build.write([entry(article(3, tag="b"))])
        assert build.passages() == 5
    backend.refresh()
    assert sorted(p.doc_id for p in backend.passages()) == ["a1", "b0", "b1", "b2", "b3"]
    assert backend.check().intact


def test_an_index_of_another_model_is_refused(backend):
    backend.require("m", DIM, "p: ")
    with pytest.raises(IndexMismatchError, match="rebuild"):
        backend.require("other", DIM, "p: ")


@pytest.mark.parametrize("name", BACKENDS)
def test_approximate_search_recall_at_10_against_exact(name, tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    backend = open_backend(Settings(backend=name, index_dir=tmp_path / "index", exact_search_below=1000))
    with backend.rebuild(MANIFEST, resume=False) as build:
        for start in range(0, 3000, 500):
            build.write([entry(article(i, tag="v", text=f"teks {i}"), vectors[i : i + 1])
                         for i in range(start, start + 500)])
    backend.refresh()
    queries = rng.standard_normal((50, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    found = 0
    for query in queries:
        exact = {f"v{i}" for i in np.argsort(-(vectors @ query))[:10]}
        found += len(exact & set(ids(search(backend, vector=query))))
    assert found / (10 * len(queries)) >= 0.98
    backend.close()


@pytest.fixture(scope="module")
def milvus_engine(engine, tmp_path_factory) -> Engine:
    milvus = Engine(engine.settings, embedder=engine.embedder, backend="milvus",
                    index_dir=tmp_path_factory.mktemp("milvus-index"))
    milvus.build_index([CORPUS])
    return milvus


def test_the_mission_question_is_answered_the_same_on_both(engine, milvus_engine):
    local, milvus = engine.ask(QUESTION), milvus_engine.ask(QUESTION)
    assert milvus.answer.text == local.answer.text and "12,37 juta" in milvus.answer.text
    assert [r.passage_id for r in milvus.results] == [r.passage_id for r in local.results]
    assert [r.score for r in milvus.results] == pytest.approx([r.score for r in local.results], abs=1e-3)
    filtered = milvus_engine.ask(QUESTION, sources=["KETIK"], date_from="2022-01-01")
    assert {r.source for r in filtered.results} == {"KETIK"}
    assert milvus_engine.health()["backend"] == "milvus" and milvus_engine.health()["articles"] == 5


def test_authors_are_kept_and_an_article_without_one_has_none(backend):
    written = Article(**{**article(8).__dict__, "author": "Ani Suryani"})
    backend.write([entry(written)])
    backend.refresh()
    assert backend.article("a8")[0].author == "Ani Suryani" and backend.article("a1")[0].author is None
    found = {hit.passage.doc_id: hit.passage.author for hit in search(backend, vector=unit(0))}
    assert found["a8"] == "Ani Suryani" and found["a0"] is None
    assert backend.stored(["a8"]) == {"a8": content_hash(written)} != {"a8": content_hash(article(8))}
