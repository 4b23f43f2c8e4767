"""The records that flow through the pipeline, and the result every interface returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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


@dataclass
class Result:
    """One ranked passage as returned by the CLI, HTTP and Python interfaces.

    `highlights` are [start, end) character spans of `text` that match the question.
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


@dataclass
class Answer:
    """A question and its ranked results."""

    question: str
    results: list[Result]

    def to_dict(self) -> dict:
        """The JSON body of the HTTP response, and of `qa ask --json`."""
        return asdict(self)
