"""The news search as an MCP server, for chatbots: `qa mcp` serves it over stdio.

A thin shell over Engine, like the CLI and HTTP: one tool to search (`search_news`), one to
read a whole article (`read_article`), one to learn what is indexed (`list_sources`). The
server's instructions and the tools' descriptions and schemas are what a model reads to decide
when and how to call them, so they say what this index holds (written from it, qa.corpus),
how to phrase a question, and how to cite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from qa.engine import Engine
from qa.errors import QAError
from qa.query import DEFAULT_TOP_K, MAX_OFFSET, MAX_QUESTION_CHARS, MAX_TOP_K, MIN_TOP_K, SORTS
from qa.types import Answer, Corpus, SourceCount

SEARCH_DESCRIPTION = """Search the indexed news articles for passages that answer a question.

Use it for facts, figures and statements reported in the news (e.g. "berapa korban banjir di
Bekasi?", "What did the minister say about the new toll road?"). Ask one specific question per
call, in Indonesian or English, as the user would say it; include the year or period if the
user names one. Results are articles, best first (or newest first with sort="newest"), each
with its best passage, its source, publication date, the period it speaks of, and `cite_as`;
`total` says how many were found: ask again with `offset` for more.

Cite facts as "Menurut <cite_as>, ..." (the top-level `cited_answer` is a ready sentence for
the best passage). If `found_answer` is false, the articles probably do not answer: say so
rather than guessing, or try again with other words or wider dates. list_sources gives the
publishers a `sources` filter may name and the dates the articles cover."""


def instructions(corpus: Corpus) -> str:
    """What the server tells a model it searches: this index's own description, never a fixed one."""
    about = corpus.description or corpus.summary
    named = f"{corpus.name}: {about}" if corpus.name else about
    until = (f" The newest article is from {corpus.last_date}: for 'today', 'hari ini' or 'terbaru' questions, "
             "say how recent the articles are." if corpus.last_date else "")
    return (
        f"Searches news articles ({named}). Call search_news with the user's question; answer from the "
        "passages it returns and cite each fact as the passage's cite_as says, e.g. 'Menurut kumparan "
        "(15 November 2024), ...'. When found_answer is false, say the articles do not answer the question "
        f"instead of guessing.{until} list_sources names the publishers and the dates covered."
    )


class CitedPassage(BaseModel):
    """One passage that may answer, with what is needed to cite it."""

    rank: int = Field(description="1 is the best match.")
    text: str = Field(description="The passage, as printed in the article.")
    answer_words: str | None = Field(description="The words in `text` that the reader found as its answer.")
    answer_confidence: float | None = Field(description="How likely `answer_words` answer the question (0-1).")
    cite_as: str = Field(description="Source and date as a citation names them: 'kumparan (15 November 2024)'.")
    source: str | None = Field(description="Publisher, e.g. kumparan.")
    published: str | None = Field(description="Publication date, YYYY-MM-DD.")
    about_period: str | None = Field(description="The time the passage speaks of, e.g. '2024' or 'Oktober 2024'.")
    title: str | None
    url: str | None
    author: str | None = Field(None, description="Who wrote the article, when its page or record says.")
    article_id: str = Field(description="Pass to read_article for the whole article.")
    more_from_article: list[str] = Field(
        description="The article's other passages that match the question, best first.")


class SearchResults(BaseModel):
    question: str
    total: int = Field(description="Articles found; `passages` holds one per article from `offset`.")
    news_until: str | None = Field(
        description="The newest indexed article's date: the articles say nothing after it. For 'today', 'hari ini' "
        "or 'terbaru' questions, say how recent they are.")
    offset: int
    sort: str
    found_answer: bool = Field(
        description="True when the answer below is right 9 times in 10; false when the articles seem not to hold it.")
    answer_words: str | None = Field(description="The words that answer (None when found_answer is false).")
    confidence: float = Field(description="How likely the best answer found is right (0-1).")
    cited_answer: str | None = Field(
        description="The answering sentence, attributed: 'Menurut kumparan (15 November 2024), ...' "
        "(None when found_answer is false).")
    other_period: str | None = Field(
        description="When the articles answer only for another period than the one asked: what was found "
        "and for when, e.g. 'latest found: 2024, not 2025: 12,37 juta tenaga kerja'. Say it is not for the "
        "period asked.")
    passages: list[CitedPassage]


class CorpusDescription(BaseModel):
    name: str | None
    description: str | None
    summary: str = Field(description="What is indexed, in one line, from the counts.")
    articles: int
    passages: int
    sources: list[SourceCount] = Field(description="The publishers, most articles first: what `sources` may name.")
    first_date: str | None = Field(description="The earliest publication date (YYYY-MM-DD).")
    last_date: str | None = Field(description="The latest publication date: the articles say nothing after it.")
    undated: int = Field(description="Articles without a date (a date filter leaves them out).")
    today: str = Field(description="The server's date, to compare with last_date.")


class FullArticle(BaseModel):
    article_id: str
    title: str | None
    source: str | None
    published: str | None
    url: str | None
    author: str | None = None
    text: str = Field(description="The whole article, cleaned of menus and adverts.")


def search_results(answer: Answer, corpus: Corpus) -> SearchResults:
    short = answer.answer
    return SearchResults(
        question=answer.question,
        total=answer.total,
        news_until=corpus.last_date,
        offset=answer.offset,
        sort=answer.sort,
        found_answer=short.confident,
        answer_words=short.text if short.confident else None,
        confidence=short.confidence,
        cited_answer=short.cited if short.confident else None,
        other_period=f"{short.note}: {short.text}" if short.note and short.text else None,
        passages=[
            CitedPassage(
                rank=r.rank, text=r.text, answer_words=r.text[slice(*r.answer)] if r.answer else None,
                answer_confidence=r.answer_confidence,
                cite_as=r.citation, source=r.source, published=r.date,
                about_period=r.period["label"] if r.period else None, title=r.title, url=r.url,
                author=r.author, article_id=r.doc_id, more_from_article=[m.text for m in r.more],
            )
            for r in answer.results
        ],
    )


def create_server(engine: Engine) -> MCPServer:
    server = MCPServer("tanya-berita", title="Tanya Berita: news search", instructions=instructions(engine.corpus()),
                       version="0.3.0")
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @server.tool(title="Search the news", description=SEARCH_DESCRIPTION, annotations=read_only)
    async def search_news(
        question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS,
                                       description="The question, in Indonesian or English.")],
        top_k: Annotated[int, Field(ge=MIN_TOP_K, le=MAX_TOP_K, description="How many articles to return.")]
        = DEFAULT_TOP_K,
        offset: Annotated[int, Field(ge=0, le=MAX_OFFSET, description="How many results to skip (the next page: "
                                     "offset + top_k).")] = 0,
        sort: Annotated[Literal[SORTS], Field(description="'relevance' (best answer first) or 'newest'.")] = SORTS[0],
        date_from: Annotated[str | None, Field(
            description="Only articles published on or after this date (YYYY-MM-DD).")] = None,
        date_to: Annotated[str | None, Field(
            description="Only articles published on or before this date (YYYY-MM-DD).")] = None,
        sources: Annotated[list[str] | None, Field(
            description="Only articles from these publishers, e.g. ['kumparan'] (list_sources names them).")] = None,
        # The old names: JSON Schema's `deprecated` tells the model (MCP's own logging is deprecated itself).
        published_from: Annotated[str | None, Field(description="Deprecated: use date_from.", deprecated=True)] = None,
        published_to: Annotated[str | None, Field(description="Deprecated: use date_to.", deprecated=True)] = None,
    ) -> SearchResults:
        # The engine is synchronous (model and FAISS): a worker thread keeps the session responsive.
        answer = await _call(engine.ask, question, top_k, date_from or published_from, date_to or published_to,
                             sources, offset=offset, sort=sort)
        return search_results(answer, await _call(engine.corpus))

    @server.tool(title="Read a news article", annotations=read_only)
    async def read_article(
        article_id: Annotated[str, Field(min_length=1, description="`article_id` of a search_news passage.")],
    ) -> FullArticle:
        """The whole text of an article that search_news found, for context around a passage."""
        info, text = await _call(engine.article, article_id)
        return FullArticle(article_id=info.id, title=info.title, source=info.source, published=info.date,
                           url=info.url, author=info.author, text=text)

    @server.tool(title="What is indexed", annotations=read_only)
    async def list_sources() -> CorpusDescription:
        """The publishers in the index with their article counts, and the dates the articles cover:
        what a `sources` or date filter of search_news can name, and how recent the news is."""
        corpus = await _call(engine.corpus)
        return CorpusDescription(**vars(corpus), today=dt.date.today().isoformat())

    return server


async def _call(function, *args, **options):
    """Runs an engine call in a thread; the product's own errors become tool errors the model reads."""
    try:
        return await asyncio.to_thread(function, *args, **options)
    except QAError as exc:
        raise ToolError(str(exc)) from None


def serve_stdio(engine: Engine) -> None:
    """Serves until the client closes standard input."""
    asyncio.run(create_server(engine).run_stdio_async())
