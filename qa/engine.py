"""The one object that does the work; the CLI, the HTTP server and Python callers use it."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.chunking import split_articles
from qa.config import Settings
from qa.embedding import Embedder
from qa.errors import IndexNotFoundError, NoArticlesError
from qa.highlight import highlight
from qa.index import Manifest, PassageIndex, corpus_fingerprint, save_index
from qa.query import DEFAULT_TOP_K, Query
from qa.reading import read_paths
from qa.types import Answer, Result

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What `Engine.build_index` did."""

    articles: int
    passages: int
    repeated_passages: int
    skipped: list[str]
    warnings: list[str]
    seconds: float
    directory: str


class Engine:
    """Answers questions from an index of articles.

    >>> engine = Engine()                       # settings from QA_* environment variables
    >>> answer = engine.ask("berapa tenaga kerja IKM 2024?")
    >>> answer.results[0].source, answer.results[0].date
    """

    def __init__(self, settings: Settings | None = None, **overrides):
        self.settings = settings.model_copy(update=overrides) if settings else Settings(**overrides)
        self.embedder = Embedder(self.settings)
        self._index: PassageIndex | None = None
        self._index_lock = threading.Lock()

    @property
    def index(self) -> PassageIndex:
        """The loaded index. If the index directory holds none and the corpus folder exists,
        the corpus is indexed first: the first question on a fresh checkout just works."""
        with self._index_lock:
            if self._index is None:
                try:
                    self._index = self._open_index()
                except IndexNotFoundError:
                    if not Path(self.settings.corpus_dir).is_dir():
                        raise
                    log.info("no index in %s yet: indexing %s", self.settings.index_dir, self.settings.corpus_dir)
                    self._build([self.settings.corpus_dir])
            return self._index

    def _open_index(self) -> PassageIndex:
        return PassageIndex(
            self.settings.index_dir, self.embedder.model_id, self.embedder.dimension,
            self.embedder.passage_prefix,
        )

    def build_index(
        self, paths: list[Path | str], progress: Callable[[int, int], None] | None = None
    ) -> IndexReport:
        """Read, clean, split and embed the articles under `paths` into a new index that
        replaces the current one. `progress(done, total)` follows the embedding."""
        with self._index_lock:
            return self._build(paths, progress)

    def _build(self, paths, progress=None) -> IndexReport:
        started = dt.datetime.now(dt.timezone.utc)
        report = read_paths(paths)
        if not report.articles:
            detail = "; ".join(report.skipped[:3])
            raise NoArticlesError(
                f"no readable article in {', '.join(map(str, paths))}" + (f" ({detail})" if detail else "")
            )
        passages, repeats = split_articles(report.articles)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, len(passages))

        vectors = self.embedder.embed_passages([p.text for p in passages], step)
        manifest = Manifest(
            model=self.embedder.model_id,
            dimension=self.embedder.dimension,
            query_prefix=self.embedder.query_prefix,
            passage_prefix=self.embedder.passage_prefix,
            passages=len(passages),
            articles=len(report.articles),
            corpus_fingerprint=corpus_fingerprint(report.articles),
            built_at=started.isoformat(timespec="seconds"),
        )
        build = save_index(Path(self.settings.index_dir), report.articles, passages, vectors, manifest)
        if self._index is not None:
            self._index.close()
        self._index = self._open_index()
        return IndexReport(
            articles=len(report.articles),
            passages=len(passages),
            repeated_passages=repeats,
            skipped=report.skipped,
            warnings=report.warnings,
            seconds=(dt.datetime.now(dt.timezone.utc) - started).total_seconds(),
            directory=str(build),
        )

    def ask(
        self,
        question: str,
        top_k: int = DEFAULT_TOP_K,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        sources: list[str] | None = None,
    ) -> Answer:
        """The `top_k` passages that best answer `question`, best first.

        `date_from`/`date_to` (ISO dates, inclusive) and `sources` (publisher names, any case)
        restrict which articles are searched."""
        query = Query(question, top_k, date_from, date_to, sources or [])
        index = self.index
        hits = index.search(
            self.embedder.embed_query(query.question), query.top_k,
            query.date_from, query.date_to, query.sources,
        )
        passages = index.passages([row for row, _ in hits])
        results = [
            Result(
                rank=rank,
                score=round(score, 4),
                text=passage.text,
                title=passage.title,
                source=passage.source,
                date=passage.date,
                url=passage.url,
                doc_id=passage.doc_id,
                passage_id=passage.id,
                highlights=highlight(query.question, passage.text),
            )
            for rank, ((_, score), passage) in enumerate(zip(hits, passages), start=1)
        ]
        return Answer(question=query.question, results=results)

    def health(self) -> dict:
        """Model and index facts for monitoring."""
        manifest = self.index.manifest
        return {
            "status": "ok",
            "model": self.embedder.model_id,
            "dimension": self.embedder.dimension,
            "passages": manifest.passages,
            "articles": manifest.articles,
            "built_at": manifest.built_at,
            "corpus_fingerprint": manifest.corpus_fingerprint,
            "index_dir": str(self.settings.index_dir),
        }
