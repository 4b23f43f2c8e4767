"""The durable record of an index: articles, their passages, vectors and BM25 terms in one
SQLite file (WAL journal, full sync).

Every change is one transaction, so a process killed at any moment leaves either the state
before it or the state after it, never a half-added article. Each commit raises `generation`;
readers in any process compare it with the one they loaded to know when to refresh.
Passage rows come from AUTOINCREMENT and are never reused, so the rows added since a reader
last looked are exactly those above the largest row it knows.

Every article row and passage row carries a checksum of what it holds (text, metadata, vector,
terms), written with it. SQLite's own checks see a damaged page, not a changed byte inside a
valid one, so the checksums are what `damaged` (and `qa check`) verifies, what a passage or an
article is checked against before it is served, and what a rebuild checks before it copies a
stored article instead of embedding it again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from qa.errors import CorruptIndexError, IndexBusyError, damaged_index, read_only_disk
from qa.lexical import stems
from qa.periods import Period
from qa.types import Article, ArticleInfo, Facets, Passage, SourceCount

# The rows of deleted passages, by the generation of the commit that deleted them: a process
# whose snapshot is at generation g hides what `removed_since(g)` gives, instead of listing every
# row to find what is gone (a tenth of a second at 100k passages, for each write, in each
# server worker). Kept for the last REMOVED_LOG_GENERATIONS commits; 'removed_log_from' is the
# generation after which it is complete (a store made before the log: from its first write
# since).
_REMOVED_LOG = """
CREATE TABLE IF NOT EXISTS removed (row INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removed_generation ON removed(generation);
INSERT OR IGNORE INTO meta SELECT 'removed_log_from', {since};
"""
REMOVED_LOG_GENERATIONS = 10_000
# Rows a Store remembers as verified (`VerifiedRows`): a few questions' candidates over and over,
# at about 4 KB a passage row (text, terms, vector), so at most some 30 MB a process.
VERIFIED_ROWS = 8192
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, title TEXT, source TEXT, date TEXT, url TEXT, path TEXT,
    text TEXT NOT NULL, passages INTEGER NOT NULL, checksum TEXT NOT NULL, author TEXT
);
CREATE TABLE IF NOT EXISTS passages (
    row INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES articles(id), position INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL, period_start TEXT, period_end TEXT,
    stems TEXT NOT NULL, vector BLOB NOT NULL, checksum TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE INDEX IF NOT EXISTS articles_source ON articles(lower(source));
INSERT OR IGNORE INTO meta VALUES ('generation', '0');
""" + _REMOVED_LOG.format(since="'0'")
# What an article row's checksum covers. `author` came later, last, and counts only when set, so
# that rows stored before it keep their checksums; a store made before it gains the column when
# opened for writing (`_add_author_column`) and reads as having no authors where it cannot be.
_ARTICLE_COLUMNS = "id, hash, title, source, date, url, text, passages, author"
_PASSAGE_COLUMNS = 'id, doc_id, position, start, "end", text, period_start, period_end, stems, vector'
BUSY_MS = 30_000  # how long a write waits for another process's write to finish


log = logging.getLogger(__name__)


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
            raise damaged_index(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise damaged_index(self.path, exc) from exc

    return checked


def content_hash(article: Article) -> str:
    """Changes when the text or any metadata a reader sees changes (not the file it came from).
    The author counts only when known, so articles stored before authors were read keep
    their hashes."""
    record = {k: getattr(article, k) for k in ("text", "title", "source", "date", "url")}
    if article.author is not None:
        record["author"] = article.author
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def checksum(*fields: str | int | bytes | None) -> str:
    """A digest of a stored row's fields, each typed and length-prefixed (so no two different
    rows share one by shifting bytes from one field to the next)."""
    digest = hashlib.blake2b(digest_size=16)
    for value in fields:
        if value is None:
            tag, data = b"n", b""
        elif isinstance(value, bytes):
            tag, data = b"b", value
        elif isinstance(value, str):
            tag, data = b"s", value.encode("utf-8", "surrogatepass")
        else:
            tag, data = b"i", str(value).encode()
        digest.update(tag + len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def article_checksum(*values: str | int | None) -> str:
    """`checksum` of an article row's _ARTICLE_COLUMNS, its author left out when it has none."""
    return checksum(*(values[:-1] if values[-1] is None else values))


class VerifiedRows:
    """The values of the rows whose checksums passed lately, by row key. Serving reads the same
    candidate rows question after question, and hashing them again was a sixth of a question's
    own Python work; a row read with exactly the values and checksum that passed before passes
    again, compared instead of hashed. A row changed on disk differs in some value (or is read
    for the first time), so it is hashed and caught as before. Holds the last `limit` rows."""

    def __init__(self, limit: int = VERIFIED_ROWS):
        self._limit = limit
        self._rows: dict[object, tuple] = {}
        self._lock = threading.Lock()  # a Store serves several threads

    def intact(self, key: object, values: tuple, stored: str, digest) -> bool:
        """Whether `values` match `stored`; `digest` computes their checksum when not known."""
        record = (values, stored)
        if self._rows.get(key) == record:
            return True
        if digest(*values) != stored:
            return False
        with self._lock:
            self._rows.pop(key, None)
            if len(self._rows) >= self._limit:
                del self._rows[next(iter(self._rows))]  # the oldest first
            self._rows[key] = record
        return True


def damage_notice(article_ids: list[str]) -> str:
    """What to say about articles whose stored rows fail their checksums, and how to recover."""
    shown = ", ".join(repr(i) for i in article_ids[:5]) + (", …" if len(article_ids) > 5 else "")
    return (f"{len(article_ids)} article(s) changed on disk since they were stored ({shown}); they are not "
            "served: restore them from their sources (`qa index PATH` re-reads and re-embeds them, "
            "`qa add` or POST /articles replaces one)")


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
        self._reported: set[str] = set()  # damaged articles already warned about
        self._verified = VerifiedRows()  # rows served lately, compared instead of hashed again
        self._authors_kept = False  # whether the articles table is known to have the author column

    @classmethod
    def create(cls, path: Path, dimension: int) -> Store:
        store = cls(path, dimension)
        with store._connect() as db:
            db.executescript(_SCHEMA)
        return store

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before it returns
        except sqlite3.OperationalError:
            db.close()
            if not read_only_disk(self.path):
                raise
            db = self._read_only_connection()
        else:
            self._add_author_column(db)
            self._add_removed_log(db)
        with self._connections_lock:
            self._connections.append(db)
        return db

    @staticmethod
    def _add_author_column(db: sqlite3.Connection) -> None:
        """A store made before authors were kept gains the column (a change to the table's
        definition only: no row is rewritten)."""
        columns = _columns(db, "main")
        if "author" in columns or not columns:  # current, or not yet created
            return
        try:
            db.execute("ALTER TABLE articles ADD COLUMN author TEXT")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):  # another process added it first: done
                raise

    @staticmethod
    def _add_removed_log(db: sqlite3.Connection) -> None:
        """A store made before the log of removed rows gains it, complete from now on. Looked
        for first: a reader's connection then never waits for the write lock."""
        if not _columns(db, "main") or db.execute("SELECT 1 FROM meta WHERE key = 'removed_log_from'").fetchone():
            return  # not made yet (`create` makes the log with the rest), or has it
        db.execute("BEGIN IMMEDIATE")  # (executescript would commit between its statements)
        try:
            for statement in _REMOVED_LOG.format(since="value FROM meta WHERE key = 'generation'").split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _has_authors(self, schema: str = "main") -> bool:
        """Whether `schema`'s articles table has the author column (not: a store made before
        it, on a read-only disk or attached). Asked once for this store's own table, which
        keeps the column once it has it."""
        if schema == "main" and self._authors_kept:
            return True
        found = "author" in _columns(self._db, schema)
        self._authors_kept = self._authors_kept or (found and schema == "main")
        return found

    def _article_columns(self, schema: str = "main") -> str:
        """_ARTICLE_COLUMNS as `schema`'s articles table can give them (no authors: NULL)."""
        return _ARTICLE_COLUMNS if self._has_authors(schema) else _ARTICLE_COLUMNS.replace("author", "NULL AS author")

    def _read_only_connection(self) -> sqlite3.Connection:
        """A connection to a store on a read-only disk (a backup, a shared volume). WAL needs
        its -shm file, which nothing can create there; a store whose writer closed it (no
        -wal file left) is complete in its main file and is opened as immutable."""
        writer_active = Path(f"{self.path}-wal").exists()
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro{'' if writer_active else '&immutable=1'}"
        return sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)

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

    @_storage_errors
    def integrity(self) -> list[str]:
        """What SQLite's integrity check finds wrong with the file's structure (nothing: [])."""
        found = [line for (line,) in self._db.execute("PRAGMA integrity_check")]
        return [] if found == ["ok"] else found

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
        found = {}
        for where, args in self._id_chunks(ids, "id"):
            found.update(self._db.execute(f"SELECT id, hash FROM {schema}.articles {where}", args))
        return found

    @_storage_errors
    def row_ids(self) -> np.ndarray:
        return np.array([r for (r,) in self._db.execute("SELECT row FROM passages ORDER BY row")], dtype=np.int64)

    @_storage_errors
    def removed_since(self, generation: int) -> np.ndarray | None:
        """The rows of the passages deleted by commits after `generation`; None where the log
        of them does not reach back that far (then only `row_ids` tells what is gone)."""
        db = self._db
        db.execute("BEGIN")  # the log and where it starts, as of one moment
        try:
            since = db.execute("SELECT value FROM meta WHERE key = 'removed_log_from'").fetchone()
            if since is None or generation < int(since[0]):
                return None
            rows = db.execute("SELECT row FROM removed WHERE generation > ? ORDER BY row", (generation,))
            return np.array([r for (r,) in rows], dtype=np.int64)
        finally:
            db.execute("COMMIT")

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
        """The passages at `rows` that still exist and are intact, with their articles'
        metadata; those that fail their checksums are left out, with a warning."""
        if not rows:
            return {}
        sql = (f"SELECT row, {_PASSAGE_COLUMNS}, checksum FROM passages "
               f"WHERE row IN ({', '.join('?' * len(rows))})")
        records = self._db.execute(sql, rows).fetchall()
        doc_ids = sorted({r[2] for r in records})
        articles = {}  # each article read and verified once, however many of its passages are here
        columns = self._article_columns()
        for where, args in self._id_chunks(doc_ids, "id"):
            for *values, stored in self._db.execute(f"SELECT {columns}, checksum FROM articles {where}", args):
                values = tuple(values)
                articles[values[0]] = (values if self._verified.intact(("article", values[0]), values, stored,
                                                                      article_checksum) else None)
        found, intact = {}, {i: articles[i] is not None for i in articles}
        for row, *values, stored in records:
            values = tuple(values)
            passage_id, doc_id, position, start, end, text, period_start, period_end = values[:8]
            if doc_id not in articles:
                continue  # deleted since its passages were read: gone, not damaged
            if not intact[doc_id] or not self._verified.intact(row, values, stored, checksum):
                intact[doc_id] = False
                continue
            _, _, title, source, date, url, _, _, author = articles[doc_id]
            found[row] = Passage(passage_id, doc_id, position, text, start, end, title, source, date, url,
                                 period=Period.parse(period_start, period_end), author=author)
        self._report_damage([i for i, ok in intact.items() if not ok])
        return {row: p for row, p in found.items() if intact[p.doc_id]}

    def _report_damage(self, article_ids: list[str]) -> None:
        """Warn once per process about each damaged article met while serving."""
        new = [i for i in article_ids if i not in self._reported]
        if new:
            self._reported.update(new)
            log.warning("%s: %s", self.path, damage_notice(new))

    @_storage_errors
    def damaged(self, ids: list[str] | None = None, schema: str = "main") -> list[str]:
        """The ids of the articles (of `ids`, or all) whose stored rows no longer match their
        checksums or whose passages are missing: linear in what it reads, one row at a time."""
        found, counts, bad = set(), {}, set()
        for where, args in self._id_chunks(ids, "doc_id"):
            for *values, stored in self._db.execute(
                    f"SELECT {_PASSAGE_COLUMNS}, checksum FROM {schema}.passages {where}", args):
                counts[values[1]] = counts.get(values[1], 0) + 1
                if checksum(*values) != stored:
                    bad.add(values[1])
        columns = self._article_columns(schema)
        for where, args in self._id_chunks(ids, "id"):
            for *values, stored in self._db.execute(f"SELECT {columns}, checksum FROM {schema}.articles {where}", args):
                found.add(values[0])
                if article_checksum(*values) != stored or counts.get(values[0], 0) != values[7]:
                    bad.add(values[0])
        # a passage whose article id was garbled points at no article: its own article is
        # already counted short above, so only stored articles are reported
        return sorted(bad & found)

    @staticmethod
    def _id_chunks(ids: list[str] | None, column: str):
        """WHERE clauses selecting `ids` (all rows when None), in chunks SQLite accepts."""
        if ids is None:
            yield "", ()
            return
        for start in range(0, len(ids), 500):  # SQLite caps the number of parameters
            chunk = ids[start : start + 500]
            yield f"WHERE {column} IN ({', '.join('?' * len(chunk))})", chunk

    @_storage_errors
    def articles(self, offset: int, limit: int) -> list[ArticleInfo]:
        """Articles in id order, without their text."""
        author = "author" if self._has_authors() else "NULL"
        sql = f"SELECT id, title, source, date, url, {author}, passages, hash FROM articles ORDER BY id LIMIT ? OFFSET ?"
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
        """One article's listing and its text; CorruptIndexError if it fails its checksum."""
        record = self._db.execute(
            f"SELECT {self._article_columns()}, checksum FROM articles WHERE id = ?", (article_id,)).fetchone()
        if record is None:
            return None
        article_id, digest, title, source, date, url, text, count, author, stored = record
        if article_checksum(*record[:-1]) != stored:
            raise CorruptIndexError(f"index store {self.path}: {damage_notice([article_id])}")
        return ArticleInfo(article_id, title, source, date, url, author, count, digest), text

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
                    self._prune_removed_log(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if state["changed"]:
                # Into the main file now, not at SQLite's next automatic checkpoint: a copy or
                # backup of the store without its -wal (taken while a server runs) then misses
                # nothing committed.
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @staticmethod
    def _prune_removed_log(db: sqlite3.Connection) -> None:
        """Forget removals older than REMOVED_LOG_GENERATIONS commits: a snapshot that old lists
        every row instead."""
        (generation,) = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        floor = int(generation) - REMOVED_LOG_GENERATIONS
        if floor > 0:
            db.execute("DELETE FROM removed WHERE generation <= ?", (floor,))
            db.execute("UPDATE meta SET value = max(CAST(value AS INTEGER), ?) WHERE key = 'removed_log_from'",
                       (floor,))

    @staticmethod
    def _delete(db: sqlite3.Connection, article_ids: list[str]) -> None:
        """Delete the articles and their passages, logging the passages' rows under the
        generation this transaction commits (`removed_since`)."""
        for article_id in article_ids:
            db.execute("INSERT OR REPLACE INTO removed (row, generation) SELECT row, (SELECT value + 1 FROM meta "
                       "WHERE key = 'generation') FROM passages WHERE doc_id = ?", (article_id,))
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
            damaged = set(self.damaged([e.article.id for e in entries if e.article.id in stored]))
            written = [e for e in entries
                       if e.article.id in damaged or stored.get(e.article.id) != digests[e.article.id]]
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
        not embedded again. Returns the ids copied; the others are not in `source`, or not
        intact there."""
        if not Path(source).is_file():
            return []  # (attaching a missing file would create it)
        db = self._db
        db.execute("ATTACH DATABASE ? AS source", (str(source),))
        try:
            with self._transaction() as (db, state):
                there = self.hashes([a.id for a in articles], schema="source")
                copied = [a for a in articles if there.get(a.id) == content_hash(a)]
                damaged = set(self.damaged([a.id for a in copied], schema="source"))
                if damaged:
                    log.warning("%s: %s", source, damage_notice(sorted(damaged)))
                copied = [a for a in copied if a.id not in damaged]
                self._delete(db, [a.id for a in copied])
                columns = self._article_columns("source")
                for a in copied:
                    db.execute(
                        f"INSERT INTO articles ({_ARTICLE_COLUMNS}, path, checksum) SELECT {columns}, ?, checksum "
                        "FROM source.articles WHERE id = ?", (a.path, a.id))
                    db.execute(
                        f"INSERT INTO passages ({_PASSAGE_COLUMNS}, checksum) SELECT {_PASSAGE_COLUMNS}, checksum "
                        "FROM source.passages WHERE doc_id = ? ORDER BY position", (a.id,))
                state["changed"] = bool(copied)
        finally:
            db.execute("DETACH DATABASE source")
        return [a.id for a in copied]

    def _insert(self, db: sqlite3.Connection, entry: Entry, digest: str) -> None:
        a = entry.article
        if entry.vectors.shape != (len(entry.passages), self.dimension):
            raise ValueError(f"article {a.id!r}: {entry.vectors.shape} vectors for {len(entry.passages)} passages")
        article = (a.id, digest, a.title, a.source, a.date, a.url, a.text, len(entry.passages), a.author)
        db.execute(f"INSERT INTO articles ({_ARTICLE_COLUMNS}, path, checksum) VALUES ({', '.join('?' * 11)})",
                   (*article, a.path, article_checksum(*article)))
        passages = [
            (p.id, p.doc_id, p.position, p.start, p.end, p.text,
             p.period.start.isoformat() if p.period else None,
             p.period.end.isoformat() if p.period else None,
             " ".join(stems(p.text)), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for p, v in zip(entry.passages, entry.vectors)
        ]
        db.executemany(f"INSERT INTO passages ({_PASSAGE_COLUMNS}, checksum) VALUES ({', '.join('?' * 11)})",
                       [(*values, checksum(*values)) for values in passages])

    def backup_to(self, copy: sqlite3.Connection) -> None:
        """Copy the whole store into the database `copy`, as one consistent state (SQLite's
        backup API: a commit under way is either all in the copy or not at all)."""
        self._db.backup(copy)

    def close(self) -> None:
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()


def _columns(db: sqlite3.Connection, schema: str) -> set[str]:
    """The columns of `schema`'s articles table (none: no such table yet)."""
    return {name for _, name, *_ in db.execute(f"PRAGMA {schema}.table_info(articles)")}
