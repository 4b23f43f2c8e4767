import json
import shutil

import numpy as np
import pytest

from qa.errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError
from qa.index import POINTER, Manifest, PassageIndex, read_manifest, save_index
from qa.types import Article, Passage

DIM = 8


def _data(n_articles=3, tag="a"):
    articles = [Article(id=f"{tag}{i}", text=f"teks {i}", source=["kumparan", "KETIK", None][i % 3],
                        date=[f"2024-0{i + 1}-01", None, "2022-08-10"][i % 3]) for i in range(n_articles)]
    passages = [Passage(id=f"{a.id}:0", doc_id=a.id, position=0, text=a.text, start=0, end=len(a.text),
                        source=a.source, date=a.date) for a in articles]
    vectors = np.eye(n_articles, DIM, dtype=np.float32)
    manifest = Manifest(model="m", dimension=DIM, query_prefix="q: ", passage_prefix="p: ",
                        passages=len(passages), articles=len(articles), corpus_fingerprint=tag,
                        built_at="2026-01-01T00:00:00+00:00")
    return articles, passages, vectors, manifest


def _open(path, model="m", dim=DIM):
    return PassageIndex(path, model, dim, "p: ")


def test_save_load_search_roundtrip(tmp_path):
    save_index(tmp_path, *_data())
    index = _open(tmp_path)
    assert len(index) == 3
    hits = index.search(np.eye(1, DIM, 1, dtype=np.float32)[0], 2)
    assert hits[0] == (1, pytest.approx(1.0))
    (passage,) = index.passages([1])
    assert (passage.id, passage.doc_id, passage.source, passage.date) == ("a1:0", "a1", "KETIK", None)


def test_filters_by_date_range_and_source(tmp_path):
    save_index(tmp_path, *_data())
    index = _open(tmp_path)
    query = np.ones(DIM, dtype=np.float32)
    assert [r for r, _ in index.search(query, 5, date_from="2023-01-01")] == [0]
    assert [r for r, _ in index.search(query, 5, date_to="2023-01-01")] == [2]
    assert [r for r, _ in index.search(query, 5, sources=["KUMPARAN"])] == [0]
    assert index.search(query, 5, sources=["nobody"]) == []


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexNotFoundError, match="qa index"):
        _open(tmp_path / "nothing")


def test_index_of_another_model_or_dimension_is_refused(tmp_path):
    save_index(tmp_path, *_data())
    with pytest.raises(IndexMismatchError, match="rebuild"):
        _open(tmp_path, model="other-model")
    with pytest.raises(IndexMismatchError, match="dimension 8"):
        _open(tmp_path, dim=768)


def test_damaged_index_is_reported(tmp_path):
    save_index(tmp_path, *_data())
    build, _ = read_manifest(tmp_path)
    (build / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(CorruptIndexError, match="damaged"):
        _open(tmp_path)
    (build / "manifest.json").write_text("{")
    with pytest.raises(CorruptIndexError):
        _open(tmp_path)


def test_failed_save_leaves_the_last_good_index_live(tmp_path):
    save_index(tmp_path, *_data(tag="good"))
    articles, passages, vectors, manifest = _data(tag="bad")
    with pytest.raises(Exception):
        save_index(tmp_path, articles, passages, np.ones((3, DIM + 1), np.float32), manifest)
    index = _open(tmp_path)
    assert index.manifest.corpus_fingerprint == "good"
    assert index.passages([0])[0].doc_id == "good0"


def test_new_save_replaces_old_build_and_readers_keep_working(tmp_path):
    save_index(tmp_path, *_data(tag="one"))
    reader = _open(tmp_path)
    save_index(tmp_path, *_data(tag="two"))
    assert reader.passages([0])[0].doc_id == "one0"  # an open reader keeps its snapshot
    assert _open(tmp_path).passages([0])[0].doc_id == "two0"
    assert len(list(tmp_path.glob("build-*"))) == 1
    assert json.loads((tmp_path / (tmp_path / POINTER).read_text().strip() / "manifest.json").read_text())["corpus_fingerprint"] == "two"


def test_leftover_staging_directory_does_not_matter(tmp_path):
    save_index(tmp_path, *_data(tag="one"))
    (tmp_path / ".build-crashed.tmp").mkdir()
    assert _open(tmp_path).manifest.corpus_fingerprint == "one"
    save_index(tmp_path, *_data(tag="two"))
    assert not list(tmp_path.glob(".build-*.tmp"))


def test_copied_index_directory_still_loads(tmp_path):
    save_index(tmp_path / "a", *_data())
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert len(_open(tmp_path / "b")) == 3
