"""Vectors and passages on disk: a FAISS index, a SQLite passage store and a manifest.

Layout of an index directory:

    index/CURRENT                  name of the live build (replaced atomically)
    index/build-<time>-<tag>/      manifest.json, vectors.faiss, lexical/ (BM25), passages.sqlite

A save writes a complete new build beside the live one, then switches CURRENT to it with an
atomic rename; a crash at any point leaves the previous build in service. Row i of the FAISS
index is row i of the BM25 index and of the passages table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from qa.errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError
from qa.lexical import LexicalIndex
from qa.periods import Period
from qa.types import Article, Passage

FORMAT_VERSION = 2  # 2: BM25 index and passage periods
POINTER = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
STORE = "passages.sqlite"
LEXICAL = "lexical"

_SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT, source TEXT, date TEXT, url TEXT, path TEXT, text TEXT NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL REFERENCES articles(id),
    position INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    period_start TEXT, period_end TEXT
);
CREATE INDEX articles_date ON articles(date);
CREATE INDEX articles_source ON articles(lower(source));
"""


@dataclass
class Manifest:
    model: str
    dimension: int
    query_prefix: str
    passage_prefix: str
    passages: int
    articles: int
    corpus_fingerprint: str
    built_at: str
    format: int = FORMAT_VERSION


def corpus_fingerprint(articles: list[Article]) -> str:
    """Changes whenever any article's text or metadata changes."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        record = {k: v for k, v in asdict(article).items() if k != "path"}
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_index(
    index_dir: Path, articles: list[Article], passages: list[Passage], vectors: np.ndarray,
    manifest: Manifest,
) -> Path:
    """Write a new build and make it the live one. Returns the build directory."""
    index_dir.mkdir(parents=True, exist_ok=True)
    for stale in index_dir.glob(".build-*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted save
    name = f"build-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
    staging = index_dir / f".{name}.tmp"
    staging.mkdir()

    vector_index = faiss.IndexFlatIP(manifest.dimension)
    if len(vectors):
        vector_index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(vector_index, str(staging / VECTORS))
    LexicalIndex.build([p.text for p in passages]).save(staging / LEXICAL)
    with sqlite3.connect(staging / STORE) as db:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(a.id, a.title, a.source, a.date, a.url, a.path, a.text) for a in articles],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (row, p.id, p.doc_id, p.position, p.start, p.end, p.text,
                 p.period.start.isoformat() if p.period else None,
                 p.period.end.isoformat() if p.period else None)
                for row, p in enumerate(passages)
            ],
        )
    db.close()
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    for file in staging.rglob("*"):
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())

    build = index_dir / name
    os.rename(staging, build)
    pointer_tmp = index_dir / f".{POINTER}.{secrets.token_hex(3)}.tmp"
    pointer_tmp.write_text(name + "\n")
    with open(pointer_tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer_tmp, index_dir / POINTER)
    _fsync_dir(index_dir)

    for old in index_dir.glob("build-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return build


def read_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    """The live build directory and its manifest."""
    pointer = index_dir / POINTER
    if not pointer.is_file():
        raise IndexNotFoundError(f"no index in {index_dir}: build one with `qa index PATH --index-dir {index_dir}`")
    build = index_dir / pointer.read_text().strip()
    try:
        fields = json.loads((build / MANIFEST).read_text())
        manifest = Manifest(**fields)
    except (OSError, ValueError, TypeError) as exc:
        raise CorruptIndexError(f"index in {index_dir} is damaged ({exc}); rebuild it with `qa index`") from exc
    return build, manifest


def _period(start: str | None, end: str | None) -> Period | None:
    return Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) if start and end else None


class PassageIndex:
    """A loaded index: search vectors, then read passages and their articles."""

    def __init__(self, index_dir: Path, model: str, dimension: int, passage_prefix: str):
        self.directory = Path(index_dir)
        build, self.manifest = read_manifest(self.directory)
        expected = (model, dimension, passage_prefix, FORMAT_VERSION)
        found = (self.manifest.model, self.manifest.dimension, self.manifest.passage_prefix,
                 self.manifest.format)
        if found != expected:
            raise IndexMismatchError(
                f"index in {self.directory} was built with model {found[0]!r} (dimension {found[1]}, "
                f"passage prefix {found[2]!r}, format {found[3]}) but the current setting is "
                f"{model!r} (dimension {dimension}, passage prefix {passage_prefix!r}, format "
                f"{FORMAT_VERSION}); rebuild it: qa index PATH --index-dir {self.directory}"
            )
        try:
            self._vectors = faiss.read_index(str(build / VECTORS))
            self.lexical = LexicalIndex.load(build / LEXICAL)
            self._db = sqlite3.connect(f"file:{build / STORE}?mode=ro", uri=True, check_same_thread=False)
            stored = self._db.execute("SELECT count(*) FROM passages").fetchone()[0]
        except (RuntimeError, sqlite3.Error, OSError, ValueError) as exc:
            raise CorruptIndexError(f"index in {self.directory} is damaged ({exc}); rebuild it with `qa index`") from exc
        if not (self._vectors.ntotal == stored == self.manifest.passages):
            raise CorruptIndexError(
                f"index in {self.directory} is inconsistent ({self._vectors.ntotal} vectors, {stored} "
                f"passages, manifest says {self.manifest.passages}); rebuild it with `qa index`"
            )
        self._lock = threading.Lock()  # one SQLite connection shared by the server's threads

    def __len__(self) -> int:
        return self._vectors.ntotal

    def matching_rows(self, date_from: str | None, date_to: str | None, sources: list[str]) -> np.ndarray | None:
        """The rows whose articles pass the filters; None when there are no filters."""
        if not (date_from or date_to or sources):
            return None
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
        sql = "SELECT p.row FROM passages p JOIN articles a ON a.id = p.doc_id WHERE " + " AND ".join(clauses)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def search(
        self, vector: np.ndarray, k: int, date_from: str | None = None, date_to: str | None = None,
        sources: list[str] | None = None,
    ) -> list[tuple[int, float]]:
        """The k nearest passage rows by cosine, among those passing the filters."""
        params = None
        rows = self.matching_rows(date_from, date_to, sources or [])
        if rows is not None:
            if not len(rows):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows))
            k = min(k, len(rows))
        k = min(k, len(self))
        if k <= 0:
            return []
        scores, rows = self._vectors.search(vector.reshape(1, -1).astype(np.float32), k, params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def similarities(self, vector: np.ndarray, rows: list[int]) -> np.ndarray:
        """Cosine of `vector` with the passages at `rows`."""
        if not rows:
            return np.zeros(0, dtype=np.float32)
        return self._vectors.reconstruct_batch(np.array(rows, dtype=np.int64)) @ vector

    def passages(self, rows: list[int]) -> list[Passage]:
        """The passages at `rows`, in that order, with their articles' metadata."""
        if not rows:
            return []
        sql = (
            'SELECT p.row, p.id, p.doc_id, p.position, p.text, p.start, p."end", a.title, a.source, '
            "a.date, a.url, p.period_start, p.period_end "
            f"FROM passages p JOIN articles a ON a.id = p.doc_id WHERE p.row IN ({', '.join('?' * len(rows))})"
        )
        with self._lock:
            found = {r[0]: Passage(*r[1:11], period=_period(*r[11:])) for r in self._db.execute(sql, rows)}
        return [found[r] for r in rows]

    def close(self) -> None:
        self._db.close()
