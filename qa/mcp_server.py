"""The news search as an MCP server, for chatbots: `qa mcp` serves it over stdio.

A thin shell over Engine, like the CLI and HTTP: one tool to search (`search_news`), one to
read a whole article (`read_article`). Their descriptions and schemas are what a model reads
to decide when and how to call them, so they say what the corpus holds, how to phrase a
question, and how to cite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from qa.engine import Engine
from qa.errors import QAError
from qa.query import DEFAULT_TOP_K, MAX_QUESTION_CHARS, MAX_TOP_K, MIN_TOP_K
from qa.types import Answer

INSTRUCTIONS = (
    "Searches Indonesian news articles about industry and industrial policy (ministry statements, "
    "figures on IKM/small industry, investment, workforce, exports). Call search_news with the "
    "user's question; answer from the passages it returns and cite each fact as the passage's "
    "cite_as says, e.g. 'Menurut kumparan (15 November 2024), ...'. When found_answer is false, "
    "say the articles do not answer the question instead of guessing."
)

SEARCH_DESCRIPTION = """Search indexed Indonesian news articles for passages that answer a question.

Use it for facts, figures and statements reported in the news on Indonesian industry (e.g.
"berapa tenaga kerja IKM 2024?", "What did the ministry say about battery investment?").
Ask one specific question per call, in Indonesian or English, as the user would say it;
include the year or period if the user names one. Results come best first, each with the
passage text, its source, publication date, the period it speaks of, and `cite_as`.

Cite facts as "Menurut <cite_as>, ..." (the top-level `cited_answer` is a ready sentence for
the best passage). If `found_answer` is false, the articles probably do not answer: say so
rather than guessing, or try again with other words or wider dates."""


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
    article_id: str = Field(description="Pass to read_article for the whole article.")


class SearchResults(BaseModel):
    question: str
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


class FullArticle(BaseModel):
    article_id: str
    title: str | None
    source: str | None
    published: str | None
    url: str | None
    text: str = Field(description="The whole article, cleaned of menus and adverts.")


def search_results(answer: Answer) -> SearchResults:
    short = answer.answer
    return SearchResults(
        question=answer.question,
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
                article_id=r.doc_id,
            )
            for r in answer.results
        ],
    )


def create_server(engine: Engine) -> MCPServer:
    server = MCPServer("tanya-berita", title="Tanya Berita: Indonesian news search",
                       instructions=INSTRUCTIONS, version="0.2.0")
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @server.tool(title="Search Indonesian news", description=SEARCH_DESCRIPTION, annotations=read_only)
    async def search_news(
        question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS,
                                       description="The question, in Indonesian or English.")],
        top_k: Annotated[int, Field(ge=MIN_TOP_K, le=MAX_TOP_K, description="How many passages to return.")]
        = DEFAULT_TOP_K,
        published_from: Annotated[dt.date | None, Field(
            description="Only articles published on or after this date (YYYY-MM-DD).")] = None,
        published_to: Annotated[dt.date | None, Field(
            description="Only articles published on or before this date (YYYY-MM-DD).")] = None,
        sources: Annotated[list[str] | None, Field(
            description="Only articles from these publishers, e.g. ['kumparan'].")] = None,
    ) -> SearchResults:
        # The engine is synchronous (model and FAISS): a worker thread keeps the session responsive.
        answer = await _call(engine.ask, question, top_k, published_from, published_to, sources)
        return search_results(answer)

    @server.tool(title="Read a news article", annotations=read_only)
    async def read_article(
        article_id: Annotated[str, Field(min_length=1, description="`article_id` of a search_news passage.")],
    ) -> FullArticle:
        """The whole text of an article that search_news found, for context around a passage."""
        info, text = await _call(engine.article, article_id)
        return FullArticle(article_id=info.id, title=info.title, source=info.source, published=info.date,
                           url=info.url, text=text)

    return server


async def _call(function, *args):
    """Runs an engine call in a thread; the product's own errors become tool errors the model reads."""
    try:
        return await asyncio.to_thread(function, *args)
    except QAError as exc:
        raise ToolError(str(exc)) from None


def serve_stdio(engine: Engine) -> None:
    """Serves until the client closes standard input."""
    asyncio.run(create_server(engine).run_stdio_async())
