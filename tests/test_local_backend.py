import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from qa.errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError, InvalidInputError
import qa.snapshot
from qa.backends.base import Filters, Manifest
from qa.backends.local import LocalBackend
from qa.builds import POINTER, SAVED_VECTORS, backup, builds, new_build, read_manifest, recover, write_lock
from qa.config import Settings
from qa.snapshot import MAX_HIDDEN
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


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexNotFoundError, match="qa index"):
        open_index(tmp_path / "nothing")


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


def test_index_of_another_format_is_refused(tmp_path):
    build(tmp_path, entries())
    live, _ = read_manifest(tmp_path)
    manifest = json.loads((live / "manifest.json").read_text())
    (live / "manifest.json").write_text(json.dumps({**manifest, "format": 2}))
    with pytest.raises(IndexMismatchError, match="format 2"):
        open_index(tmp_path)


@pytest.mark.parametrize("damage", ["store", "manifest", "pointer", "missing-store"])
def test_damaged_index_is_reported(tmp_path, damage):
    build(tmp_path, entries())
    live, _ = read_manifest(tmp_path)
    if damage == "store":
        (live / "store.sqlite").write_bytes(b"garbage" * 1000)
    elif damage == "manifest":
        (live / "manifest.json").write_text("{")
    elif damage == "pointer":
        (tmp_path / POINTER).write_text("build-that-is-not-there")
    else:
        (live / "store.sqlite").unlink()
    with pytest.raises(CorruptIndexError, match="damaged"):
        open_index(tmp_path)


def test_a_lost_pointer_beside_builds_is_an_error_naming_them_not_an_empty_index(tmp_path):
    build(tmp_path, entries())
    (tmp_path / POINTER).unlink()
    with pytest.raises(CorruptIndexError, match=r"lost its CURRENT file but holds 1 build\(s\) \(build-.*qa recover"):
        open_index(tmp_path)


def test_a_new_build_deletes_only_the_build_it_replaces(tmp_path):
    build(tmp_path, entries(tag="old"))
    orphan = tmp_path / "build-20200101T000000000000-abcdef"  # one a lost CURRENT left behind
    shutil.copytree(read_manifest(tmp_path)[0], orphan)
    replaced = read_manifest(tmp_path)[0]
    build(tmp_path, entries(tag="new"))
    assert orphan.is_dir() and not replaced.exists() and len(builds(tmp_path)) == 2
    (tmp_path / POINTER).write_text("../..\n")  # a garbled pointer names nothing to delete
    build(tmp_path, entries(tag="newer"))
    assert tmp_path.parent.is_dir() and orphan.is_dir()


def test_recover_makes_the_newest_complete_build_live_and_deletes_nothing(tmp_path):
    build(tmp_path, entries(n=2, tag="older"))
    older = read_manifest(tmp_path)[0]
    kept = tmp_path / "build-20200101T000000000000-keep00"
    shutil.copytree(older, kept)  # an older complete copy
    build(tmp_path, entries(n=3, tag="newest"))
    newest = read_manifest(tmp_path)[0]
    with write_lock(tmp_path):
        assert recover(tmp_path) is None  # nothing lost: nothing done
    (tmp_path / POINTER).unlink()
    with write_lock(tmp_path):
        assert recover(tmp_path) == (newest.name, 3)
    assert open_index(tmp_path).store.counts()[0] == 3
    (newest / "store.sqlite").write_bytes(b"garbage" * 1000)  # the newest is damaged: the next one
    (tmp_path / POINTER).write_text("build-that-is-not-there\n")
    with write_lock(tmp_path):
        assert recover(tmp_path) == (kept.name, 2)
    assert sorted(b.name for b in builds(tmp_path)) == sorted([kept.name, newest.name])


def test_recover_with_no_complete_build_says_so(tmp_path):
    build(tmp_path, entries())
    live = read_manifest(tmp_path)[0]
    (live / "manifest.json").write_text("{")
    (tmp_path / POINTER).unlink()
    with write_lock(tmp_path), pytest.raises(CorruptIndexError, match="no complete build to recover"):
        recover(tmp_path)
    (tmp_path / POINTER).write_text(live.name)
    shutil.rmtree(live)
    (tmp_path / POINTER).unlink()
    with write_lock(tmp_path), pytest.raises(IndexNotFoundError):
        recover(tmp_path)


def test_failed_build_leaves_the_last_good_index_live(tmp_path):
    build(tmp_path, entries(tag="good"))
    bad = entries(tag="bad")
    bad[1].vectors = np.ones((1, DIM + 1), np.float32)
    with pytest.raises(ValueError):
        build(tmp_path, bad)
    index = open_index(tmp_path)
    snapshot = index.snapshot()
    assert {p.doc_id for p in snapshot.store.passages([int(r) for r in snapshot.rows]).values()} == {
        "good0", "good1", "good2"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


def resumable_build(path, items, manifest=MANIFEST, fail=False):
    with write_lock(path), new_build(path, manifest, resume=True) as store:
        before = set(store.hashes())
        store.write(items)
        if fail:
            raise KeyboardInterrupt
    return before


def test_an_interrupted_resumable_build_is_resumed_by_the_next_one_with_the_same_model(tmp_path):
    build(tmp_path, entries(tag="live"))
    with pytest.raises(KeyboardInterrupt):
        resumable_build(tmp_path, entries(2, tag="new"), fail=True)
    assert len(open_index(tmp_path).snapshot()) == 3  # the live build is untouched
    assert resumable_build(tmp_path, entries(3, tag="new")) == {"new0", "new1"}
    snapshot = open_index(tmp_path).snapshot()
    assert sorted(p.doc_id for p in snapshot.store.passages(list(map(int, snapshot.rows))).values()) == [
        "new0", "new1", "new2"]


@pytest.mark.parametrize("leftover", ["other model", "no manifest", "damaged store"])
def test_a_staging_build_that_cannot_be_resumed_is_started_afresh(tmp_path, leftover):
    with pytest.raises(KeyboardInterrupt):
        resumable_build(tmp_path, entries(2, tag="old"), fail=True)
    staging = tmp_path / ".staging"
    if leftover == "other model":
        resumed = resumable_build(tmp_path, entries(1, tag="new"), manifest=replace(MANIFEST, model="other"))
    else:
        if leftover == "no manifest":
            (staging / "manifest.json").unlink()
        else:
            (staging / "store.sqlite").write_bytes(b"not a database" * 100)
        resumed = resumable_build(tmp_path, entries(1, tag="new"))
    assert resumed == set()
    assert len(open_index(tmp_path).snapshot()) == 1


def test_leftover_private_staging_directory_does_not_matter(tmp_path):
    build(tmp_path, entries(tag="one"))
    (tmp_path / ".staging-crashed").mkdir()
    assert len(open_index(tmp_path).snapshot()) == 3
    build(tmp_path, entries(tag="two"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]
    assert json.loads((tmp_path / (tmp_path / POINTER).read_text().strip() / "manifest.json").read_text())["model"] == "m"


def test_copied_index_directory_still_loads(tmp_path):
    build(tmp_path / "a", entries())
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert len(open_index(tmp_path / "b").snapshot()) == 3


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


def test_a_backup_restored_into_a_fresh_folder_searches_as_the_original(tmp_path):
    live, copy, restored = tmp_path / "live", tmp_path / "backup", tmp_path / "restored"
    build(live, entries(3))
    index = open_index(live)
    index.write(entries(2, tag="b"), remove=["a0"])  # a live change since the build: in the copy too
    name, articles, passages = backup(live, copy)
    assert (name, articles, passages) == (index.snapshot().build, 4, 4)
    assert backup(copy, restored)[1:] == (4, 4)
    again = open_index(restored)
    assert again.manifest == index.manifest
    assert sorted(a.id for a in again.articles(0, 10)[1]) == ["a1", "a2", "b0", "b1"]
    (row, _), = again.snapshot().dense(unit(0), 1, None)
    assert again.snapshot().store.passages([row])[row].doc_id == "b0"
    index.write(remove=["a1"])  # the backup is a copy, not a view
    assert again.articles(0, 10)[0] == 4
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial copy left


def test_a_backup_never_writes_over_anything(tmp_path):
    build(tmp_path / "live", entries(2))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("keep me")
    with pytest.raises(InvalidInputError, match="not an empty folder"):
        backup(tmp_path / "live", tmp_path / "taken")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    assert backup(tmp_path / "live", tmp_path / "empty")[1] == 2
    with pytest.raises(IndexNotFoundError):
        backup(tmp_path / "nothing-here", tmp_path / "copy")
