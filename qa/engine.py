"""The one object that does the work; the CLI, the HTTP server and Python callers use it."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.chunking import split_articles
from qa.config import Settings
from qa.embedding import Embedder
from qa.errors import IndexNotFoundError, NoArticlesError
from qa.answers import highlight
from qa.index import Manifest, PassageIndex, corpus_fingerprint, save_index
from qa.query import DEFAULT_TOP_K, Query, QueryPlan
from qa.ranking import Candidate, Weights, rank
from qa.reading import read_paths
from qa.types import Answer, Passage, Result, ShortAnswer, Source

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What `Engine.build_index` did."""

    articles: int
    passages: int
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
        passages = split_articles(report.articles)
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
        weights: Weights | None = None,
    ) -> Answer:
        """The `top_k` passages that best answer `question`, best first, and the words that answer.

        `date_from`/`date_to` (ISO dates, inclusive) and `sources` (publisher names, any case)
        restrict which articles are searched. `weights` replaces the fusion weights from the
        settings (`qa eval` uses it to measure plain dense and plain BM25 rankings)."""
        query = Query(question, top_k, date_from, date_to, sources or [])
        plan = QueryPlan.of(query.question)
        weights = weights or Weights.from_settings(self.settings)
        ranked = rank(plan, self.candidates(query, plan, weights), weights, query.top_k)
        results = [self._result(number, candidate, plan) for number, candidate in enumerate(ranked, 1)]
        return Answer(question=query.question, answer=self._short_answer(ranked, results), results=results)

    def candidates(self, query: Query, plan: QueryPlan, weights: Weights) -> list[Candidate]:
        """The best passages by embedding and by BM25 (each skipped when its weight is 0),
        with both scores for each: what `qa.ranking.rank` orders."""
        index = self.index
        depth = max(self.settings.candidates, query.top_k)
        vector = self.embedder.embed_query(query.question) if weights.dense else None
        rows: dict[int, float] = {}
        if vector is not None:
            rows.update(index.search(vector, depth, query.date_from, query.date_to, query.sources))
        lexical = None
        if weights.lexical:
            lexical = index.lexical.scores(plan.stems)
            allowed = index.matching_rows(query.date_from, query.date_to, query.sources)
            if allowed is not None:
                mask = np.full(len(lexical), -np.inf, dtype=np.float32)
                mask[allowed] = 0
                lexical = lexical + mask
            best = np.argsort(-lexical)[:depth]
            new = [int(r) for r in best if lexical[r] > 0 and int(r) not in rows]
            if vector is not None and new:
                rows.update(zip(new, map(float, index.similarities(vector, new))))
            else:
                rows.update((r, 0.0) for r in new)
        passages = index.passages(list(rows))
        return [
            Candidate(row=row, dense=dense, lexical=float(lexical[row]) if lexical is not None else 0.0,
                      passage=passage)
            for (row, dense), passage in zip(rows.items(), passages)
        ]

    @staticmethod
    def _result(number: int, candidate: Candidate, plan: QueryPlan) -> Result:
        passage = candidate.passage
        span = candidate.found.span if candidate.found else None
        return Result(
            rank=number,
            score=round(candidate.score, 4),
            text=passage.text,
            title=passage.title,
            source=passage.source,
            date=passage.date,
            url=passage.url,
            doc_id=passage.doc_id,
            passage_id=passage.id,
            highlights=highlight(plan.words, passage.text, span),
            period=passage.period.to_dict() if passage.period else None,
            answer=list(span) if span else None,
            also_in=[_source(d.passage) for d in candidate.duplicates],
        )

    def _short_answer(self, ranked: list[Candidate], results: list[Result]) -> ShortAnswer:
        """The answer span of the best result, if its sentence holds enough of the question."""
        if not ranked or not ranked[0].found or ranked[0].found.span is None:
            return ShortAnswer(text=None, confident=False)
        best, found, result = ranked[0], ranked[0].found, results[0]
        confident = found.coverage >= self.settings.min_coverage
        return ShortAnswer(
            text=result.text[found.span[0] : found.span[1]] if confident else None,
            confident=confident,
            passage_id=result.passage_id,
            source=result.source,
            date=result.date,
            period=best.passage.period.label if best.passage.period else None,
        )

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


def _source(passage: Passage) -> Source:
    return Source(
        source=passage.source, date=passage.date, title=passage.title, url=passage.url,
        doc_id=passage.doc_id, passage_id=passage.id,
    )
