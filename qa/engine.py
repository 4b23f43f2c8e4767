"""The one object that does the work; the CLI, the HTTP server and Python callers use it."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.answers import highlight
from qa.chunking import split_article
from qa.citations import citation, cited_sentence
from qa.config import Settings
from qa.embedding import Embedder, load_embedder
from qa.embedding_process import EmbeddingProcess
from qa.errors import ArticleNotFoundError, IndexNotFoundError, InvalidInputError, NoArticlesError, QAError
from qa.index import (
    STORE, Manifest, PassageIndex, backup, new_build, read_manifest, recover, same_model, write_lock,
)
from qa.query import DEFAULT_TOP_K, Query, QueryPlan
from qa.short_answer import Calibration, best_by_result, first_by_reading, readings, short_answer
from qa.ranking import Candidate, Weights, rank
from qa.reader import Reader, Span, shared_reader
from qa.reading import ReadReport, read_paths
from qa.store import Entry, Store, content_hash
from qa.types import Answer, Article, ArticleInfo, Facets, Passage, Result, ShortAnswer, Source
from qa.vectors import VectorOptions

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What `Engine.build_index` did."""

    articles: int
    passages: int
    embedded: int  # passages embedded by this run
    reused: int  # articles copied from the live index or resumed from an interrupted build
    skipped: list[str]
    warnings: list[str]
    seconds: float
    directory: str


@dataclass
class UpdateReport:
    """What `Engine.add` / `add_paths` / `remove` changed, by article id."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # stored before with other content
    unchanged: list[str] = field(default_factory=list)  # stored before with the same content
    removed: list[str] = field(default_factory=list)
    passages: int = 0  # passages written
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """What `Engine.check` found in the live build."""

    build: str
    articles: int
    passages: int
    damaged: list[str]  # ids of the articles whose stored rows fail their checksums
    problems: list[str]  # what SQLite's integrity check reports (nothing when sound)

    @property
    def intact(self) -> bool:
        return not (self.damaged or self.problems)


COMMIT_EVERY = 64  # articles per transaction when adding files: a crash keeps what was committed
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
        # What embeds the passages of articles being written, when not `embedder` (a server's
        # lower-priority process: qa.embedding_process).
        self.passage_embedder: EmbeddingProcess | None = None
        # validated again, so an override is checked and converted like any setting
        self.settings = Settings(**{**settings.model_dump(), **overrides}) if settings else Settings(**overrides)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._reader: Reader | None = None
        self._reader_lock = threading.Lock()
        self._index: PassageIndex | None = None
        self._index_lock = threading.Lock()
        self._facts: dict | None = None  # index_facts() of the latest snapshot

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
                    self._build([self.settings.corpus_dir], None, fresh=False)
            return self._index

    def load(self) -> Engine:
        """Load the index (building it from the corpus folder if there is none) and the models
        now, not at the first question: what a server does before it takes requests."""
        self.index
        self.embedder
        if self.settings.reader == "trained":
            self.reader
        return self

    def _open_index(self) -> PassageIndex:
        return PassageIndex(self.settings.index_dir, VectorOptions.from_settings(self.settings))

    def _matching_index(self, index: PassageIndex | None = None) -> PassageIndex:
        """The index, checked to be built with this engine's model (before every search or
        write: another process may have rebuilt it with another model)."""
        index = index or self.index
        index.require(self.embedder.model_id, self.embedder.dimension, self.embedder.passage_prefix)
        return index

    def _manifest(self) -> Manifest:
        return Manifest(
            model=self.embedder.model_id,
            dimension=self.embedder.dimension,
            query_prefix=self.embedder.query_prefix,
            passage_prefix=self.embedder.passage_prefix,
            built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )

    def _embed_and_write(self, write: Callable[[list[Entry]], tuple[list[str], list[str]]],
                         articles: list[Article], commit_every: int,
                         progress: Callable[[int, int], None] | None) -> tuple[dict[str, int], int, dict[str, str]]:
        """Split and embed `articles` and `write` them, `commit_every` articles per transaction:
        a crash keeps what was committed. `progress(done, total)` counts passages embedded.
        Returns the passages written per article id, the number of passages embedded, and why
        each article that could not be split was skipped, by id."""
        split, failed = [], {}
        for article in articles:
            try:
                split.append((article, split_article(article)))
            except Exception as exc:  # a flaw one article's text meets must not sink the batch it came in
                log.debug("article %r could not be split", article.id, exc_info=True)
                failed[article.id] = (f"{article.id}: skipped, could not be split into passages "
                                      f"({type(exc).__name__}: {str(exc)[:200]})")
        total = sum(len(passages) for _, passages in split)
        done, written = 0, {}

        def step(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

        commit_every = max(commit_every, 1)
        for start in range(0, len(split), commit_every):
            chunk = split[start : start + commit_every]
            texts = [p.text for _, ps in chunk for p in ps]
            vectors = (self.passage_embedder or self.embedder).embed_passages(texts, step if progress else None)
            bounds = np.cumsum([0] + [len(ps) for _, ps in chunk])
            ids, _ = write([Entry(a, ps, vectors[bounds[i] : bounds[i + 1]]) for i, (a, ps) in enumerate(chunk)])
            passages = {a.id: len(ps) for a, ps in chunk}
            written.update((i, passages[i]) for i in ids)
        return written, total, failed

    def build_index(
        self, paths: list[Path | str], progress: Callable[[int, int], None] | None = None, fresh: bool = False,
    ) -> IndexReport:
        """Read, clean, split and embed the articles under `paths` into a new index that
        replaces the current one when complete. Articles the current index (or an interrupted
        build) already holds intact with the same content are copied, not embedded again (all
        are embedded again with `fresh`), and the build commits COMMIT_EVERY articles at a
        time: run it again after an interruption and it goes on where it stopped.
        `progress(done, total)` counts passages embedded. Live writes wait (then fail with
        IndexBusyError) while a build runs."""
        with self._index_lock:
            return self._build(paths, progress, fresh)

    def _build(self, paths, progress, fresh: bool) -> IndexReport:
        started = time.monotonic()
        read = _read_some(paths, self.settings.follow_links)
        articles = list({a.id: a for a in read.articles}.values())  # the last of a repeated id wins
        directory = Path(self.settings.index_dir)
        manifest = self._manifest()
        with write_lock(directory):
            with new_build(directory, manifest, resume=not fresh) as store:
                wanted = {a.id: content_hash(a) for a in articles}
                staged = store.hashes()  # what an interrupted build committed, when intact
                for damaged in store.damaged():
                    del staged[damaged]
                store.write(remove=[i for i in staged if i not in wanted])
                todo = [a for a in articles if staged.get(a.id) != wanted[a.id]]
                copied = set(self._copy_from_live(store, directory, manifest, todo)) if todo and not fresh else set()
                todo = [a for a in todo if a.id not in copied]
                _, embedded, failed = self._embed_and_write(store.write, todo, COMMIT_EVERY, progress)
                passages = store.counts()[1]
        if self._index is None:
            self._index = self._open_index()
        return IndexReport(
            articles=len(articles) - len(failed),
            passages=passages,
            embedded=embedded,
            reused=len(articles) - len(todo),
            skipped=read.skipped + list(failed.values()),
            warnings=read.warnings,
            seconds=time.monotonic() - started,
            directory=str(directory / self._index.refresh().build),
        )

    @staticmethod
    def _copy_from_live(store: Store, directory: Path, manifest: Manifest, articles: list[Article]) -> list[str]:
        """Copy into `store` the `articles` the live build holds with the same content and model;
        returns their ids. Without a usable live build, none: they are embedded instead."""
        try:
            build, live = read_manifest(directory)
            return store.copy(build / STORE, articles) if same_model(live, manifest) else []
        except QAError as exc:  # no index yet, or a damaged one
            log.info("nothing copied from the live index (%s)", exc)
            return []

    def _writable_index(self) -> PassageIndex:
        """The index to write to; an empty one is created where there is none."""
        try:
            return self.index
        except IndexNotFoundError:
            with self._index_lock, write_lock(Path(self.settings.index_dir)):
                if self._index is None:
                    try:
                        self._index = self._open_index()
                    except IndexNotFoundError:
                        with new_build(Path(self.settings.index_dir), self._manifest()):
                            pass
                        self._index = self._open_index()
            return self._index

    def add(self, articles: list[Article], progress: Callable[[int, int], None] | None = None) -> UpdateReport:
        """Index `articles` in one transaction, searchable as soon as this returns. An article
        whose id and content are already stored is left alone; one whose content changed
        replaces its old passages. `progress(done, total)` counts passages embedded."""
        report = self._add(self._matching_index(self._writable_index()), articles, len(articles), progress)
        self.index.refresh()
        return report

    def _add(self, index: PassageIndex, articles: list[Article], commit_every: int, progress) -> UpdateReport:
        stored = index.store.hashes([a.id for a in articles])
        same = {a.id for a in articles if stored.get(a.id) == content_hash(a)} - set(index.store.damaged(list(stored)))
        changed = list({a.id: a for a in articles if a.id not in same}.values())
        report = UpdateReport(unchanged=[a.id for a in articles if a.id in same])
        # `write` checks the hashes again, inside its transaction
        written, _, failed = self._embed_and_write(index.write, changed, commit_every, progress)
        report.added = [i for i in written if i not in stored]
        report.replaced = [i for i in written if i in stored]
        report.unchanged += [a.id for a in changed if a.id not in written and a.id not in failed]
        report.skipped = list(failed.values())
        report.passages = sum(written.values())
        return report

    def add_paths(self, paths: list[Path | str], progress: Callable[[int, int], None] | None = None) -> UpdateReport:
        """Read the articles under `paths` and add them, COMMIT_EVERY articles per transaction:
        a crash keeps what was committed, and running it again adds only the rest.
        `progress(done, total)` counts passages embedded."""
        read = _read_some(paths, self.settings.follow_links)
        index = self._matching_index(self._writable_index())
        report = self._add(index, read.articles, COMMIT_EVERY, progress)
        report.skipped, report.warnings = read.skipped + report.skipped, read.warnings
        index.refresh()
        return report

    def remove(self, ids: list[str]) -> UpdateReport:
        """Delete the articles `ids` and their passages in one transaction; ids not stored are
        left out of `removed`."""
        _, removed = self.index.write(remove=ids)
        self.index.refresh()
        return UpdateReport(removed=removed)

    def articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[ArticleInfo]]:
        """How many articles are indexed, and `limit` of them from `offset`, in id order."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"offset must be 0 or more and limit 1-{MAX_PAGE}, got {offset} and {limit}")
        return self.index.articles(offset, limit)

    def facets(self) -> Facets:
        """The publishers and the publication dates in the index, for search filters."""
        return self.index.facets()

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
    ) -> Answer:
        """The `top_k` passages that best answer `question`, best first, and the words that answer.

        `date_from`/`date_to` (ISO dates, inclusive) and `sources` (publisher names, any case)
        restrict which articles are searched. `weights` replaces the fusion weights from the
        settings (`qa eval` uses it to measure plain dense and plain BM25 rankings).
        `timings`, if given, receives the seconds spent in each stage (benchmarks/scaling.py)."""
        stages = Stages(timings)
        query = Query(question, top_k, date_from, date_to, sources or [])
        plan, ranked, results = self._search(query, weights, stages)
        spans = self.reader.read_later(plan.untimed, self._to_read(ranked)).result() if self._reads else None
        return self._answer(plan, ranked, results, spans, stages)

    def ask_many(
        self,
        questions: list[str],
        top_k: int = DEFAULT_TOP_K,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        sources: list[str] | None = None,
        weights: Weights | None = None,
    ) -> list[Answer]:
        """`ask` for each of `questions` (same options for all), their passages read together in
        one batch: the reader's model is most of a question's cost, and a batch shares it."""
        queries = [Query(question, top_k, date_from, date_to, sources or []) for question in questions]
        searched = [self._search(query, weights, Stages(None)) for query in queries]
        spans = (self.reader.read([(plan.untimed, self._to_read(ranked)) for plan, ranked, _ in searched])
                 if self._reads else [None] * len(searched))
        return [self._answer(*found, read, Stages(None)) for found, read in zip(searched, spans)]

    @property
    def _reads(self) -> bool:
        return self.settings.reader == "trained"

    def _to_read(self, ranked: list[Candidate]) -> list[str]:
        return [c.passage.text for c in ranked[: self.settings.reader_passages]]

    def _search(self, query: Query, weights: Weights | None, stages: Stages) -> tuple[QueryPlan, list[Candidate], list[Result]]:
        plan = QueryPlan.of(query.question)
        weights = weights or Weights.from_settings(self.settings)
        candidates = self.candidates(query, plan, weights, stages)
        ranked = rank(plan, candidates, weights, query.top_k)
        stages.done("rank")
        results = [self._result(number, candidate, plan) for number, candidate in enumerate(ranked, 1)]
        stages.done("results")
        return plan, ranked, results

    def _answer(self, plan: QueryPlan, ranked: list[Candidate], results: list[Result],
                spans: list[list[Span]] | None, stages: Stages) -> Answer:
        """The answer from the reader's `spans` in the best results (None: by the rules)."""
        stages.done("read")
        if spans is None:
            short = self._rules_answer(ranked, results)
        else:
            calibration = self.calibration
            passages = [c.passage for c in ranked]
            found = readings(plan, passages, spans, calibration)
            short = short_answer(plan, passages, found, calibration)
            best_readings = best_by_result(found, len(results))
            for result, best in zip(results, best_readings):
                confident = bool(best and best.acceptable and best.confidence >= calibration.threshold)
                result.answer = list(best.span) if best else None
                result.answer_confidence = round(best.confidence, 4) if best else None
                result.highlights = highlight(plan.words, result.text, best.span if confident else None)
            first = first_by_reading(plan, passages, best_readings)
            if first:  # the reader is clearly surer of another read result's answer: it goes first
                results.insert(0, results.pop(first))
                for number, result in enumerate(results, 1):
                    result.rank = number
        stages.done("answer")
        return Answer(question=plan.question, answer=short, results=results)

    @functools.cached_property
    def calibration(self) -> Calibration:
        """The reader's confidence curve and threshold (`qa train-reader --calibrate-only`)."""
        return Calibration.load()

    def candidates(
        self, query: Query, plan: QueryPlan, weights: Weights, stages: Stages | None = None
    ) -> list[Candidate]:
        """The best passages by embedding and by BM25 (each skipped when its weight is 0),
        with both scores for each: what `qa.ranking.rank` orders."""
        stages = stages or Stages(None)
        index = self._matching_index()
        snapshot = index.snapshot()
        allowed = index.matching(snapshot, query.date_from, query.date_to, query.sources)
        stages.done("snapshot")
        depth = max(self.settings.candidates, query.top_k)
        # the model embeds the question while BM25 scores the passages
        pending = self.embedder.embed_query_later(query.question) if weights.dense else None
        scores = None
        lexical: dict[int, float] = {}
        if weights.lexical:
            scores = snapshot.lexical.scores(plan.stems)
            if allowed is not None:
                mask = np.full(len(scores), -np.inf, dtype=np.float32)
                mask[allowed] = 0
                scores = scores + mask
            best = np.argpartition(-scores, depth)[:depth] if len(scores) > depth else np.arange(len(scores))
            best = best[np.argsort(-scores[best], kind="stable")]
            lexical = {int(snapshot.rows[p]): float(scores[p]) for p in best if scores[p] > 0}
        stages.done("lexical")
        vector = pending.result() if pending else None
        stages.done("embed")
        dense: dict[int, float] = {}
        if vector is not None:
            dense.update(snapshot.dense(vector, depth, allowed))
            new = [row for row in lexical if row not in dense]
            if new:
                dense.update(zip(new, map(float, snapshot.similarities(vector, new))))
        if scores is not None:
            missing = [row for row in dense if row not in lexical]
            if missing:
                lexical.update(zip(missing, map(float, scores[np.searchsorted(snapshot.rows, missing)])))
        stages.done("dense")
        rows = list(dict.fromkeys([*dense, *lexical]))
        found = index.passages(snapshot, rows)
        stages.done("passages")
        return [
            Candidate(row=row, dense=dense.get(row, 0.0), lexical=lexical.get(row, 0.0), passage=found[row])
            for row in rows if row in found
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
            citation=citation(passage.source, passage.date),
            article_span=[passage.start, passage.end],
            also_in=[_source(d.passage) for d in candidate.duplicates],
        )

    def _rules_answer(self, ranked: list[Candidate], results: list[Result]) -> ShortAnswer:
        """With reader=rules: the rules' answer span in the best result, if its sentence holds
        enough of the question."""
        if not ranked or not ranked[0].found or ranked[0].found.span is None:
            return ShortAnswer(text=None, confident=False)
        best, found, result = ranked[0], ranked[0].found, results[0]
        confident = found.coverage >= self.settings.min_coverage
        return ShortAnswer(
            text=result.text[found.span[0] : found.span[1]] if confident else None,
            confident=confident,
            confidence=1.0 if confident else 0.0,
            passage_id=result.passage_id,
            source=result.source,
            date=result.date,
            period=best.passage.period.label if best.passage.period else None,
            cited=cited_sentence(result.source, result.date, result.text[slice(*found.sentence)]) if confident else None,
        )

    def health(self) -> dict:
        """Model and index facts for monitoring."""
        facts = self.index_facts()
        return {
            "status": "ok",
            "model": self.embedder.model_id,
            "dimension": self.embedder.dimension,
            "articles": facts["articles"],
            "passages": facts["passages"],
            "generation": facts["generation"],
            "built_at": facts["built_at"],
            "index_dir": Path(self.settings.index_dir).name,  # the name only: no server paths in responses
            "embedding": self.embedder.describe(),
            "reader": self.settings.reader,  # what finds the short answer
        }

    def index_facts(self) -> dict:
        """The live index's article and passage counts, generation and build time (no model
        needed: /metrics reads them at every scrape). Counted once per snapshot: counting is
        linear in the index, and /health must answer fast."""
        index = self._matching_index()
        snapshot = index.snapshot()
        known = self._facts
        if known is None or (known["build"], known["generation"]) != (snapshot.build, snapshot.generation):
            articles, passages = snapshot.store.counts()
            known = self._facts = {"articles": articles, "passages": passages, "generation": snapshot.generation,
                                   "built_at": index.manifest.built_at, "build": snapshot.build}
        return {name: value for name, value in known.items() if name != "build"}

    def check(self) -> CheckReport:
        """Verify every stored row of the live build against its checksum, and SQLite's own
        structure: linear in the index's size (a minute per million passages or so)."""
        index = self._matching_index()
        store = index.snapshot().store
        articles, passages = store.counts()
        return CheckReport(build=index.snapshot().build, articles=articles, passages=passages,
                           damaged=store.damaged(), problems=store.integrity())

    def recover(self) -> tuple[str, int] | None:
        """After a lost or broken CURRENT file: make the newest complete build live again.
        Returns that build and its article count, or None when the live build is fine."""
        with self._index_lock, write_lock(Path(self.settings.index_dir)):
            recovered = recover(Path(self.settings.index_dir))
            if recovered:
                self._index = None  # opened afresh on next use
            return recovered

    def backup(self, target: Path | str) -> tuple[str, int, int]:
        """Copy the live index into the new folder `target`, consistently while the index is in
        use (writes wait); returns the build's name, articles and passages. To restore, back the
        backup up into a fresh folder (or serve it where it is)."""
        return backup(Path(self.settings.index_dir), Path(target))

    def runtime(self, measure_again: bool = False) -> dict:
        """How the embedding model runs on this CPU and why, with the timings behind the choice,
        and under "reader" the same for the trained reader; `measure_again`: choose anew (a busy
        moment may have skewed the recorded measurement)."""
        if measure_again:
            with self._embedder_lock:
                self._embedder = load_embedder(self.settings, measure_again=True)
        described = self.embedder.describe(measurements=True)
        if self.settings.reader == "trained":
            reader = Reader(self.settings, measure_again=True) if measure_again else self.reader
            described["reader"] = reader.describe(measurements=True)
        return described


class Stages:
    """Adds the seconds since the previous stage ended to `timings[stage]` (when timing).

    A question's stages: snapshot (the latest index, filters), lexical (BM25, while the model
    embeds the question), embed (waiting for the question's vector after BM25 is done), dense
    (vector search, both scores for every candidate), passages (read from the store), rank
    (fusion, answers, duplicates), results (highlighting, serializable results), read (the
    trained reader on the best passages) and answer (the short answer from its spans)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings, self.last = timings, time.perf_counter()

    def done(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
            self.last = now


def _read_some(paths: list[Path | str], follow_links: bool) -> ReadReport:
    """The articles under `paths`; NoArticlesError, with the first reasons, if none is readable."""
    report = read_paths(paths, follow_links)
    if not report.articles:
        detail = "; ".join(report.skipped[:3])
        raise NoArticlesError(
            f"no readable article in {', '.join(map(str, paths))}" + (f" ({detail})" if detail else "")
        )
    return report


def _source(passage: Passage) -> Source:
    return Source(
        source=passage.source, date=passage.date, title=passage.title, url=passage.url,
        doc_id=passage.doc_id, passage_id=passage.id,
    )
