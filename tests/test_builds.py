"""The local index directory: builds, CURRENT, the write lock, recover and backup (qa.builds)."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from qa.builds import POINTER, backup, builds, new_build, read_manifest, recover, write_lock
from qa.errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError, InvalidInputError

from test_local_backend import DIM, MANIFEST, build, entries, open_index, unit


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexNotFoundError, match="qa index"):
        open_index(tmp_path / "nothing")


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


def test_a_backup_restored_into_a_fresh_folder_searches_as_the_original(tmp_path):
    live, copy, restored = tmp_path / "live", tmp_path / "backup", tmp_path / "restored"
    build(live, entries(3))
    index = open_index(live)
    index.write(entries(2, tag="b"), remove=["a0"])  # a live change since the build: in the copy too
    (live / "feeds.json").write_text('{"https://x.test/rss": {"etag": "v1"}}')  # state kept beside the index
    name, articles, passages = backup(live, copy)
    assert (name, articles, passages) == (index.snapshot().build, 4, 4)
    assert backup(copy, restored)[1:] == (4, 4)
    assert (restored / "feeds.json").read_text() == (live / "feeds.json").read_text()
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
