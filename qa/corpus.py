"""What the index holds, described for people and for models: the page's heading, `/corpus`
and `/health`, the MCP server's instructions and `qa corpus` are written from it, so nothing
describes a corpus the index does not have."""

from __future__ import annotations

from qa.backends import IndexFacts
from qa.types import Corpus, Facets

SOURCES_NAMED = 20  # publishers a message names before it says how many more there are


def corpus_of(facets: Facets, facts: IndexFacts, name: str | None, description: str | None) -> Corpus:
    return Corpus(
        name=name, description=description, summary=summary(facets, facts.articles),
        articles=facts.articles, passages=facts.passages, sources=facets.sources,
        first_date=facets.first_date, last_date=facets.last_date, undated=facets.undated,
    )


def summary(facets: Facets, articles: int) -> str:
    """One line from the counts: '1,005 news articles from detik, kompas and 3 more
    publishers, published 2023-05-30 to 2024-11-15'."""
    line = f"{articles:,} news article{'s' * (articles != 1)}"
    names = [s.source for s in facets.sources]
    if len(names) > 3:
        line += f" from {', '.join(names[:3])} and {len(names) - 3} more publisher{'s' * (len(names) > 4)}"
    elif names:
        line += " from " + " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))
    if facets.first_date:
        line += f", published {facets.first_date} to {facets.last_date}"
    return line


def sources_hint(names: list[str]) -> str:
    """The publishers a source filter may name, for an error message that says what is valid."""
    if not names:
        return "the index holds no articles with a source"
    shown = ", ".join(names[:SOURCES_NAMED])
    more = f" and {len(names) - SOURCES_NAMED} more (all: GET /corpus, `qa corpus` or the MCP tool " \
           "list_sources)" if len(names) > SOURCES_NAMED else ""
    return f"the sources are: {shown}{more}"
