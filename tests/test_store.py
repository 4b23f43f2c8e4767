import threading

import numpy as np
import pytest

from qa.lexical import stems
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
