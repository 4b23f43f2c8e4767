"""The seam a backend plugs into: the whole searchable index, whatever holds it.

A backend writes and removes articles with their passages and vectors, gives candidates for a
question (its vector and its stems) under date and source filters, each with its dense and BM25
score, reads articles and passages, and reports facets and health. Everything above it (fusion,
duplicate grouping, the reader, results) is the same for every backend.

Words used the same way everywhere:

- **article**, **passage**: what is indexed, and what answers (`qa.types`);
- **index**: everything searchable, as one backend holds it (`QA_BACKEND`);
- **build**: one complete version of the index; a full rebuild writes a new one beside the live
  one and switches to it when complete (local: a build directory and CURRENT, `qa.builds`;
  Milvus: a collection and an alias);
- **store**: the local backend's SQLite file of a build (`qa.store`);
- **vector index** and **lexical index**: the structures over vectors (`qa.vectors`, or
  Milvus's own) and over stems (BM25: `qa.lexical`, or Milvus's full-text search);
- **snapshot**: the local backend's read-only in-memory view of a build (`qa.snapshot`);
- **hit**: a passage a search found, with both its scores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.errors import REBUILD_HINT, IndexMismatchError, InvalidInputError
from qa.store import Entry
from qa.types import Article, ArticleInfo, Facets, Passage

# What a backend keeps of each passage. 3: one SQLite store holding vectors and BM25 terms;
# live updates. 4: row checksums.
FORMAT_VERSION = 4


@dataclass
class Manifest:
    """What a build was made with; a build is only searched with the same model and prefixes."""

    model: str
    dimension: int
    query_prefix: str
    passage_prefix: str
    built_at: str
    format: int = FORMAT_VERSION


def same_model(a: Manifest, b: Manifest) -> bool:
    """Whether vectors of one build are valid in the other."""
    return (a.model, a.dimension, a.passage_prefix) == (b.model, b.dimension, b.passage_prefix)


@dataclass(frozen=True)
class Filters:
    """Which articles a search may answer from: ISO dates (inclusive) and publishers (any case)."""

    date_from: str | None = None
    date_to: str | None = None
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.date_from or self.date_to or self.sources)


@dataclass
class Hit:
    """A passage a search found: `key` is its place in the backend (a row, a primary key),
    `dense` its cosine with the question and `lexical` its BM25 score (0 when it has none)."""

    key: int | str
    dense: float
    lexical: float
    passage: Passage


@dataclass
class IndexFacts:
    """What /health and /metrics report about the live build."""

    articles: int
    passages: int
    generation: int  # raised by every change (a backend without a counter reports 0)
    built_at: str


@dataclass
class CheckReport:
    """What `Engine.check` found in the live build."""

    build: str
    articles: int
    passages: int
    damaged: list[str]  # ids of the articles whose stored rows fail their checks
    problems: list[str]  # what the storage's own structure check reports (nothing when sound)

    @property
    def intact(self) -> bool:
        return not (self.damaged or self.problems)


class Build(ABC):
    """A full build under way: written beside the live build, live when complete."""

    @abstractmethod
    def stored(self) -> dict[str, str]:
        """The content hash of every article this build (or the interrupted one it resumes)
        holds intact (the damaged ones are left out: they are written again)."""

    @abstractmethod
    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        """As `Backend.write`, into this build."""

    @abstractmethod
    def copy_live(self, articles: list[Article]) -> list[str]:
        """Copy the `articles` the live build holds with the same content and model (nothing
        embedded again); returns their ids."""

    @abstractmethod
    def passages(self) -> int:
        """How many passages the build holds."""


class Backend(ABC):
    """Where the index lives. Safe to share between threads; several processes may open the
    same index, and each sees the others' writes."""

    name: str  # the QA_BACKEND value

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    @abstractmethod
    def where(self) -> str:
        """The index's place, as messages name it (a folder, a Milvus URI and collection)."""

    @property
    @abstractmethod
    def live(self) -> str:
        """Where the live build is (a build folder, a Milvus collection): what reports name."""

    @property
    @abstractmethod
    def manifest(self) -> Manifest:
        """What the live build was made with; IndexNotFoundError when there is none."""

    def require(self, model: str, dimension: int, passage_prefix: str) -> None:
        """Raise IndexMismatchError unless the live build was made with this model: vectors of
        another model (or prefix) are not comparable with its questions' vectors."""
        m = self.manifest
        if (m.model, m.dimension, m.passage_prefix) != (model, dimension, passage_prefix):
            raise IndexMismatchError(
                f"index in {self.where} was built with model {m.model!r} (dimension {m.dimension}, "
                f"passage prefix {m.passage_prefix!r}) but the current setting is {model!r} (dimension "
                f"{dimension}, passage prefix {passage_prefix!r}); {REBUILD_HINT}"
            )

    @abstractmethod
    def create(self, manifest: Manifest) -> None:
        """An empty index where there is none (what the first `add` writes into)."""

    @abstractmethod
    def rebuild(self, manifest: Manifest, resume: bool) -> AbstractContextManager[Build]:
        """A new build that replaces the live one when the block ends without error; with
        `resume`, an interrupted build with the same model is gone on with. Live writes wait
        (then fail with IndexBusyError) while it runs."""

    # --- writing -------------------------------------------------------------------------------

    @abstractmethod
    def stored(self, ids: list[str]) -> dict[str, str]:
        """The content hash of each article of `ids` that is stored; '' for one stored damaged
        (so it is written again)."""

    @abstractmethod
    def write(self, entries: list[Entry] = (), remove: list[str] = ()) -> tuple[list[str], list[str]]:
        """Store `entries` (an article stored with the same content is left alone; one with other
        content has its passages replaced) and delete the articles `remove`. Returns the ids
        written and the ids removed (those that were stored). Searchable after `refresh()`."""

    def refresh(self) -> None:
        """Make this process's own writes searchable now (a backend that searches its storage
        directly has nothing to do)."""

    # --- reading -------------------------------------------------------------------------------

    @abstractmethod
    def search(self, stems: list[str] | None, vector: Callable[[], np.ndarray] | None, depth: int,
               filters: Filters, stages: Callable[[str], None] = lambda stage: None) -> list[Hit]:
        """The `depth` best passages by BM25 over `stems` and the `depth` nearest `vector()` (a
        call, so the model can embed the question while BM25 runs), each with both scores,
        among the articles that pass `filters`; None skips a side. `stages(name)` is called as
        each stage ends: snapshot, lexical, embed, dense, passages (`qa.timing`)."""

    @abstractmethod
    def passages(self) -> Iterator[Passage]:
        """Every passage (evaluation reads them all)."""

    @abstractmethod
    def articles(self, offset: int, limit: int) -> tuple[int, list[ArticleInfo]]:
        """How many articles there are, and `limit` of them from `offset`, in id order."""

    @abstractmethod
    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        """One article's listing and its text, if it is indexed."""

    @abstractmethod
    def facets(self) -> Facets:
        """The publishers and the publication dates in the index."""

    @abstractmethod
    def facts(self) -> IndexFacts:
        """Article and passage counts, generation and build time, fast enough for every
        /health call."""

    @abstractmethod
    def check(self) -> CheckReport:
        """Verify every stored article and passage."""

    # --- keeping it ----------------------------------------------------------------------------

    def recover(self) -> tuple[str, int] | None:
        """Make the newest complete build live after a lost pointer; None when all is well."""
        raise InvalidInputError(f"qa recover is for the local backend; the {self.name} backend keeps its builds "
                                "itself")

    def backup(self, target: Path) -> tuple[str, int, int]:
        """Copy the live build into the new folder `target`; returns its name, articles, passages."""
        raise InvalidInputError(f"qa backup is for the local backend; back a {self.name} index up with its own "
                                "tools")

    def close(self) -> None:
        """Let go of connections and files."""
