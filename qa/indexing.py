"""Articles → passages → vectors → the backend: full builds, additions and removals.

Reading, cleaning and splitting happen here; the vectors come from whatever embeds passages
(the model, a lower-priority process, a Ray cluster) and go to the backend COMMIT_EVERY
articles at a time, so a crash keeps what was committed and the next run goes on from there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.backends import Backend, Manifest
from qa.chunking import split_article
from qa.embedding.base import PassageEmbedder
from qa.errors import IndexNotFoundError, NoArticlesError
from qa.fetching import FetchPolicy
from qa.reading import read_paths
from qa.store import Entry, content_hash
from qa.types import Article, Passage, ReadReport
from qa.urls import WebReader

COMMIT_EVERY = 64  # articles per commit when adding files: a crash keeps what was committed

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (passages embedded, passages to embed)


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
    directory: str  # where the new build is (a folder, or a Milvus collection)


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


Write = Callable[[list[Entry]], tuple[list[str], list[str]]]


class Indexer:
    """Writes articles into one backend."""

    def __init__(self, backend: Backend, follow_links: bool, columns: dict[str, str], fetch_policy: FetchPolicy,
                 state_dir: Path | None):
        self.backend, self.follow_links, self.columns = backend, follow_links, columns
        self.fetch_policy, self.state_dir = fetch_policy, state_dir

    def read(self, paths: list[Path | str]) -> tuple[ReadReport, Callable[[], None]]:
        """The articles under `paths` (files, folders, page and feed URLs), and what to call
        once they are committed; NoArticlesError, with the first reasons, if none is readable
        (and none was left out for being indexed already)."""
        web = WebReader(self.fetch_policy, self.state_dir, self._indexed)
        report = read_paths(paths, self.follow_links, self.columns, web)
        if not report.articles and not report.known:
            detail = "; ".join(report.skipped[:3])
            raise NoArticlesError(
                f"no readable article in {', '.join(map(str, paths))}" + (f" ({detail})" if detail else "")
            )
        return report, web.save_validators

    def _indexed(self, ids: list[str]) -> set[str]:
        try:
            return set(self.backend.stored(ids))
        except IndexNotFoundError:
            return set()

    def build(self, paths: list[Path | str], embedder: PassageEmbedder, manifest: Manifest,
              progress: Progress | None = None, fresh: bool = False) -> IndexReport:
        """Read, clean, split and embed the articles under `paths` into a new build that replaces
        the live one when complete. Articles the live build (or an interrupted build) already
        holds intact with the same content are copied, not embedded again (all are embedded
        again with `fresh`)."""
        started = time.monotonic()
        read, committed = self.read(paths)
        articles = list({a.id: a for a in read.articles}.values())  # the last of a repeated id wins
        with self.backend.rebuild(manifest, resume=not fresh) as build:
            wanted = {a.id: content_hash(a) for a in articles}
            staged = build.stored()  # what an interrupted build committed, intact
            build.write(remove=[i for i in staged if i not in wanted])
            todo = [a for a in articles if staged.get(a.id) != wanted[a.id]]
            copied = set(build.copy_live(todo)) if todo and not fresh else set()
            todo = [a for a in todo if a.id not in copied]
            _, embedded, failed = embed_and_write(embedder, build.write, todo, COMMIT_EVERY, progress)
            passages = build.passages()
        self.backend.refresh()
        committed()
        return IndexReport(
            articles=len(articles) - len(failed),
            passages=passages,
            embedded=embedded,
            reused=len(articles) - len(todo),
            skipped=read.skipped + list(failed.values()),
            warnings=read.warnings,
            seconds=time.monotonic() - started,
            directory=self.backend.live,
        )

    def add(self, articles: list[Article], embedder: PassageEmbedder, commit_every: int | None = None,
            progress: Progress | None = None) -> UpdateReport:
        """Index `articles`, `commit_every` at a time (COMMIT_EVERY by default). An article whose
        id and content are already stored is left alone; one whose content changed replaces
        its old passages."""
        stored = self.backend.stored([a.id for a in articles])
        same = {a.id for a in articles if stored.get(a.id) == content_hash(a)}
        changed = list({a.id: a for a in articles if a.id not in same}.values())
        report = UpdateReport(unchanged=[a.id for a in articles if a.id in same])
        # `write` checks the hashes again, as it writes
        written, _, failed = embed_and_write(embedder, self.backend.write, changed,
                                               commit_every or COMMIT_EVERY, progress)
        report.added = [i for i in written if i not in stored]
        report.replaced = [i for i in written if i in stored]
        report.unchanged += [a.id for a in changed if a.id not in written and a.id not in failed]
        report.skipped = list(failed.values())
        report.passages = sum(written.values())
        self.backend.refresh()
        return report

    def remove(self, ids: list[str]) -> UpdateReport:
        """Delete the articles `ids` and their passages; ids not stored are left out of `removed`."""
        _, removed = self.backend.write(remove=ids)
        self.backend.refresh()
        return UpdateReport(removed=removed)


def embed_and_write(embedder: PassageEmbedder, write: Write, articles: list[Article], commit_every: int,
                    progress: Progress | None) -> tuple[dict[str, int], int, dict[str, str]]:
    """Split and embed `articles` and `write` them, `commit_every` articles at a time: a crash
    keeps what was committed. `progress(done, total)` counts passages embedded. Returns the
    passages written per article id, the number of passages embedded, and why each article
    that could not be split was skipped, by id."""
    split: list[tuple[Article, list[Passage]]] = []
    failed: dict[str, str] = {}
    for article in articles:
        try:
            split.append((article, split_article(article)))
        except Exception as exc:  # a flaw one article's text meets must not sink the batch it came in
            log.debug("article %r could not be split", article.id, exc_info=True)
            failed[article.id] = (f"{article.id}: skipped, could not be split into passages "
                                  f"({type(exc).__name__}: {str(exc)[:200]})")
    total = sum(len(passages) for _, passages in split)
    done, written = 0, {}
    if progress:
        progress(0, total)  # embedding starts: what a progress display counts from

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    commit_every = max(commit_every, 1)
    chunks = [split[start : start + commit_every] for start in range(0, len(split), commit_every)]
    texts = ([p.text for _, ps in chunk for p in ps] for chunk in chunks)
    for chunk, vectors in zip(chunks, embedder.embed_chunks(texts, step if progress else None)):
        bounds = np.cumsum([0] + [len(ps) for _, ps in chunk])
        ids, _ = write([Entry(a, ps, vectors[bounds[i] : bounds[i + 1]]) for i, (a, ps) in enumerate(chunk)])
        passages = {a.id: len(ps) for a, ps in chunk}
        written.update((i, passages[i]) for i in ids)
    return written, total, failed
