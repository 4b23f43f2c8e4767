"""The records that flow through the pipeline, and the result every interface returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from qa.periods import Period


@dataclass
class Article:
    """A cleaned article with its metadata. `date` is an ISO date (YYYY-MM-DD) or None."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None
    path: str | None = None
    author: str | None = None  # who wrote it, as the page's byline or the record names them


@dataclass
class ArticleInfo:
    """An indexed article as `GET /articles` and `qa list` show it (without its text)."""

    id: str
    title: str | None
    source: str | None
    date: str | None
    url: str | None
    author: str | None
    passages: int
    hash: str  # sha256 of its text and metadata: the same content is never indexed twice


@dataclass
class SourceCount:
    source: str
    articles: int


@dataclass
class Facets:
    """What the search filters can choose from: publishers (most articles first) and the
    range of publication dates (None when nothing is dated)."""

    sources: list[SourceCount]
    first_date: str | None
    last_date: str | None
    undated: int  # articles without a date: a date filter leaves them out


@dataclass
class Corpus:
    """What the index holds, as the web page, `/corpus`, `/health`, the MCP server and `qa
    corpus` describe it: a name and a one-line description (from the settings), a summary
    written from the counts, the articles and passages, the publishers (most articles first) and the range
    of publication dates."""

    name: str | None  # the corpus_name setting
    description: str | None  # the corpus_description setting
    summary: str  # written from the counts: "1,005 news articles from detik, kompas and 3 more publishers, ..."
    articles: int
    passages: int
    sources: list[SourceCount]
    first_date: str | None
    last_date: str | None
    undated: int


@dataclass
class Passage:
    """A piece of an article: `article.text[start:end] == text`."""

    id: str
    doc_id: str
    position: int
    text: str
    start: int
    end: int
    title: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None
    period: Period | None = None  # what time the passage speaks of
    author: str | None = None


@dataclass
class Source:
    """Another article that prints the same passage (a press release on two sites)."""

    source: str | None
    date: str | None
    title: str | None
    url: str | None
    doc_id: str
    passage_id: str


@dataclass
class Snippet:
    """Another passage of a result's article that matched the question (a card holds its best
    passage and these). `highlights`, `answer` and `answer_confidence` as in `Result`."""

    passage_id: str
    text: str
    score: float
    highlights: list[list[int]] = field(default_factory=list)
    answer: list[int] | None = None
    answer_confidence: float | None = None
    article_span: list[int] = field(default_factory=list)


@dataclass
class Result:
    """One ranked article as returned by every interface: its best passage for the question,
    and under `more` its other passages that matched (best first).

    `highlights` are [start, end) character spans of `text`: the question's words and the
    answer. `period` is the time the passage speaks of ({"start", "end", "label"}).
    `citation` names the source the way an answer cites it: "kumparan (15 November 2024)".
    `article_span` is where the passage lies in its article's text (`GET /articles/{doc_id}`).
    """

    rank: int
    score: float
    text: str
    title: str | None
    source: str | None
    date: str | None
    url: str | None
    doc_id: str
    passage_id: str
    highlights: list[list[int]] = field(default_factory=list)
    period: dict | None = None
    answer: list[int] | None = None  # [start, end) of the reader's answer span in `text`
    answer_confidence: float | None = None  # how likely that span answers (0-1)
    citation: str = ""
    article_span: list[int] = field(default_factory=list)  # [start, end) in the article's text
    also_in: list[Source] = field(default_factory=list)
    more: list[Snippet] = field(default_factory=list)
    author: str | None = None  # who wrote the article, when its page or record says


@dataclass
class ShortAnswer:
    """The words that answer, from the best results.

    `confidence` (0-1) is how likely the answer is right; `confident` is true when it reaches
    the threshold at which 9 answers in 10 are right (one for questions in Indonesian, one for
    questions in English). When not confident, `text` is None rather
    than a guess, except when the answer found speaks of another period than the one asked:
    then `text` is the latest found, `period` says when it is from and `note` says so.
    `kind` is "span" (a name, figure, date or place) or "sentence" (why/how questions).
    `cited` is the sentence that answers, attributed: "Menurut kumparan (15 November 2024), …"."""

    text: str | None
    confident: bool
    confidence: float = 0.0
    kind: str = "span"
    passage_id: str | None = None
    source: str | None = None
    date: str | None = None
    period: str | None = None
    cited: str | None = None
    note: str | None = None


@dataclass
class Answer:
    """A question, its short answer and one page of its ranked results: `total` articles were
    found, and `results` are those from `offset` on, in `sort` order ("relevance" or "newest")."""

    question: str
    answer: ShortAnswer
    results: list[Result]
    total: int = 0
    offset: int = 0
    sort: str = "relevance"

    def to_dict(self) -> dict:
        """The JSON body of the HTTP response, and of `qa ask --json`."""
        return asdict(self)


@dataclass
class ReadReport:
    """What reading found: the articles, and one line per thing it had to skip or fix."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    known: int = 0  # web pages not read because they are indexed already


@dataclass
class Page:
    """A page's text before cleaning, with whatever metadata came with it."""

    id: str
    text: str
    given: dict = field(default_factory=dict)  # from a sidecar or the record itself: wins
    path: str | None = None
    found: dict = field(default_factory=dict)  # what the page's markup states: beats a guess from its text
