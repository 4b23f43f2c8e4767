"""The one object that does the work; the CLI, the HTTP server, the MCP server and Python
callers use it. It holds the settings, the models and the backend, and hands each step to its
module: `qa.indexing` (builds, additions, removals), `qa.retrieval` (candidates), `qa.ranking`
(fusion) and `qa.results` (results and the short answer)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from dataclasses import asdict
from pathlib import Path

from qa.backends import Backend, CheckReport, IndexFacts, Manifest, open_backend
from qa.corpus import corpus_of, sources_hint
from qa.config import Settings
from qa.embedding import Embedder, load_embedder
from qa.embedding.base import PassageEmbedder
from qa.errors import ArticleNotFoundError, IndexNotFoundError, InvalidInputError
from qa.indexing import Indexer, IndexReport, Progress, UpdateReport
from qa.query import DEFAULT_TOP_K, SORTS, Query, QueryPlan
from qa.ranking import Candidate, Weights, matching, rank
from qa.reader import Found, Reader, choose_reader, shared_reader
from qa.results import Read, by_article, ordered, page, read_answer, rules_answer, rules_marks, shown_passages
from qa.retrieval import Retriever
from qa.short_answer import Calibration
from qa.timing import Stages
from qa.types import Answer, Article, ArticleInfo, Corpus, Facets

__all__ = ["MAX_PAGE", "CheckReport", "Engine", "IndexReport", "UpdateReport"]

log = logging.getLogger(__name__)

MAX_PAGE = 1000  # articles per page of `Engine.articles`


class Engine:
    """Answers questions from an index of articles, and keeps that index up to date.

    >>> engine = Engine()                       # settings from QA_* environment variables
    >>> answer = engine.ask("berapa tenaga kerja IKM 2024?")
    >>> answer.results[0].source, answer.results[0].date
    >>> engine.add_paths(["today.jsonl"])       # searchable at once
    """

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None, **overrides):
        """`embedder`: a loaded model to share with another Engine (over another index, say)."""
        # validated again, so an override is checked and converted like any setting
        self.settings = Settings(**{**settings.model_dump(), **overrides}) if settings else Settings(**overrides)
        # What embeds the passages of articles being written, when not the model itself (a
        # server's lower-priority process: qa.embedding.process; `qa index --ray`: a Ray cluster).
        self.passage_embedder: PassageEmbedder | None = None
        self.backend: Backend = open_backend(self.settings)
        self.indexer = Indexer(self.backend, self.settings.follow_links, self.settings.columns,
                               self.settings.fetch_policy(), self.settings.index_dir)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._reader: Reader | None = None
        self._reader_lock = threading.Lock()
        self._index_lock = threading.Lock()  # one full build at a time; the first use waits for it
        self._index_ready = False
        self._corpus: tuple[IndexFacts, Corpus] | None = None

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use: listing and removing articles do without it."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    @property
    def reader(self) -> Reader:
        """The trained answer reader, loaded (and exported, the first time) on first use,
        shared with the process's other engines."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = shared_reader(self.settings)
            return self._reader

    @property
    def index(self) -> Backend:
        """The backend, its index open. If there is no index yet and the corpus folder exists,
        the corpus is indexed first: the first question on a fresh checkout just works."""
        with self._index_lock:
            if not self._index_ready:
                try:
                    self.backend.manifest
                except IndexNotFoundError:
                    if not Path(self.settings.corpus_dir).is_dir():
                        raise
                    log.info("no index in %s yet: indexing %s", self.backend.where, self.settings.corpus_dir)
                    self._build([self.settings.corpus_dir], None, fresh=False)
                self._index_ready = True
            return self.backend

    def load(self) -> Engine:
        """Load the index (building it from the corpus folder if there is none) and the models,
        compiled and run once, now, not at the first question: what a server does before it
        takes requests."""
        self.index
        self.embedder.warm()
        if self.settings.reader == "trained":
            self.reader.warm()
        return self

    def _matching_index(self, backend: Backend | None = None) -> Backend:
        """The index, checked to be built with this engine's model (before every search or
        write: another process may have rebuilt it with another model)."""
        backend = backend or self.index
        backend.require(self.embedder.model_id, self.embedder.dimension, self.embedder.passage_prefix)
        return backend

    def _manifest(self) -> Manifest:
        return Manifest(
            model=self.embedder.model_id,
            dimension=self.embedder.dimension,
            query_prefix=self.embedder.query_prefix,
            passage_prefix=self.embedder.passage_prefix,
            built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )

    @property
    def _passages_embedder(self) -> PassageEmbedder:
        return self.passage_embedder or self.embedder

    def build_index(self, paths: list[Path | str], progress: Progress | None = None, fresh: bool = False) -> IndexReport:
        """Read, clean, split and embed the articles under `paths` into a new index that
        replaces the current one when complete. Articles the current index (or an interrupted
        build) already holds intact with the same content are copied, not embedded again (all
        are embedded again with `fresh`), and the build commits COMMIT_EVERY articles at a
        time: run it again after an interruption and it goes on where it stopped.
        `progress(done, total)` counts passages embedded. Live writes wait (then fail with
        IndexBusyError) while a build runs."""
        with self._index_lock:
            report = self._build(paths, progress, fresh)
            self._index_ready = True
            return report

    def _build(self, paths, progress, fresh: bool) -> IndexReport:
        return self.indexer.build(paths, self._passages_embedder, self._manifest(), progress, fresh)

    def _writable_index(self) -> Backend:
        """The index to write to, checked to be of this model; an empty one is created where
        there is none."""
        try:
            backend = self.index
        except IndexNotFoundError:
            self.backend.create(self._manifest())
            backend = self.index
        return self._matching_index(backend)

    def add(self, articles: list[Article], progress: Progress | None = None) -> UpdateReport:
        """Index `articles` in one commit, searchable as soon as this returns. An article
        whose id and content are already stored is left alone; one whose content changed
        replaces its old passages. `progress(done, total)` counts passages embedded."""
        self._writable_index()
        return self.indexer.add(articles, self._passages_embedder, len(articles), progress)

    def add_paths(self, paths: list[Path | str], progress: Progress | None = None) -> UpdateReport:
        """Read the articles under `paths` (files, folders, page and feed URLs) and add them,
        COMMIT_EVERY articles per commit:
        a crash keeps what was committed, and running it again adds only the rest.
        `progress(done, total)` counts passages embedded."""
        read, committed = self.indexer.read(paths)
        self._writable_index()
        report = self.indexer.add(read.articles, self._passages_embedder, progress=progress)
        committed()
        report.skipped, report.warnings = read.skipped + report.skipped, read.warnings
        return report

    def remove(self, ids: list[str]) -> UpdateReport:
        """Delete the articles `ids` and their passages in one commit; ids not stored are
        left out of `removed`."""
        self.index
        return self.indexer.remove(ids)

    def articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[ArticleInfo]]:
        """How many articles are indexed, and `limit` of them from `offset`, in id order."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"offset must be 0 or more and limit 1-{MAX_PAGE}, got {offset} and {limit}")
        return self.index.articles(offset, limit)

    def facets(self) -> Facets:
        """The publishers and the publication dates in the index, for search filters."""
        return self.index.facets()

    def corpus(self) -> Corpus:
        """What the index holds: its name and description (settings), counts, publishers and
        dates; worked out again only after a change (a source filter checks it every question)."""
        return self._corpus_at(self.index.facts())

    def _corpus_at(self, facts: IndexFacts) -> Corpus:
        known = self._corpus
        if known is None or known[0] != facts:
            known = self._corpus = (facts, corpus_of(self.index.facets(), facts, self.settings.corpus_name,
                                                     self.settings.corpus_description))
        return known[1]

    def article(self, article_id: str) -> tuple[ArticleInfo, str]:
        """One article's listing and its cleaned text."""
        found = self.index.article(article_id)
        if found is None:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        return found

    def ask(
        self,
        question: str,
        top_k: int = DEFAULT_TOP_K,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        sources: list[str] | None = None,
        weights: Weights | None = None,
        timings: dict[str, float] | None = None,
        offset: int = 0,
        sort: str = SORTS[0],
    ) -> Answer:
        """The short answer to `question`, and `top_k` articles from `offset` of those that best
        answer it, each with its best passages: best first (`sort="relevance"`) or newest first
        (`sort="newest"`). `total` in the Answer counts the articles found.

        `date_from`/`date_to` (ISO dates, inclusive) and `sources` (publisher names, any case,
        from those the index holds) restrict which articles are searched. `weights` replaces
        the fusion weights from the settings (`qa eval` uses it to measure plain dense and plain
        BM25 rankings). `timings`, if given, receives the seconds spent in each stage (qa.timing)."""
        stages = Stages(timings)
        query = self._query(question, top_k, date_from, date_to, sources, offset, sort)
        plan, ranked = self._search(query, weights, stages)
        read = None
        if self._reads:
            texts = self._to_read(ranked)
            spans = self.reader.read_later(plan.untimed, texts[:1]).result()
            read = self._standing(plan, ranked, spans)
            if read is None:
                spans = self.reader.read_later(plan.untimed, texts, *self._reading, found=spans).result()
                read = read_answer(plan, ranked, spans, self.calibration)
                later = self._later(ranked, read)
                if later:
                    spans = self.reader.read_later(plan.untimed, texts + later, *self._reading, found=spans,
                                                   later=len(later)).result()
                    read = read_answer(plan, ranked, spans, self.calibration) if any(spans[len(texts):]) else read
        return self._answer(query, plan, ranked, read, stages)

    def ask_many(
        self,
        questions: list[str],
        top_k: int = DEFAULT_TOP_K,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        sources: list[str] | None = None,
        weights: Weights | None = None,
        offset: int = 0,
        sort: str = SORTS[0],
    ) -> list[Answer]:
        """`ask` for each of `questions` (same options for all), their passages read together:
        the reader's model is most of a question's cost, and a batch shares it. The first
        passage's best window of each goes in one batch, then the rest for those not yet sure
        (reader_stop_confidence) in another, then later results for those still not confident
        in a third."""
        queries = [self._query(question, top_k, date_from, date_to, sources, offset, sort) for question in questions]
        searched = [self._search(query, weights, Stages(None)) for query in queries]
        reads: list[Read | None] = [None] * len(searched)
        if self._reads:
            asked = [(plan.untimed, self._to_read(ranked)) for plan, ranked in searched]
            spans = self.reader.read([(question, texts[:1]) for question, texts in asked])
            reads = [self._standing(plan, ranked, found) for (plan, ranked), found in zip(searched, spans)]
            on = [n for n, read in enumerate(reads) if read is None]
            if on:
                more = self.reader.read([asked[n] for n in on], *self._reading, found=[spans[n] for n in on])
                for n, found in zip(on, more):
                    spans[n], reads[n] = found, read_answer(*searched[n], found, self.calibration)
                later = {n: self._later(searched[n][1], reads[n]) for n in on}
                on = [n for n in on if later[n]]
                if on:
                    last = self.reader.read([(asked[n][0], asked[n][1] + later[n]) for n in on], *self._reading,
                                            found=[spans[n] for n in on], later=[len(later[n]) for n in on])
                    for n, found in zip(on, last):
                        if any(found[len(asked[n][1]):]):
                            reads[n] = read_answer(*searched[n], found, self.calibration)
        return [self._answer(query, *found, read, Stages(None)) for query, found, read in zip(queries, searched, reads)]

    def _query(self, question, top_k, date_from, date_to, sources, offset, sort) -> Query:
        """The question and its options, checked; a publisher the index does not hold is named
        as such, with those it does (a filter on it would silently find nothing)."""
        query = Query(question, top_k, date_from, date_to, sources or [], offset, sort)
        if query.sources:
            held = {s.source.lower(): s.source for s in self.corpus().sources}
            unknown = [s for s in query.sources if s.lower() not in held]
            if unknown:
                named = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
                raise InvalidInputError(f"unknown source(s): {named}; {sources_hint(list(held.values()))}")
        return query

    def read(self, questions: list[tuple[str, list[str]]]) -> list[Found]:
        """The trained reader's spans for each (question, passages), read as far as the settings
        say, in one batch, whatever the first passage's best window found (`ask` stops at a
        sure answer there: reader_stop_confidence)."""
        return self.reader.read(questions, *self._reading)

    def _standing(self, plan: QueryPlan, ranked: list[Candidate], spans: Found) -> Read | None:
        """The answer from what the best window of the first passage gave (`spans`), if it
        stands: a confident one at reader_stop_confidence or above, which reading on rarely
        changes at about as much reading time again, or when there is nothing more to read.
        None: read on (the best windows of the other passages, the rest of those read whole)."""
        read = read_answer(plan, ranked, spans, self.calibration)
        short, to_read = read[0], min(len(ranked), self.settings.reader_passages)
        if len(spans) >= to_read and not (self.settings.reader_whole_passages and to_read):
            return read  # nothing more to read (no results, or all read and none to read whole)
        return read if short.confident and short.confidence >= self.settings.reader_stop_confidence else None

    @property
    def _reading(self) -> tuple[int, float]:
        """How far the reader reads: the first passages read whole, within a time budget."""
        return self.settings.reader_whole_passages, self.settings.reader_budget_ms

    @property
    def _reads(self) -> bool:
        return self.settings.reader == "trained"

    def _to_read(self, ranked: list[Candidate]) -> list[str]:
        return [c.passage.text for c in ranked[: self.settings.reader_passages]]

    def _later(self, ranked: list[Candidate], read: Read) -> list[str]:
        """The later results to read in what is left of the time budget, when those read gave no
        confident answer: short passages leave room for them that long ones fill."""
        first = self.settings.reader_passages
        room = self.reader.windows_within(self.settings.reader_budget_ms)  # None: no limit
        if read[0].confident or (room is not None and room <= first):
            return []
        return [c.passage.text for c in ranked[first : first + self.settings.reader_later_passages]]

    def candidates(self, query: Query, plan: QueryPlan, weights: Weights, stages: Stages | None = None) -> list[Candidate]:
        """The best passages by embedding and by BM25, with both scores: what `rank` orders."""
        return Retriever(self._matching_index(), self.embedder, self.settings.candidates).candidates(
            query, plan, weights, stages)

    def _search(self, query: Query, weights: Weights | None, stages: Stages) -> tuple[QueryPlan, list[Candidate]]:
        plan = QueryPlan.of(query.question)
        weights = weights or Weights.from_settings(self.settings)
        ranked = rank(plan, self.candidates(query, plan, weights, stages), weights)
        stages.done("rank")
        return plan, ranked

    def _answer(self, query: Query, plan: QueryPlan, ranked: list[Candidate], read: Read | None,
                stages: Stages) -> Answer:
        """The short answer that the reader's spans gave (`read_answer`; None: by the rules),
        and the page of results asked for."""
        stages.done("read")
        if read is None:
            short, marks = rules_answer(plan, ranked, self.settings.min_coverage), {}
        else:
            short, ranked, marks = read
        found = matching(ranked, self.settings.match_dense_z, self.settings.match_lexical)
        groups = ordered(by_article(found), query.sort)
        if read is None:
            marks = rules_marks(plan, shown_passages(query, groups))
        answer = page(query, plan, short, groups, marks)
        stages.done("answer")
        return answer

    @functools.cached_property
    def calibration(self) -> Calibration:
        """The reader's confidence curve and thresholds (`qa train-reader --calibrate-only`)."""
        return Calibration.load(self.reader.weights.calibration_file)

    def health(self) -> dict:
        """Model and index facts for monitoring."""
        live = self._matching_index().facts()
        facts = vars(live)
        return {
            "status": "ok",
            "model": self.embedder.model_id,
            "dimension": self.embedder.dimension,
            "articles": facts["articles"],
            "passages": facts["passages"],
            "generation": facts["generation"],
            "built_at": facts["built_at"],
            "backend": self.backend.name,
            "index_dir": Path(self.settings.index_dir).name,  # the name only: no server paths in responses
            "embedding": self.embedder.describe(),
            "reader": self.settings.reader,  # what finds the short answer
            "answer_reader": self._reader_facts(),
            "corpus": asdict(self._corpus_at(live)),
        }

    def _reader_facts(self, measurements: bool = False, measure_again: bool = False) -> dict | None:
        """Which trained reader answers in this process and why, how it runs and how far it reads
        a question (None with reader=rules). A server's worker keeps to its share of the cores,
        and the reader is chosen for that share: it may be shallower than `qa ask`'s."""
        if self.settings.reader != "trained":
            return None
        reader, layers_reason = choose_reader(self.settings)
        if measure_again:
            reader = Reader(self.settings, reader.weights, measure_again=True)
        whole, budget_ms = self._reading
        return reader.describe(measurements) | {"layers_reason": layers_reason, "reading": {
            "whole_passages": whole, "later_passages": self.settings.reader_later_passages, "budget_ms": budget_ms,
            "window_ms": round(reader.window_ms, 1) if reader.window_ms else None,
            "windows_per_question": reader.windows_within(budget_ms),  # None: no limit
        }}

    def index_facts(self) -> dict:
        """The live index's article and passage counts, generation and build time (no model
        needed: /metrics reads them at every scrape)."""
        return dict(vars(self._matching_index().facts()))

    def check(self) -> CheckReport:
        """Verify every stored article and passage of the live build, and the storage's own
        structure: linear in the index's size (a minute per million passages or so)."""
        return self._matching_index().check()

    def recover(self) -> tuple[str, int] | None:
        """After a lost or broken CURRENT file: make the newest complete build live again.
        Returns that build and its article count, or None when the live build is fine."""
        with self._index_lock:
            return self.backend.recover()

    def backup(self, target: Path | str) -> tuple[str, int, int]:
        """Copy the live index into the new folder `target`, consistently while the index is in
        use (writes wait); returns the build's name, articles and passages. To restore, back the
        backup up into a fresh folder (or serve it where it is)."""
        return self.backend.backup(Path(target))

    def runtime(self, measure_again: bool = False) -> dict:
        """How the embedding model runs on this CPU and why, with the timings behind the choice,
        and under "reader" the same for the trained reader, with how many windows it reads a
        question within its time budget; `measure_again`: choose anew (a busy moment may have
        skewed the recorded measurement)."""
        if measure_again:
            with self._embedder_lock:
                self._embedder = load_embedder(self.settings, measure_again=True)
        described = self.embedder.describe(measurements=True)
        if reader := self._reader_facts(measurements=True, measure_again=measure_again):
            described["reader"] = reader
        return described
