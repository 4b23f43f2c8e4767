"""The local backend (qa.backends.local): search, filters and writes over a directory's live build."""

import numpy as np
import pytest

from qa.backends.base import Filters, Manifest
from qa.backends.local import LocalBackend
from qa.builds import new_build, write_lock
from qa.config import Settings
from qa.errors import IndexMismatchError
from qa.store import Entry
from qa.types import Article, Passage

DIM = 8
MANIFEST = Manifest(model="m", dimension=DIM, query_prefix="q: ", passage_prefix="p: ",
                    built_at="2026-01-01T00:00:00+00:00")


def entries(n=3, tag="a"):
    """Article i has one passage whose vector is the unit vector i."""
    found = []
    for i in range(n):
        article = Article(id=f"{tag}{i}", text=f"teks nomor {tag}{i}", source=["kumparan", "KETIK", None][i % 3],
                          date=[f"2024-0{i % 9 + 1}-01", None, "2022-08-10"][i % 3])
        passage = Passage(id=f"{article.id}:0", doc_id=article.id, position=0, text=article.text, start=0,
                          end=len(article.text))
        found.append(Entry(article, [passage], np.eye(1, DIM, i % DIM, dtype=np.float32)))
    return found


def build(path, items):
    with write_lock(path), new_build(path, MANIFEST) as store:
        store.write(items)


def open_index(path, **settings):
    return LocalBackend(Settings(index_dir=path, **settings)).open()


def unit(i):
    return np.eye(1, DIM, i, dtype=np.float32)[0]


def test_build_load_search_roundtrip(tmp_path):
    build(tmp_path, entries())
    index = open_index(tmp_path)
    snapshot = index.snapshot()
    assert len(snapshot) == 3
    (row, score), _ = snapshot.dense(unit(1), 2, None)
    assert score == pytest.approx(1.0)
    passage = snapshot.store.passages([row])[row]
    assert (passage.id, passage.doc_id, passage.source, passage.date) == ("a1:0", "a1", "KETIK", None)
    assert snapshot.lexical.scores(["a1"]).argmax() == 1


def test_filters_by_date_range_and_source(tmp_path):
    build(tmp_path, entries())
    index = open_index(tmp_path)
    snapshot = index.snapshot()
    query = np.ones(DIM, dtype=np.float32)

    def docs(**filters):
        allowed = index.matching(snapshot, Filters(filters.get("date_from"), filters.get("date_to"),
                                                    tuple(filters.get("sources", ()))))
        return [snapshot.store.passages([r])[r].doc_id for r, _ in snapshot.dense(query, 5, allowed)]

    assert docs(date_from="2023-01-01") == ["a0"]
    assert docs(date_to="2023-01-01") == ["a2"]
    assert docs(sources=["KUMPARAN"]) == ["a0"]
    assert docs(sources=["nobody"]) == []


def test_writes_show_in_the_next_snapshot_and_old_snapshots_stay_whole(tmp_path):
    build(tmp_path, entries(3))
    index = open_index(tmp_path)
    before = index.snapshot()
    index.write(entries(2, tag="b"), remove=["a0"])
    after = index.snapshot()
    assert len(before) == 3 and len(after) == 4
    ids = {p.doc_id for p in after.store.passages([int(r) for r in after.rows]).values()}
    assert ids == {"a1", "a2", "b0", "b1"}
    # b0's vector is unit 0: it is now the nearest to unit 0, where a0 used to be
    (row, _), = after.dense(unit(0), 1, None)
    assert after.store.passages([row])[row].doc_id == "b0"
    (old_row, _), = before.dense(unit(0), 1, None)  # the old snapshot still searches; a0 is gone
    assert before.store.passages([old_row]) == {}


def test_a_second_reader_process_sees_writes_through_the_store(tmp_path):
    build(tmp_path, entries(2))
    reader, writer = open_index(tmp_path), open_index(tmp_path)
    assert len(reader.snapshot()) == 2
    writer.write(entries(1, tag="new"))
    assert len(reader.snapshot()) == 3
    writer.write(remove=["a0", "a1"])
    assert len(reader.snapshot()) == 1


def test_a_full_rebuild_is_picked_up_by_open_readers_and_writers(tmp_path):
    build(tmp_path, entries(2, tag="one"))
    index = open_index(tmp_path)
    old = index.snapshot()
    build(tmp_path, entries(3, tag="two"))
    snapshot = index.snapshot()
    assert len(snapshot) == 3
    # a search still on the old snapshot reads the old build's passages, not the new build's rows
    assert {p.doc_id for p in old.store.passages([int(r) for r in old.rows]).values()} == {"one0", "one1"}
    index.write(entries(1, tag="three"))  # goes into the new build, not the deleted one
    assert len(open_index(tmp_path).snapshot()) == 4
    assert len(list(tmp_path.glob("build-*"))) == 1


def test_empty_index_searches_to_nothing(tmp_path):
    build(tmp_path, [])
    snapshot = open_index(tmp_path).snapshot()
    assert snapshot.dense(unit(0), 5, None) == [] and len(snapshot.lexical.scores(["teks"])) == 0


def test_index_of_another_model_or_dimension_is_refused(tmp_path):
    build(tmp_path, entries())
    index = open_index(tmp_path)
    index.require("m", DIM, "p: ")
    with pytest.raises(IndexMismatchError, match="rebuild"):
        index.require("other-model", DIM, "p: ")
    with pytest.raises(IndexMismatchError, match="dimension 8"):
        index.require("m", 768, "p: ")
    with pytest.raises(IndexMismatchError, match="prefix"):
        index.require("m", DIM, "passage: ")
