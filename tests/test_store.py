import sqlite3
import threading

import numpy as np
import pytest

import qa.store
from qa.lexical import stems
from qa.errors import CorruptIndexError
from qa.store import Entry, Store, content_hash
from qa.types import Article, Passage

DIM = 4


def entry(article_id, text="teks berita", date="2024-01-01", source="kumparan", parts=2):
    article = Article(id=article_id, text=text, source=source, date=date)
    passages = [Passage(id=f"{article_id}:{i}", doc_id=article_id, position=i, text=f"{text} {i}", start=0,
                        end=len(text)) for i in range(parts)]
    return Entry(article, passages, np.full((parts, DIM), 0.5, np.float32))


@pytest.fixture
def store(tmp_path):
    store = Store.create(tmp_path / "store.sqlite", DIM)
    yield store
    store.close()


def test_content_hash_follows_text_and_metadata_but_not_the_file():
    article = Article(id="a", text="x", source="kumparan", path="one.txt")
    assert content_hash(article) == content_hash(Article(id="a", text="x", source="kumparan", path="two.txt"))
    assert content_hash(article) != content_hash(Article(id="a", text="x", source="KETIK"))
    assert content_hash(article) != content_hash(Article(id="a", text="y", source="kumparan"))


def test_write_adds_skips_same_content_and_replaces_changed(store):
    assert store.write([entry("a"), entry("b", parts=3)]) == (["a", "b"], [])
    assert store.counts() == (2, 5)
    generation = store.generation()
    assert store.write([entry("a")]) == ([], [])  # same content: nothing written
    assert store.generation() == generation
    assert store.write([entry("a", text="teks baru", parts=1)]) == (["a"], [])
    assert store.counts() == (2, 4)
    assert store.generation() == generation + 1
    info, text = store.article("a")
    assert (info.passages, text) == (1, "teks baru")


def test_rows_are_never_reused_so_readers_find_what_is_new(store):
    store.write([entry("a"), entry("b")])
    before = store.row_ids()
    store.write([entry("c")], remove=["b"])
    after = store.row_ids()
    assert list(after[:2]) == list(before[:2]) and after.min() == before.min()
    new = store.rows_after(int(before.max()))
    assert list(new.rows) == list(after[2:]) and new.vectors.shape == (2, DIM)
    assert new.stems[0] == stems("teks berita 0")


def test_the_rows_of_removed_passages_are_logged_by_generation(store):
    store.write([entry("a"), entry("b"), entry("c")])
    rows = {article: [int(r) for r in store.row_ids()[n * 2 : n * 2 + 2]] for n, article in enumerate("abc")}
    start = store.generation()
    assert list(store.removed_since(start)) == []
    store.write([entry("a", text="teks baru")])  # replaced: its old passages are gone
    middle = store.generation()
    store.write(remove=["b"])
    assert list(store.removed_since(start)) == rows["a"] + rows["b"]
    assert list(store.removed_since(middle)) == rows["b"]
    assert list(store.removed_since(store.generation())) == []


def test_the_removal_log_is_kept_for_a_while_and_a_store_made_before_it_gains_it(tmp_path, monkeypatch):
    path = tmp_path / "store.sqlite"
    old = Store.create(path, DIM)
    old.write([entry("a"), entry("b")])
    with sqlite3.connect(path) as db:  # as stores were before the log
        db.execute("DROP TABLE removed")
        db.execute("DELETE FROM meta WHERE key = 'removed_log_from'")
    old.close()
    store = Store(path, DIM)
    opened = store.generation()
    assert store.removed_since(opened - 1) is None  # from before the log: unknown
    store.write(remove=["a"])
    assert len(store.removed_since(opened)) == 2
    monkeypatch.setattr(qa.store, "REMOVED_LOG_GENERATIONS", 2)
    for n in range(3):
        store.write([entry(f"x{n}")], remove=["b"] if n == 0 else [])
    assert store.removed_since(opened) is None  # forgotten: a snapshot that old lists every row
    assert len(store.removed_since(store.generation() - 2)) == 0
    store.close()


def test_remove_reports_only_articles_that_existed(store):
    store.write([entry("a")])
    assert store.write(remove=["a", "nope"]) == ([], ["a"])
    assert store.counts() == (0, 0) and store.article("a") is None


def test_a_failed_write_changes_nothing(store):
    store.write([entry("a")])
    bad = entry("b")
    bad.vectors = np.zeros((1, DIM), np.float32)  # one vector for two passages
    with pytest.raises(ValueError):
        store.write([entry("c"), bad])
    assert store.counts() == (1, 2) and store.article("c") is None


def test_filters_and_listing(store):
    store.write([entry("a", date="2024-05-01"), entry("b", date="2022-01-01", source="KETIK"), entry("c", date=None)])
    rows = store.row_ids()
    assert list(store.matching_rows("2023-01-01", None, [])) == list(rows[:2])
    assert list(store.matching_rows(None, None, ["ketik"])) == list(rows[2:4])
    assert [a.id for a in store.articles(1, 5)] == ["b", "c"]
    assert store.passages([int(rows[0]), 10**9]).keys() == {int(rows[0])}


def test_threads_write_without_losing_or_doubling_articles(store):
    def add(prefix):
        for n in range(10):
            store.write([entry(f"{prefix}{n}")])

    threads = [threading.Thread(target=add, args=(p,)) for p in "xyz"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.counts() == (30, 60)


def test_copy_takes_passages_and_vectors_of_the_same_content_from_another_store(store, tmp_path):
    other = Store.create(tmp_path / "other.sqlite", DIM)
    same, changed = entry("a", parts=3), entry("b")
    same.vectors = np.arange(3 * DIM, dtype=np.float32).reshape(3, DIM)
    other.write([same, changed])
    moved = Article(**{**same.article.__dict__, "path": "elsewhere.txt"})
    edited = Article(id="b", text="teks lain", source="kumparan", date="2024-01-01")
    assert store.copy(other.path, [moved, edited, Article(id="c", text="x")]) == ["a"]
    assert store.counts() == (1, 3) and store.hashes() == {"a": content_hash(same.article)}
    copied = store.rows_after(0)
    np.testing.assert_array_equal(copied.vectors, same.vectors)
    assert copied.stems == [stems(p.text) for p in same.passages]
    assert [p.position for p in store.passages(list(map(int, copied.rows))).values()] == [0, 1, 2]
    assert store.copy(tmp_path / "missing.sqlite", [moved]) == [] and not (tmp_path / "missing.sqlite").exists()
    other.close()


def garble(store, sql, *args):
    """Change stored bytes behind the store's back, as a bad disk or a careless hand would."""
    db = sqlite3.connect(store.path)
    db.execute(sql, args)
    db.commit()
    db.close()


@pytest.mark.parametrize("change", [
    "UPDATE articles SET text = 'teks berita palsu' WHERE id = 'b'",
    "UPDATE articles SET source = 'lain' WHERE id = 'b'",
    "UPDATE passages SET text = 'teks lain' WHERE id = 'b:1'",
    "UPDATE passages SET vector = zeroblob(16) WHERE id = 'b:0'",
    "UPDATE passages SET stems = 'x' WHERE id = 'b:0'",
    "DELETE FROM passages WHERE id = 'b:1'",
])
def test_a_changed_byte_inside_a_valid_row_is_found_by_its_checksum(store, change):
    store.write([entry("a"), entry("b")])
    assert store.damaged() == [] and store.integrity() == []
    garble(store, change)
    assert store.integrity() == []  # SQLite sees nothing wrong
    assert store.damaged() == ["b"] and store.damaged(["a"]) == []


def test_damaged_rows_are_not_served(store, caplog):
    store.write([entry("a"), entry("b")])
    garble(store, "UPDATE passages SET text = 'disisipkan' WHERE id = 'b:0'")
    rows = [int(r) for r in store.row_ids()]
    served = store.passages(rows)
    assert sorted(p.doc_id for p in served.values()) == ["a", "a"]  # no passage of b, not even the intact one
    assert "1 article(s) changed on disk" in caplog.text and "'b'" in caplog.text
    assert store.article("a")[1] == "teks berita"
    garble(store, "UPDATE articles SET title = 'palsu' WHERE id = 'a'")
    with pytest.raises(CorruptIndexError, match="'a'.*qa index PATH"):
        store.article("a")


@pytest.mark.parametrize("change", [
    "UPDATE passages SET text = 'disisipkan' WHERE id = 'b:0'",
    "UPDATE passages SET checksum = 'x' WHERE id = 'b:1'",
    "UPDATE articles SET title = 'palsu' WHERE id = 'b'",
])
def test_rows_served_before_are_not_hashed_again_but_damage_after_is_caught(store, monkeypatch, change):
    store.write([entry("a"), entry("b")])
    rows = [int(r) for r in store.row_ids()]
    assert len(store.passages(rows)) == 4
    hashed = []
    monkeypatch.setattr(qa.store, "checksum", lambda *values: hashed.append(values) or "")
    assert len(store.passages(rows)) == 4 and hashed == []  # the same rows, compared, not hashed
    monkeypatch.undo()
    garble(store, change)
    assert sorted(p.doc_id for p in store.passages(rows).values()) == ["a", "a"]


def test_verified_rows_keep_only_the_latest():
    rows = qa.store.VerifiedRows(limit=2)
    digest = lambda *values: "ok"  # noqa: E731
    for key in (1, 2, 3):  # 1 is let go for 3
        assert rows.intact(key, (key,), "ok", digest)
    assert not rows.intact(4, (4,), "bad", digest)
    assert rows.intact(3, (3,), "ok", lambda *values: pytest.fail("3 was verified last"))
    assert not rows.intact(3, (3,), "other", digest)  # another checksum: hashed again
    computed = []
    assert rows.intact(1, (1,), "ok", lambda *values: computed.append(values) or "ok") and computed == [(1,)]


def test_writing_the_same_content_again_repairs_a_damaged_article(store):
    store.write([entry("a")])
    garble(store, "UPDATE passages SET text = 'disisipkan' WHERE id = 'a:0'")
    assert store.write([entry("a")]) == (["a"], [])  # same content hash, but the stored copy is damaged
    assert store.damaged() == [] and [p.text for p in store.passages(list(map(int, store.row_ids()))).values()] == [
        "teks berita 0", "teks berita 1"]


def test_copy_leaves_damaged_articles_to_be_embedded_again(store, tmp_path, caplog):
    other = Store.create(tmp_path / "other.sqlite", DIM)
    other.write([entry("a"), entry("b")])
    garble(other, "UPDATE articles SET text = 'teks berita!' WHERE id = 'a'")
    assert store.copy(other.path, [entry("a").article, entry("b").article]) == ["b"]
    assert "'a'" in caplog.text and store.damaged() == []
    other.close()


def test_a_store_made_before_authors_gains_them_and_keeps_its_rows_intact(tmp_path):
    path = tmp_path / "old.sqlite"
    Store.create(path, DIM).write([entry("old")])
    with sqlite3.connect(path) as db:  # the articles table as it was before authors were kept
        db.execute("ALTER TABLE articles DROP COLUMN author")
    before = Store.create(tmp_path / "copy.sqlite", DIM)  # a rebuild copies from such a store
    assert before.copy(path, [entry("old").article]) == ["old"] and before.article("old")[0].author is None
    store = Store(path, DIM)
    assert store.damaged() == [] and store.article("old")[0].author is None
    written = entry("new")
    written.article.author = "Ani Suryani"
    store.write([written])
    assert store.article("new")[0].author == "Ani Suryani" and store.damaged() == []
    assert [a.author for a in store.articles(0, 10)] == ["Ani Suryani", None]
    store.close()
    before.close()
