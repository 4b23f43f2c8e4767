"""The local backend's snapshots: graphs extended and hidden rows, the saved graph (qa.snapshot)."""

import numpy as np
import pytest

import qa.snapshot
import qa.store
from qa.builds import SAVED_VECTORS
from qa.snapshot import MAX_HIDDEN

from test_local_backend import build, entries, open_index, unit


def test_additions_extend_the_graph_and_deletions_rebuild_it(tmp_path):
    build(tmp_path, entries(6, tag="a"))
    index = open_index(tmp_path, exact_search_below=1)
    first = index.snapshot()
    assert first.vectors.kind.startswith("hnsw")
    index.write(entries(2, tag="b"))
    added = index.refresh()
    assert len(first) == 6 and len(added) == 8
    (row, score), *_ = added.dense(unit(1), 8, None)
    assert score == pytest.approx(1.0) and added.store.passages([row])[row].doc_id in {"a1", "b1"}
    index.write(remove=["a1", "b1"])
    after = index.refresh()
    assert len(after) == 6 and all(score < 0.5 for _, score in after.dense(unit(1), 6, None))


def test_deleted_passages_are_hidden_until_many_then_the_graph_is_rebuilt(tmp_path):
    build(tmp_path, entries(40))
    index = open_index(tmp_path, exact_search_below=1)
    first = index.snapshot()
    index.write(remove=["a1"])
    hiding = index.refresh()
    assert hiding.vectors is first.vectors and len(hiding) == 39 and len(hiding.hidden) == 1
    rows = [row for row, _ in hiding.dense(unit(1), 39, None)]
    assert len(rows) == 39 and "a1" not in {p.doc_id for p in hiding.store.passages(rows).values()}
    assert hiding.lexical.scores(["a1"]).max() == 0
    index.write(remove=[f"a{i}" for i in range(2, 2 + int(MAX_HIDDEN * 40))])
    rebuilt = index.refresh()
    assert rebuilt.vectors is not first.vectors and len(rebuilt.hidden) == 0
    assert len(rebuilt) == len(rebuilt.rows) == 35


def test_a_refresh_finds_deleted_passages_in_the_log_without_listing_every_row(tmp_path, monkeypatch):
    build(tmp_path, entries(40))
    index = open_index(tmp_path, exact_search_below=1)
    first = index.snapshot()
    monkeypatch.setattr(qa.store.Store, "row_ids", lambda self: pytest.fail("listed every row"))
    index.write(entries(1, tag="b"), remove=["a1"])
    index.write(remove=["a2"])
    after = index.refresh()
    assert len(after) == 39 and len(after.hidden) == 2 and after.vectors is not first.vectors
    shown = {p.doc_id for p in after.store.passages([row for row, _ in after.dense(unit(1), 39, None)]).values()}
    assert len(shown) == 39 and {"a1", "a2"}.isdisjoint(shown) and "b0" in shown


def _count_builds(monkeypatch) -> list:
    """Calls of `vector_index` (the real one) from now on."""
    calls, real = [], qa.snapshot.vector_index
    monkeypatch.setattr(qa.snapshot, "vector_index", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_a_new_process_reads_the_saved_graph_and_catches_up(tmp_path, monkeypatch):
    build(tmp_path, entries(30))
    writer = open_index(tmp_path, exact_search_below=1)  # builds the graph and saves it
    assert (tmp_path / writer.snapshot().build / SAVED_VECTORS).is_file()
    writer.write(entries(2, tag="b"), remove=["a1"])
    builds = _count_builds(monkeypatch)
    snapshot = open_index(tmp_path, exact_search_below=1).snapshot()
    assert builds == [] and len(snapshot) == 31 and len(snapshot.hidden) == 1
    fresh = {(row, round(score, 5)) for row, score in writer.refresh().dense(unit(1), 31, None)}
    assert {(row, round(score, 5)) for row, score in snapshot.dense(unit(1), 31, None)} == fresh
    assert snapshot.lexical.scores(["b1"]).argmax() == len(snapshot.rows) - 1


@pytest.mark.parametrize("spoil", ["truncated", "garbage", "a changed vector", "other settings"])
def test_a_damaged_or_unsuitable_saved_graph_is_built_again(tmp_path, monkeypatch, spoil):
    build(tmp_path, entries(30))
    options = {"exact_search_below": 1}
    saved = tmp_path / open_index(tmp_path, **options).snapshot().build / SAVED_VECTORS
    if spoil == "truncated":
        saved.write_bytes(saved.read_bytes()[:-100])
    elif spoil == "garbage":
        saved.write_bytes(b"not a graph" * 100)
    elif spoil == "a changed vector":  # 1.0 becomes 0.5: it parses fine, only the digest at the end tells
        saved.write_bytes(saved.read_bytes().replace(np.float32(1).tobytes(), np.float32(0.5).tobytes(), 1))
    else:
        options["hnsw_m"] = 8
    builds = _count_builds(monkeypatch)
    snapshot = open_index(tmp_path, **options).snapshot()
    assert builds == [1] and len(snapshot) == 30 and snapshot.dense(unit(1), 1, None)[0][1] == pytest.approx(1.0)
    builds.clear()
    assert len(open_index(tmp_path, **options).snapshot()) == 30 and builds == []  # saved again, good now
