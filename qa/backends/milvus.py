"""The Milvus backend (QA_BACKEND=milvus): passages, metadata, vectors and the lexical index in
Milvus, embedded (Milvus Lite: `QA_MILVUS_URI` a file path ending in .db) or a standalone
server or cluster (an ``http://`` URI). `pip install 'qa-berita[cluster]'`.

Each build is two collections, `<prefix>_passages_<stamp>` and `<prefix>_articles_<stamp>`,
reached through the aliases `<prefix>_passages` and `<prefix>_articles`. A full rebuild fills
new collections and switches the aliases when they are complete, so readers never see a
half-built index; the build's manifest (model, prefixes) is a property of its passages
collection.

- Vectors: FLAT (exact) below `exact_search_below` passages, HNSW above, as the local backend
  chooses; date and source filters are Milvus expressions, applied inside the search.
- Words: Milvus's own BM25 (its full-text search function) over the project's Indonesian stems,
  stored as text, so scores are BM25 over the same stems as the local backend's.
- Writes: Milvus has no transactions. An article's rows in the articles collection are its
  commit mark: a write deletes them first, then the article's old passages, writes the new
  passages and writes the article rows last. A writer killed between two of these calls leaves
  an article without its mark (absent from listings, its passages possibly still found by
  searches); the next write of that article, or its removal, finds no mark and writes (or
  deletes) all of its rows again, and `qa check` lists such articles. Writes in one process take
  turns; API replicas over one server may all write (different articles at once both land).
  Rows are upserted by their ids, so the same article written at the same moment through two
  replicas is stored once; two different versions of it written at that moment have no order,
  and can leave a mix of both until its next write replaces them.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np

from qa.backends.base import FORMAT_VERSION, Backend, Build, CheckReport, Filters, Hit, IndexFacts, Manifest, same_model
from qa.config import Settings
from qa.errors import REBUILD_HINT, BackendUnavailableError, IndexBusyError, IndexMismatchError, IndexNotFoundError, QAError
from qa.lexical import K1, stems
from qa.periods import Period
from qa.store import Entry, content_hash
from qa.types import Article, ArticleInfo, Facets, Passage, SourceCount
from qa.vectors import AUTO_EF_SEARCH

log = logging.getLogger(__name__)


class _Noise(logging.Filter):
    """Records said again, in one line, by the error raised, or of nothing wrong: pymilvus's
    traceback of every failed call (`MilvusBackend._call` raises its reason in one line, or
    retries it), and Milvus Lite's of a file another process holds. Milvus Lite also has no
    timestamp service: at every query iterator its gRPC server logs a traceback and pymilvus a
    warning, and the iterator then uses the client's own time, which is as good for one
    process. Nothing else is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in (
            "RPC error:", "mvccTs", "Method not implemented", "Failed to start MilvusLite"))


for _logger in ("pymilvus.decorators", "pymilvus.client.iterator.query_iterator", "grpc._server",
                "milvus_lite.server_manager"):
    logging.getLogger(_logger).addFilter(_Noise())

MANIFEST_PROPERTY = "qa.manifest"
STATE_PROPERTY = "qa.state"  # "building" until a build is complete, then "live"
GENERATION_PROPERTY = "qa.generation"  # raised by every write, for /health
CHANGE_PROPERTY = "qa.change"  # a random token written by every write with its generation
TEXT_PART = 16_000  # characters of an article's text per row: Milvus strings hold 65,535 bytes
ID_LENGTH = 4_096
TEXT_LENGTH = 65_535
IN_BATCH = 500  # ids per `in [...]` expression
UPSERT_BATCH = 1_000  # rows per upsert call
CONNECT_SECONDS = 10.0
LIVE_SECONDS = 1.0  # how long this process trusts what it last learnt of the live build
SIZE_SECONDS = 60.0  # how long a passage count chooses efSearch (it changes by size class: 300k)
# API replicas write at once. Milvus Lite's server fails one of two changes of a collection's
# properties made at the same moment (both rename the same file), so recording a write's
# generation is read again and retried.
CHANGE_TRIES, CHANGE_PAUSE = 4, 0.05
NOT_LOADED = 101  # Milvus's error code for a search of a collection not loaded
# Stems such as "12,37" and "4.500" are one token to the project; Milvus's analyzer splits on
# punctuation, so each stem is written as one word: "_" "," "." become "_u" "_c" "_d".
_ESCAPES = str.maketrans({"_": "_u", ",": "_c", ".": "_d"})


def embedded(settings: Settings) -> bool:
    """Whether the settings name Milvus Lite (a file, one process at a time), not a server."""
    return settings.backend == "milvus" and not re.match(r"^(https?|tcp|grpc)://", settings.milvus_uri)


def stem_text(words: list[str]) -> str:
    """Stems as the text Milvus's analyzer cuts back into exactly these tokens."""
    return " ".join(word.translate(_ESCAPES) for word in words)


def _not_loaded(exc: Exception) -> bool:
    """Whether a failed call found its collection not loaded (Milvus's error 101; Milvus Lite
    says "released")."""
    return getattr(exc, "code", None) == NOT_LOADED or bool(re.search(r"not loaded|state 'released'", str(exc)))


def _literal(value: str) -> str:
    """A string as a Milvus expression literal."""
    return json.dumps(value, ensure_ascii=False)


def _in(field: str, values) -> str:
    return f"{field} in [{', '.join(_literal(v) for v in values)}]"


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def filter_expression(filters: Filters) -> str:
    """`filters` as a Milvus boolean expression ('' for none). Undated articles pass no date
    filter, as in the local backend."""
    clauses = []
    if filters.date_from or filters.date_to:
        clauses.append('date != ""')
    if filters.date_from:
        clauses.append(f"date >= {_literal(filters.date_from)}")
    if filters.date_to:
        clauses.append(f"date <= {_literal(filters.date_to)}")
    if filters.sources:
        clauses.append(_in("source_key", sorted({s.lower() for s in filters.sources})))
    return " and ".join(clauses)


class MilvusBackend(Backend):
    """An index in Milvus: one client, shared by threads."""

    name = "milvus"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.prefix = settings.milvus_collection
        self.uri = settings.milvus_uri or str(Path(settings.index_dir) / "milvus.db")
        self.lite = embedded(settings)
        if self.lite and not self.uri.endswith(".db"):
            raise BackendUnavailableError(f"QA_MILVUS_URI {self.uri!r} is neither a Milvus Lite file ending in .db "
                                          "nor an http:// address of a Milvus server")
        self._client = None
        self._client_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one write at a time in this process (no transactions)
        self._loaded: set[str] = set()  # collections loaded by this process
        self._live: tuple[float, str | None] | None = None  # (when asked, the live collection)
        self._size: tuple[float, int] | None = None  # (when counted, passages): for HNSW's efSearch
        self._manifest: tuple[str, Manifest] | None = None  # (collection, its manifest)
        self._listing: tuple[tuple[str, int], list[str]] | None = None  # article ids in order, by generation
        self._authors: dict[str, bool] = {}  # collection: whether it has the author field

    # --- connection and names ------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"Milvus {self.uri} ({self.prefix})"

    @property
    def client(self):
        """The Milvus client, connected on first use; BackendUnavailableError when it cannot be."""
        with self._client_lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self):
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise BackendUnavailableError("QA_BACKEND=milvus needs the Milvus client: pip install "
                                          "'qa-berita[cluster]'") from None
        token = self.settings.milvus_token.get_secret_value() if self.settings.milvus_token else ""
        if self.lite:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            return MilvusClient(uri=self.uri, token=token, timeout=CONNECT_SECONDS)
        except Exception as exc:  # pymilvus raises MilvusException, grpc errors, or OSError from Lite
            if self.lite and _held(Path(self.uri) / "LOCK"):
                raise IndexBusyError(f"Milvus Lite file {self.uri} is open in another process (a running `qa serve`?); "
                                     "Milvus Lite serves one process: stop it, or use a Milvus server") from None
            raise BackendUnavailableError(f"cannot reach Milvus at {self.uri} ({_reason(exc)}); check QA_MILVUS_URI "
                                          "and QA_MILVUS_TOKEN") from None

    def _call(self, what: str, method: str, *args, **kwargs):
        """A client call whose failure becomes one clear error. A search or query of a collection
        the server does not hold loaded (it restarted, or an operator released it) loads the
        live build again and is tried once more: what this process noted as loaded is stale."""
        for attempt in range(2):
            try:
                return getattr(self.client, method)(*args, **kwargs)
            except QAError:
                raise
            except Exception as exc:
                if attempt == 0 and method in ("search", "query") and _not_loaded(exc):
                    self._loaded.clear()
                    self._collections()
                    continue
                raise BackendUnavailableError(f"Milvus at {self.uri} failed to {what} ({_reason(exc)})") from None

    def _alias(self, kind: str) -> str:
        return f"{self.prefix}_{kind}"

    def _live_collection(self, fresh: bool = False) -> str | None:
        """The passages collection the alias points at, or None when there is no index. Asked
        of Milvus at most every LIVE_SECONDS (two calls of the few a question costs) unless
        `fresh`: searches go through the alias, so only the model check can lag a rebuild."""
        now = time.monotonic()
        if fresh or self._live is None or now - self._live[0] > LIVE_SECONDS:
            alias = self._alias("passages")
            if alias not in self._call("find the index", "list_aliases").get("aliases", []):
                collection = None
            else:
                collection = self._call("find the index", "describe_alias", alias)["collection_name"]
            self._live = (now, collection)
        return self._live[1]

    def holds_authors(self, collection: str) -> bool:
        """Whether `collection` (a build's, or the live aliases) has the author field: builds
        made before authors were kept do not, and read and write without them. A collection's
        fields never change, so each is asked once."""
        if collection in (self._alias("passages"), self._alias("articles")):
            collection = self._live_collection() or collection  # a build's two collections share a schema
        if collection not in self._authors:
            fields = self._call("describe the index", "describe_collection", collection).get("fields", [])
            self._authors[collection] = any(f.get("name") == "author" for f in fields)
        return self._authors[collection]

    def _fields(self, collection: str, fields: list[str]) -> list[str]:
        return [*fields, "author"] if self.holds_authors(collection) else fields

    # --- the live build -----------------------------------------------------------------------

    @property
    def live(self) -> str:
        return f"{self.where}: {self._live_collection()}"

    @property
    def manifest(self) -> Manifest:
        collection = self._live_collection()
        if collection is None:
            raise IndexNotFoundError(f"no index in {self.where}: build one with `qa index PATH`")
        if self._manifest is None or self._manifest[0] != collection:
            self._manifest = (collection, self._read_manifest(collection))
        return self._manifest[1]

    def _read_manifest(self, collection: str) -> Manifest:
        properties = self._call("describe the index", "describe_collection", collection).get("properties", {})
        try:
            fields = json.loads(properties[MANIFEST_PROPERTY])
            manifest = Manifest(**fields)
        except (KeyError, ValueError, TypeError) as exc:
            raise IndexMismatchError(f"collection {collection} in {self.where} was not made by this program "
                                     f"(no readable manifest: {exc}); {REBUILD_HINT}") from None
        if manifest.format != FORMAT_VERSION:
            raise IndexMismatchError(f"index in {self.where} has format {manifest.format}, this version reads "
                                     f"format {FORMAT_VERSION}; {REBUILD_HINT}")
        return manifest

    def create(self, manifest: Manifest) -> None:
        with self._write_lock:
            if self._live_collection(fresh=True) is None:
                build = self._new_build(manifest)
                build.finish()

    @contextmanager
    def rebuild(self, manifest: Manifest, resume: bool):
        with self._write_lock:
            build = self._resumable(manifest) if resume else None
            build = build or self._new_build(manifest)
            try:
                yield build
            except BaseException:
                if not resume:
                    build.drop()
                raise
            build.finish()
        self._manifest = None

    def _staging(self) -> list[str]:
        """Passages collections of builds that are not live (interrupted ones), newest first."""
        live = self._live_collection(fresh=True)
        names = self._call("list collections", "list_collections")
        return sorted((n for n in names if n.startswith(self._alias("passages") + "_") and n != live), reverse=True)

    def _resumable(self, manifest: Manifest) -> MilvusBuild | None:
        for name in self._staging():
            properties = self._call("describe a build", "describe_collection", name).get("properties", {})
            try:
                found = Manifest(**json.loads(properties[MANIFEST_PROPERTY]))
            except (KeyError, ValueError, TypeError):
                continue
            if properties.get(STATE_PROPERTY) == "building" and same_model(found, manifest) \
                    and found.format == FORMAT_VERSION:
                log.info("resuming the interrupted build %s", name)
                build = MilvusBuild(self, name.rsplit("_", 1)[-1], manifest)
                self._load(build.passages_name, build.articles_name)
                return build
        return None

    def _new_build(self, manifest: Manifest) -> MilvusBuild:
        for name in self._staging():  # interrupted builds of another model, or not to be resumed
            self._drop_build(name.rsplit("_", 1)[-1])
        stamp = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}{secrets.token_hex(3)}"
        build = MilvusBuild(self, stamp, manifest)
        build.create()
        return build

    def _drop_build(self, stamp: str) -> None:
        for kind in ("passages", "articles"):
            name = f"{self._alias(kind)}_{stamp}"
            if self._call("list collections", "has_collection", name):
                self._call("drop an old build", "drop_collection", name)

    # --- writing ------------------------------------------------------------------------------

    def _collections(self) -> tuple[str, str]:
        """The live build's collections (by alias), loaded for searching."""
        collection = self._live_collection()
        self.manifest  # IndexNotFoundError when there is none
        self._load(collection, collection.replace(self._alias("passages"), self._alias("articles"), 1))
        return self._alias("passages"), self._alias("articles")

    def _load(self, *collections: str) -> None:
        """Load `collections` into memory, once per process (Milvus searches loaded ones only)."""
        for name in collections:
            if name not in self._loaded:
                self._call("load a collection", "load_collection", name)
                self._loaded.add(name)

    def stored(self, ids: list[str]) -> dict[str, str]:
        return _stored(self, *self._collections(), ids)

    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        with self._write_lock:
            return _write(self, *self._collections(), entries, remove, self.manifest.dimension)

    def _changed(self) -> None:
        """After a write to the live build: raise its generation, and give it an HNSW graph in
        place of exact search once it has grown past `exact_search_below` passages."""
        collection = self._live_collection(fresh=True)
        for attempt in range(CHANGE_TRIES):
            properties = self._call("describe the index", "describe_collection", collection).get("properties", {})
            generation = int(properties.get(GENERATION_PROPERTY, 0)) + 1
            try:
                self._call("record a change", "alter_collection_properties", collection,
                           properties={GENERATION_PROPERTY: str(generation), CHANGE_PROPERTY: secrets.token_hex(8)})
                break
            except BackendUnavailableError:
                if attempt == CHANGE_TRIES - 1:
                    raise
                time.sleep(CHANGE_PAUSE * (attempt + 1))
        if self._count(collection, "") >= self.settings.exact_search_below and self._exact(collection):
            _use_hnsw(self, collection)

    def _exact(self, collection: str) -> bool:
        described = self._call("describe the vector index", "describe_index", collection, "vector")
        return described.get("index_type") == "FLAT"

    # --- reading ------------------------------------------------------------------------------

    def search(self, stems: list[str] | None, vector: Callable[[], np.ndarray] | None, depth: int,
               filters: Filters, stages: Callable[[str], None] = lambda stage: None) -> list[Hit]:
        passages, _ = self._collections()
        expression = filter_expression(filters)
        stages("snapshot")
        # Each side's search brings its passages' fields along: a question costs two searches, plus
        # one read for the vectors of passages only BM25 found and one BM25 search restricted to
        # the passages only the vectors found (their other score).
        lexical: dict[str, float] = {}
        found: dict[str, Passage] = {}
        query_text = stem_text(stems) if stems else ""
        if query_text:
            lexical = self._bm25(passages, query_text, depth, expression, found)
        stages("lexical")
        question = vector() if vector else None
        stages("embed")
        dense: dict[str, float] = {}
        if question is not None:
            hits = self._call("search", "search", passages, data=[question.tolist()], anns_field="vector",
                              limit=depth, filter=expression, output_fields=self._fields(passages, PASSAGE_FIELDS),
                              search_params={"metric_type": "IP", "params": {"ef": self._ef(depth)}})[0]
            dense = {hit["key"]: float(hit["distance"]) for hit in hits}
            found.update((hit["key"], _hit_passage(hit)) for hit in hits)
            new = [key for key in lexical if key not in dense]
            if new:
                rows = self._call("read vectors", "query", passages, ids=new, output_fields=["vector"])
                dense.update({row["key"]: float(np.asarray(row["vector"], np.float32) @ question) for row in rows})
        if query_text:
            missing = [key for key in dense if key not in lexical]
            for batch in _batches(missing, IN_BATCH):
                lexical.update(self._bm25(passages, query_text, len(batch), _in("key", batch)))
        stages("dense")
        keys = list(dict.fromkeys([*dense, *lexical]))
        stages("passages")
        return [Hit(key, dense.get(key, 0.0), lexical.get(key, 0.0), found[key]) for key in keys if key in found]

    def _bm25(self, collection: str, text: str, limit: int, expression: str,
              passages: dict[str, Passage] | None = None) -> dict[str, float]:
        """BM25 scores of the `limit` best passages; with `passages`, their fields go there."""
        hits = self._call("search words", "search", collection, data=[text], anns_field="sparse", limit=limit,
                          filter=expression,
                          output_fields=self._fields(collection, PASSAGE_FIELDS) if passages is not None else [],
                          search_params={"metric_type": "BM25"})[0]
        if passages is not None:
            passages.update((hit["key"], _hit_passage(hit)) for hit in hits)
        # Milvus scores tf·(k1+1)/(tf+k1·…), the local backend (bm25s, Lucene) tf/(tf+k1·…): the same
        # ranking, scaled; dividing makes the two backends' scores equal. (Milvus Lite reports the
        # score negated, a server positive: the magnitude is the score.)
        return {hit["key"]: abs(float(hit["distance"])) / (K1 + 1) for hit in hits if hit["distance"]}

    def _ef(self, depth: int) -> int:
        """HNSW's efSearch: the setting, or by size as the local backend chooses (the size
        counted at most every SIZE_SECONDS)."""
        now = time.monotonic()
        if self._size is None or now - self._size[0] > SIZE_SECONDS:
            self._size = (now, self._count(self._alias("passages"), ""))
        ef = self.settings.milvus_hnsw_ef_search or self.settings.hnsw_ef_search or next(
            ef for below, ef in AUTO_EF_SEARCH if self._size[1] < below)
        return max(ef, depth)

    def passages(self) -> Iterator[Passage]:
        passages, _ = self._collections()
        for row in self._iterate(passages, "", self._fields(passages, PASSAGE_FIELDS)):
            yield _passage(row)

    def _iterate(self, collection: str, expression: str, fields: list[str]) -> Iterator[dict]:
        try:
            iterator = self.client.query_iterator(collection, batch_size=1000, filter=expression,
                                                  output_fields=fields)
            while batch := iterator.next():
                yield from batch
            iterator.close()
        except QAError:
            raise
        except Exception as exc:
            raise BackendUnavailableError(f"Milvus at {self.uri} failed to read {collection} ({_reason(exc)})") from None

    def _article_ids(self) -> list[str]:
        """Every stored article's id, in order (cached until the next write). The cache is kept by
        the change token and the counts too, not only the generation: two replicas writing at the
        same moment can raise the generation once for both writes (it is read, raised and written
        back), but each writes a token of its own, and a write whose change could not be recorded
        at all still changes the counts."""
        _, articles = self._collections()
        facts, properties = self._facts()
        version = (self._live_collection(), facts.generation, properties.get(CHANGE_PROPERTY), facts.articles,
                   facts.passages)
        if self._listing is None or self._listing[0] != version:
            ids = sorted(row["doc_id"] for row in self._iterate(articles, "part == 0", ["doc_id"]))
            self._listing = (version, ids)
        return self._listing[1]

    def articles(self, offset: int, limit: int) -> tuple[int, list[ArticleInfo]]:
        _, articles = self._collections()
        ids = self._article_ids()
        page = ids[offset : offset + limit]
        rows = self._call("list articles", "query", articles, ids=[f"{i}#0" for i in page],
                          output_fields=self._fields(articles, ARTICLE_FIELDS)) if page else []
        by_id = {row["doc_id"]: _article_info(row) for row in rows}
        return len(ids), [by_id[i] for i in page if i in by_id]

    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        _, articles = self._collections()
        rows = self._call("read an article", "query", articles, filter=f"doc_id == {_literal(article_id)}",
                          output_fields=self._fields(articles, [*ARTICLE_FIELDS, "part", "text"]))
        parts = sorted(rows, key=lambda row: row["part"])
        if not parts or parts[0]["part"] != 0:
            return None
        return _article_info(parts[0]), "".join(row["text"] for row in parts)

    def facets(self) -> Facets:
        _, articles = self._collections()
        sources: dict[str, list] = {}
        dates, undated = [], 0
        for row in self._iterate(articles, "part == 0", ["source", "date"]):
            if row["source"]:
                sources.setdefault(row["source"].lower(), [row["source"], 0])[1] += 1
            if row["date"]:
                dates.append(row["date"])
            else:
                undated += 1
        ordered = sorted(sources.items(), key=lambda item: (-item[1][1], item[0]))
        return Facets(sources=[SourceCount(name, count) for _, (name, count) in ordered],
                      first_date=min(dates, default=None), last_date=max(dates, default=None), undated=undated)

    def facts(self) -> IndexFacts:
        return self._facts()[0]

    def _facts(self) -> tuple[IndexFacts, dict]:
        """The index's facts, and the live build's properties they were read from."""
        passages, articles = self._collections()
        collection = self._live_collection()
        properties = self._call("describe the index", "describe_collection", collection).get("properties", {})
        facts = IndexFacts(articles=self._count(articles, "part == 0"), passages=self._count(passages, ""),
                           generation=int(properties.get(GENERATION_PROPERTY, 0)), built_at=self.manifest.built_at)
        return facts, properties

    def _count(self, collection: str, expression: str) -> int:
        rows = self._call("count", "query", collection, filter=expression, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def check(self) -> CheckReport:
        """Articles whose passages are missing or more than their mark says, and passages of
        articles without a mark (a write cut off between two Milvus calls)."""
        passages, articles = self._collections()
        counts: dict[str, int] = {}
        for row in self._iterate(passages, "", ["doc_id"]):
            counts[row["doc_id"]] = counts.get(row["doc_id"], 0) + 1
        marks: dict[str, int] = {}
        parts: dict[str, set[int]] = {}
        for row in self._iterate(articles, "", ["doc_id", "part", "parts", "passages"]):
            parts.setdefault(row["doc_id"], set()).add(row["part"])
            if row["part"] == 0:
                marks[row["doc_id"]] = (row["passages"], row["parts"])
        damaged = sorted(
            {i for i, (count, n) in marks.items() if counts.get(i, 0) != count or parts[i] != set(range(n))}
            | {i for i in counts if i not in marks} | {i for i in parts if i not in marks})
        return CheckReport(build=self._live_collection(), articles=len(marks), passages=sum(counts.values()),
                           damaged=damaged, problems=[])

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
                if self.lite:  # its server runs in this process until released
                    from milvus_lite.server_manager import server_manager_instance

                    server_manager_instance.release_server(self.uri)
                self._loaded.clear()


PASSAGE_FIELDS = ["key", "doc_id", "position", "start", "end", "text", "title", "source", "date", "url",
                  "period_start", "period_end"]
ARTICLE_FIELDS = ["doc_id", "hash", "title", "source", "date", "url", "passages"]


def _none(value: str) -> str | None:
    return value or None


def _hit_passage(hit: dict) -> Passage:
    """The passage a search hit brought along (its fields, and its key beside them)."""
    return _passage({**hit["entity"], "key": hit["key"]})


def _passage(row: dict) -> Passage:
    return Passage(row["key"], row["doc_id"], row["position"], row["text"], row["start"], row["end"],
                   _none(row["title"]), _none(row["source"]), _none(row["date"]), _none(row["url"]),
                   period=Period.parse(_none(row["period_start"]), _none(row["period_end"])),
                   author=_none(row.get("author", "")))


def _article_info(row: dict) -> ArticleInfo:
    return ArticleInfo(row["doc_id"], _none(row["title"]), _none(row["source"]), _none(row["date"]),
                       _none(row["url"]), _none(row.get("author", "")), row["passages"], row["hash"])


def _held(lock: Path) -> bool:
    """Whether another process holds the flock on `lock` (Milvus Lite's data folder lock)."""
    try:
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


class MilvusBuild(Build):
    """The two collections of one build, live or being filled."""

    def __init__(self, backend: MilvusBackend, stamp: str, manifest: Manifest):
        self.backend, self.stamp, self.manifest = backend, stamp, manifest
        self.passages_name = f"{backend._alias('passages')}_{stamp}"
        self.articles_name = f"{backend._alias('articles')}_{stamp}"
        # The ids this object has written to collections it created itself, which hold nothing
        # else; None for a build it did not create (a resumed one), whose contents are unknown.
        self._written: set[str] | None = None

    def create(self) -> None:
        """Both collections, empty, marked as a build under way."""
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        b = self.backend
        passages = MilvusClient.create_schema(auto_id=False)
        passages.add_field("key", DataType.VARCHAR, is_primary=True, max_length=ID_LENGTH)
        passages.add_field("doc_id", DataType.VARCHAR, max_length=ID_LENGTH)
        for number in ("position", "start", "end"):
            passages.add_field(number, DataType.INT64)
        passages.add_field("text", DataType.VARCHAR, max_length=TEXT_LENGTH)
        passages.add_field("terms", DataType.VARCHAR, max_length=TEXT_LENGTH, enable_analyzer=True,
                           analyzer_params={"tokenizer": "standard"})
        passages.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        passages.add_field("vector", DataType.FLOAT_VECTOR, dim=self.manifest.dimension)
        for name, length in (("title", ID_LENGTH), ("source", 1024), ("source_key", 1024), ("date", 16),
                             ("url", ID_LENGTH), ("period_start", 16), ("period_end", 16), ("author", 1024)):
            passages.add_field(name, DataType.VARCHAR, max_length=length)
        passages.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                       output_field_names=["sparse"]))
        indexes = b.client.prepare_index_params()
        indexes.add_index("vector", index_type="FLAT", metric_type="IP")
        indexes.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                          params={"bm25_k1": K1, "bm25_b": 0.75})
        properties = {MANIFEST_PROPERTY: json.dumps(asdict(self.manifest)), STATE_PROPERTY: "building",
                      GENERATION_PROPERTY: "0"}
        b._call("create a collection", "create_collection", self.passages_name, schema=passages,
                index_params=indexes, consistency_level="Strong", properties=properties)

        articles = MilvusClient.create_schema(auto_id=False)
        articles.add_field("key", DataType.VARCHAR, is_primary=True, max_length=ID_LENGTH + 16)
        articles.add_field("doc_id", DataType.VARCHAR, max_length=ID_LENGTH)
        for number in ("part", "parts", "passages"):
            articles.add_field(number, DataType.INT64)
        for name, length in (("hash", 128), ("title", ID_LENGTH), ("source", 1024), ("date", 16),
                             ("url", ID_LENGTH), ("path", ID_LENGTH), ("text", TEXT_LENGTH), ("author", 1024)):
            articles.add_field(name, DataType.VARCHAR, max_length=length)
        # Milvus wants a vector field in every collection; articles are found by id, not by this
        articles.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        indexes = b.client.prepare_index_params()
        indexes.add_index("unused", index_type="FLAT", metric_type="L2")
        b._call("create a collection", "create_collection", self.articles_name, schema=articles,
                index_params=indexes, consistency_level="Strong")
        self._written = set()

    def stored(self) -> dict[str, str]:
        return {i: h for i, h in _stored(self.backend, self.passages_name, self.articles_name, None).items() if h}

    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        # An id this build never wrote is not in its collections: no look-up and no delete for it.
        # In Milvus Lite each of those is a scan of the collection, which made a build quadratic.
        there = None if self._written is None else self._written & {*(e.article.id for e in entries), *remove}
        if self._written is not None:  # before writing: a write cut off halfway may leave rows
            self._written.update(e.article.id for e in entries)
        return _write(self.backend, self.passages_name, self.articles_name, entries, remove, self.manifest.dimension,
                      there)

    def copy_live(self, articles: list[Article]) -> list[str]:
        b = self.backend
        try:
            live = b.manifest
            live_passages, live_articles = b._collections()
        except IndexNotFoundError:  # a first build: nothing to copy, nothing to say
            return []
        except QAError as exc:  # no index yet, or an unreadable one: everything is embedded
            log.info("nothing copied from the live index (%s)", exc)
            return []
        if not same_model(live, self.manifest):
            return []
        wanted = {a.id: content_hash(a) for a in articles}
        there = _stored(b, live_passages, live_articles, list(wanted))
        copied = [a for a in articles if there.get(a.id) == wanted[a.id]]
        fields = b._fields(live_passages, [*PASSAGE_FIELDS, "terms", "vector", "source_key"])
        for batch in _batches(copied, 100):
            ids = [a.id for a in batch]
            rows = b._call("read passages", "query", live_passages, filter=_in("doc_id", ids),
                           output_fields=fields)
            marks = b._call("read articles", "query", live_articles, filter=_in("doc_id", ids),
                            output_fields=b._fields(live_articles, ["key", "doc_id", "part", "parts", "passages",
                                                                    "hash", "title", "source", "date", "url", "path",
                                                                    "text", "unused"]))
            paths = {a.id: a.path or "" for a in batch}
            for mark in marks:
                mark["path"] = paths[mark["doc_id"]]
            if self._written is not None:
                self._written.update(ids)
            _upsert(b, self.passages_name, rows)
            _upsert(b, self.articles_name, marks)
        return [a.id for a in copied]

    def passages(self) -> int:
        return self.backend._count(self.passages_name, "")

    def finish(self) -> None:
        """Choose the vector index for the build's size, then make it the live build: the
        aliases switch, and the build they pointed at is dropped."""
        b = self.backend
        for name in (self.passages_name, self.articles_name):  # sealed and indexed, not searched row by row
            b._call("flush a build", "flush", name)
        if self.passages() >= b.settings.exact_search_below and b._exact(self.passages_name):
            _use_hnsw(b, self.passages_name)
        b._call("mark a build complete", "alter_collection_properties", self.passages_name,
                properties={STATE_PROPERTY: "live"})
        replaced = b._live_collection(fresh=True)
        for kind, name in (("articles", self.articles_name), ("passages", self.passages_name)):
            alias = b._alias(kind)
            method = "alter_alias" if replaced else "create_alias"
            b._call("switch to the new build", method, name, alias)
        b._live = None  # what this process knew of the live build is past
        if replaced and replaced != self.passages_name:
            b._drop_build(replaced.rsplit("_", 1)[-1])

    def drop(self) -> None:
        self.backend._drop_build(self.stamp)


def _use_hnsw(b: MilvusBackend, collection: str) -> None:
    """Replace the exact vector index of `collection` by an HNSW graph (as the local backend
    does past `exact_search_below` passages)."""
    b._call("release a collection", "release_collection", collection)
    b._call("drop the exact index", "drop_index", collection, "vector")
    indexes = b.client.prepare_index_params()
    indexes.add_index("vector", index_type="HNSW", metric_type="IP",
                      params={"M": b.settings.hnsw_m, "efConstruction": b.settings.hnsw_ef_construction})
    b._call("build the HNSW index", "create_index", collection, indexes)
    b._call("load a collection", "load_collection", collection)


def _stored(b: MilvusBackend, passages: str, articles: str, ids: list[str] | None) -> dict[str, str]:
    """The hash of each article of `ids` (all: None) with a mark; '' for one whose passages or
    text parts are not all there (a cut-off write: it is written again)."""
    marks, counts = {}, {}
    expression = "part == 0"
    chunks = [None] if ids is None else list(_batches(list(dict.fromkeys(ids)), IN_BATCH))
    for batch in chunks:
        where = expression if batch is None else f"{expression} and {_in('doc_id', batch)}"
        for row in b._iterate(articles, where, ["doc_id", "hash", "passages", "parts"]):
            marks[row["doc_id"]] = row
        found = list(marks) if batch is None else [i for i in batch if i in marks]
        for group in _batches(found, IN_BATCH):
            for row in b._iterate(passages, _in("doc_id", group), ["doc_id"]):
                counts[row["doc_id"]] = counts.get(row["doc_id"], 0) + 1
    return {i: (row["hash"] if counts.get(i, 0) == row["passages"] else "") for i, row in marks.items()}


def _write(b: MilvusBackend, passages: str, articles: str, entries: list[Entry], remove: list[str],
           dimension: int, there: set[str] | None = None) -> tuple[list[str], list[str]]:
    """Writes `entries` (those whose content is not stored already) and removes `remove`;
    `there`: the ids that can have rows in these collections (None: any)."""
    entries = list({e.article.id: e for e in entries}.values())  # the last of a repeated id wins
    for entry in entries:
        if entry.vectors.shape != (len(entry.passages), dimension):
            raise ValueError(f"article {entry.article.id!r}: {entry.vectors.shape} vectors for "
                             f"{len(entry.passages)} passages")
    remove = list(dict.fromkeys(remove))

    def possibly_there(ids: list[str]) -> list[str]:
        return ids if there is None else [i for i in ids if i in there]

    asked = possibly_there([e.article.id for e in entries] + remove)
    stored = _stored(b, passages, articles, asked) if asked else {}
    written = [e for e in entries if stored.get(e.article.id) != content_hash(e.article)]
    removed = [i for i in remove if i in stored]
    # Every id in `remove` is cleared, marked or not: a removal after a cut-off write cleans up.
    gone = possibly_there([e.article.id for e in written] + remove)
    for batch in _batches(gone, IN_BATCH):
        b._call("delete articles", "delete", articles, filter=_in("doc_id", batch))
        b._call("delete passages", "delete", passages, filter=_in("doc_id", batch))
    for group in _batches(written, 64):
        _upsert(b, passages, [row for e in group for row in _passage_rows(e)])
        _upsert(b, articles, [row for e in group for row in _article_rows(e)])
    if (written or removed) and passages == b._alias("passages"):
        b._changed()
    return [e.article.id for e in written], removed


def _upsert(b: MilvusBackend, collection: str, rows: list[dict]) -> None:
    """Writes `rows` as upserts: their keys are the passages' and the article parts' ids, so the
    same article written at the same moment through two replicas (whose deletes both run before
    either's rows land) replaces rows instead of adding them twice. A Milvus server does not
    refuse a repeated key on insert; an upsert costs the same here (Milvus Lite, 2,000 rows)."""
    # Rows meet collections of either schema: copied from a build made before authors were kept
    # into one with them ("" is no author, as for the other text fields), or written to one without.
    if b.holds_authors(collection):
        rows = [{"author": "", **row} for row in rows]
    else:
        rows = [{k: v for k, v in row.items() if k != "author"} for row in rows]
    for batch in _batches(rows, UPSERT_BATCH):
        b._call("write", "upsert", collection, batch)


def _passage_rows(entry: Entry) -> list[dict]:
    a = entry.article
    return [{
        "key": p.id, "doc_id": a.id, "position": p.position, "start": p.start, "end": p.end, "text": p.text,
        "terms": stem_text(stems(p.text)), "vector": np.asarray(v, np.float32).tolist(),
        "title": a.title or "", "source": a.source or "", "source_key": (a.source or "").lower(),
        "date": a.date or "", "url": a.url or "", "author": a.author or "",
        "period_start": p.period.start.isoformat() if p.period else "",
        "period_end": p.period.end.isoformat() if p.period else "",
    } for p, v in zip(entry.passages, entry.vectors)]


def _article_rows(entry: Entry) -> list[dict]:
    a = entry.article
    parts = [a.text[start : start + TEXT_PART] for start in range(0, len(a.text), TEXT_PART)] or [""]
    return [{
        "key": f"{a.id}#{n}", "doc_id": a.id, "part": n, "parts": len(parts), "passages": len(entry.passages),
        "hash": content_hash(a), "title": a.title or "", "source": a.source or "", "date": a.date or "",
        "url": a.url or "", "path": a.path or "", "text": text, "unused": [0.0, 0.0], "author": a.author or "",
    } for n, text in enumerate(parts)]
