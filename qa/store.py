"""The durable record of an index: articles, their passages, vectors and BM25 terms in one
SQLite file (WAL journal, full sync).

Every change is one transaction, so a process killed at any moment leaves either the state
before it or the state after it, never a half-added article. Each commit raises `generation`;
readers in any process compare it with the one they loaded to know when to refresh.
Passage rows come from AUTOINCREMENT and are never reused, so the rows added since a reader
last looked are exactly those above the largest row it knows.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import CorruptIndexError, IndexBusyError, disk_problem
from qa.lexical import stems
from qa.periods import Period
from qa.types import Article, ArticleInfo, Facets, Passage, SourceCount

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, title TEXT, source TEXT, date TEXT, url TEXT, path TEXT,
    text TEXT NOT NULL, passages INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    row INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES articles(id), position INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL, period_start TEXT, period_end TEXT,
    stems TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE INDEX IF NOT EXISTS articles_source ON articles(lower(source));
INSERT OR IGNORE INTO meta VALUES ('generation', '0');
"""
_PASSAGE_COLUMNS = 'id, doc_id, position, start, "end", text, period_start, period_end, stems, vector'
BUSY_MS = 30_000  # how long a write waits for another process's write to finish


def _storage_errors(method):
    """SQLite failures become the product's errors: a locked store is busy, anything else
    means the file is damaged (a 503 and a rebuild hint, not a traceback)."""

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise IndexBusyError(f"index store {self.path} is busy ({exc}); try again later") from exc
            raise disk_problem(self.path) or CorruptIndexError(
                f"index store {self.path} is damaged ({exc}); rebuild it with `qa index`") from exc
        except sqlite3.DatabaseError as exc:
            raise disk_problem(self.path) or CorruptIndexError(
                f"index store {self.path} is damaged ({exc}); rebuild it with `qa index`") from exc

    return checked


def content_hash(article: Article) -> str:
    """Changes when the text or any metadata a reader sees changes (not the file it came from)."""
    record = {k: getattr(article, k) for k in ("text", "title", "source", "date", "url")}
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Entry:
    """An article ready to store: its passages and their vectors (one row per passage)."""

    article: Article
    passages: list[Passage]
    vectors: np.ndarray


@dataclass
class Rows:
    """Passages as the searchable indexes need them: row numbers, vectors and BM25 terms."""

    rows: np.ndarray
    vectors: np.ndarray
    stems: list[list[str]]


class Store:
    def __init__(self, path: Path, dimension: int):
        self.path = Path(path)
        self.dimension = dimension
        self._local = threading.local()  # one reading connection per thread
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()

    @classmethod
    def create(cls, path: Path, dimension: int) -> Store:
        store = cls(path, dimension)
        with store._connect() as db:
            db.executescript(_SCHEMA)
        return store

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before it returns
        with self._connections_lock:
            self._connections.append(db)
        return db

    @property
    def _db(self) -> sqlite3.Connection:
        if not hasattr(self._local, "db"):
            self._local.db = self._connect()
        return self._local.db

    @_storage_errors
    def check(self) -> None:
        """Raise sqlite3.DatabaseError unless the file is a store."""
        self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        self._db.execute("SELECT count(*) FROM passages").fetchone()

    # reading

    @_storage_errors
    def generation(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    @_storage_errors
    def counts(self) -> tuple[int, int]:
        """Articles, passages."""
        return self._db.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages)"
        ).fetchone()

    @_storage_errors
    def hashes(self, ids: list[str] | None = None, schema: str = "main") -> dict[str, str]:
        """The content hash of each article of `ids` that is stored (of every article by
        default); `schema` names an attached store to read instead."""
        if ids is None:
            return dict(self._db.execute(f"SELECT id, hash FROM {schema}.articles"))
        found = {}
        for start in range(0, len(ids), 500):  # SQLite caps the number of parameters
            chunk = ids[start : start + 500]
            sql = f"SELECT id, hash FROM {schema}.articles WHERE id IN ({', '.join('?' * len(chunk))})"
            found.update(self._db.execute(sql, chunk).fetchall())
        return found

    @_storage_errors
    def row_ids(self) -> np.ndarray:
        return np.array([r for (r,) in self._db.execute("SELECT row FROM passages ORDER BY row")], dtype=np.int64)

    @_storage_errors
    def stems(self, up_to: int) -> dict[int, list[str]]:
        """The BM25 terms of the passages at rows up to `up_to`, by row."""
        records = self._db.execute("SELECT row, stems FROM passages WHERE row <= ?", (up_to,))
        return {row: terms.split(" ") if terms else [] for row, terms in records}

    @_storage_errors
    def rows_after(self, row: int) -> Rows:
        """The passages added after `row`, in row order, with vectors and terms."""
        records = self._db.execute(
            "SELECT row, stems, vector FROM passages WHERE row > ? ORDER BY row", (row,)
        ).fetchall()
        vectors = np.frombuffer(b"".join(r[2] for r in records), dtype=np.float32)
        return Rows(
            rows=np.array([r[0] for r in records], dtype=np.int64),
            vectors=vectors.reshape(len(records), self.dimension),
            stems=[r[1].split(" ") if r[1] else [] for r in records],
        )

    @_storage_errors
    def matching_rows(self, date_from: str | None, date_to: str | None, sources: list[str]) -> np.ndarray:
        clauses, args = [], []
        if date_from:
            clauses.append("a.date >= ?")
            args.append(date_from)
        if date_to:
            clauses.append("a.date <= ?")
            args.append(date_to)
        if sources:
            clauses.append(f"lower(a.source) IN ({', '.join('?' * len(sources))})")
            args.extend(s.lower() for s in sources)
        where = " AND ".join(clauses) or "1"
        sql = f"SELECT p.row FROM passages p JOIN articles a ON a.id = p.doc_id WHERE {where} ORDER BY p.row"
        return np.array([r for (r,) in self._db.execute(sql, args)], dtype=np.int64)

    @_storage_errors
    def passages(self, rows: list[int]) -> dict[int, Passage]:
        """The passages at `rows` that still exist, with their articles' metadata."""
        if not rows:
            return {}
        sql = (
            'SELECT p.row, p.id, p.doc_id, p.position, p.text, p.start, p."end", a.title, a.source, '
            "a.date, a.url, p.period_start, p.period_end "
            f"FROM passages p JOIN articles a ON a.id = p.doc_id WHERE p.row IN ({', '.join('?' * len(rows))})"
        )
        return {r[0]: Passage(*r[1:11], period=Period.parse(*r[11:])) for r in self._db.execute(sql, rows)}

    @_storage_errors
    def articles(self, offset: int, limit: int) -> list[ArticleInfo]:
        """Articles in id order, without their text."""
        sql = "SELECT id, title, source, date, url, passages, hash FROM articles ORDER BY id LIMIT ? OFFSET ?"
        return [ArticleInfo(*r) for r in self._db.execute(sql, (limit, offset))]

    @_storage_errors
    def facets(self) -> Facets:
        """The publishers and the range of publication dates, for search filters."""
        sources = self._db.execute(
            "SELECT source, count(*) FROM articles WHERE source IS NOT NULL GROUP BY lower(source) "
            "ORDER BY count(*) DESC, lower(source)"
        ).fetchall()
        first, last, undated = self._db.execute(
            "SELECT min(date), max(date), sum(date IS NULL) FROM articles").fetchone()
        return Facets(sources=[SourceCount(*s) for s in sources], first_date=first, last_date=last,
                      undated=undated or 0)

    @_storage_errors
    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        """One article's listing and its text."""
        record = self._db.execute(
            "SELECT id, title, source, date, url, passages, hash, text FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return (ArticleInfo(*record[:7]), record[7]) if record else None

    # writing

    @contextmanager
    def _transaction(self):
        """One write transaction, taken at once (so hashes read inside it stay true); it raises
        the generation when `changed` is set in it."""
        db = self._db
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                state = {"changed": False}
                yield db, state
                if state["changed"]:
                    db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @staticmethod
    def _delete(db: sqlite3.Connection, article_ids: list[str]) -> None:
        for article_id in article_ids:
            db.execute("DELETE FROM passages WHERE doc_id = ?", (article_id,))
            db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    @_storage_errors
    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        """In one transaction: store `entries` (replacing articles with the same id, skipping
        those whose content is already stored) and delete the articles in `remove`.
        Returns the ids written and the ids removed (those that existed)."""
        entries = list({e.article.id: e for e in entries}.values())  # the last of a repeated id wins
        with self._transaction() as (db, state):
            stored = self.hashes([e.article.id for e in entries] + list(remove))
            digests = {e.article.id: content_hash(e.article) for e in entries}
            written = [e for e in entries if stored.get(e.article.id) != digests[e.article.id]]
            removed = [i for i in dict.fromkeys(remove) if i in stored]
            self._delete(db, [e.article.id for e in written] + removed)
            for entry in written:
                self._insert(db, entry, digests[entry.article.id])
            state["changed"] = bool(written or removed)
        return [e.article.id for e in written], removed

    @_storage_errors
    def copy(self, source: Path, articles: list[Article]) -> list[str]:
        """Store `articles` with the passages, vectors and terms the store at `source` (same
        model) holds for the same id and content, in one transaction: what was embedded once is
        not embedded again. Returns the ids copied; the others are not in `source`."""
        if not Path(source).is_file():
            return []  # (attaching a missing file would create it)
        db = self._db
        db.execute("ATTACH DATABASE ? AS source", (str(source),))
        try:
            with self._transaction() as (db, state):
                there = self.hashes([a.id for a in articles], schema="source")
                copied = [a for a in articles if there.get(a.id) == content_hash(a)]
                self._delete(db, [a.id for a in copied])
                for a in copied:
                    db.execute(
                        "INSERT INTO articles SELECT id, hash, title, source, date, url, ?, text, passages "
                        "FROM source.articles WHERE id = ?", (a.path, a.id))
                    db.execute(
                        f"INSERT INTO passages ({_PASSAGE_COLUMNS}) SELECT {_PASSAGE_COLUMNS} "
                        "FROM source.passages WHERE doc_id = ? ORDER BY position", (a.id,))
                state["changed"] = bool(copied)
        finally:
            db.execute("DETACH DATABASE source")
        return [a.id for a in copied]

    def _insert(self, db: sqlite3.Connection, entry: Entry, digest: str) -> None:
        a = entry.article
        if entry.vectors.shape != (len(entry.passages), self.dimension):
            raise ValueError(f"article {a.id!r}: {entry.vectors.shape} vectors for {len(entry.passages)} passages")
        db.execute(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (a.id, digest, a.title, a.source, a.date, a.url, a.path, a.text, len(entry.passages)),
        )
        db.executemany(
            f"INSERT INTO passages ({_PASSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (p.id, p.doc_id, p.position, p.start, p.end, p.text,
                 p.period.start.isoformat() if p.period else None,
                 p.period.end.isoformat() if p.period else None,
                 " ".join(stems(p.text)), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                for p, v in zip(entry.passages, entry.vectors)
            ],
        )

    def close(self) -> None:
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()
