"""`qa mcp` as a chatbot runs it: a real MCP client session with the server process over stdio."""

import asyncio
import sys

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from conftest import QUESTION, ROOT
from qa.mcp_server import search_results


def session(index_dir, steps):
    """Starts `qa mcp` over the session's index, runs `steps(client)` in a client session, returns its result."""
    server = StdioServerParameters(command=sys.executable, args=["-m", "qa", "mcp", "--index-dir", str(index_dir)],
                                   cwd=str(ROOT))

    async def run():
        async with Client(server) as client:
            return await steps(client)

    return asyncio.run(run())


def test_a_chatbot_finds_the_tools_searches_cites_and_reads(settings, engine):
    async def steps(client):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        search = await client.call_tool("search_news", {"question": QUESTION, "top_k": 3})
        filtered = await client.call_tool("search_news", {"question": QUESTION, "sources": ["Republika"],
                                                          "date_from": "2022-01-01", "top_k": 10})
        old_names = await client.call_tool("search_news", {"question": QUESTION, "sources": ["Republika"],
                                                           "published_from": "2022-01-01", "top_k": 10})
        article = await client.call_tool(
            "read_article", {"article_id": search.structured_content["passages"][0]["article_id"]})
        return tools, search, filtered, old_names, article

    tools, search, filtered, old_names, article = session(settings.index_dir, steps)

    # What a model reads to decide how to call the tool.
    schema = tools["search_news"].input_schema
    assert schema["required"] == ["question"]
    assert {"question", "top_k", "offset", "sort", "date_from", "date_to", "sources", "published_from",
            "published_to"} == set(schema["properties"])
    assert all(p.get("description") for p in schema["properties"].values())
    assert "Menurut" in tools["search_news"].description and "found_answer" in tools["search_news"].description
    assert tools["search_news"].annotations.read_only_hint

    expected = engine.ask(QUESTION, 3)
    found = search.structured_content
    assert not search.is_error and found["found_answer"]
    assert found["answer_words"] == "12,37 juta tenaga kerja" and found["confidence"] > 0.5
    assert found["other_period"] is None
    assert found["cited_answer"] == expected.answer.cited and found["cited_answer"].startswith(
        "Menurut kumparan (15 November 2024), ")
    assert [p["text"] for p in found["passages"]] == [r.text for r in expected.results]
    first = found["passages"][0]
    assert (first["cite_as"], first["published"], first["about_period"]) == (
        "kumparan (15 November 2024)", "2024-11-15", "2024")
    assert first["answer_words"] == "12,37 juta tenaga kerja"
    assert "12,37 juta tenaga kerja" in search.content[0].text  # clients that read only text see it too

    assert {p["source"] for p in filtered.structured_content["passages"]} == {"Republika"}
    assert old_names.structured_content == filtered.structured_content  # the deprecated names still work
    assert {n for n, p in schema["properties"].items() if p.get("deprecated")} == {"published_from", "published_to"}
    assert article.structured_content["source"] == "kumparan"
    assert "12,37 juta tenaga kerja" in article.structured_content["text"]


def test_bad_calls_are_tool_errors_the_model_can_read(settings, engine):
    async def steps(client):
        return [
            await client.call_tool("search_news", {"question": "x" * 2001}),
            await client.call_tool("search_news", {"question": QUESTION, "published_from": "2024-13-01"}),
            await client.call_tool("read_article", {"article_id": "tidak-ada"}),
            await client.call_tool("search_news", {"question": QUESTION}),  # the session survives them
        ]

    too_long, bad_date, missing, fine = session(settings.index_dir, steps)
    assert too_long.is_error and "2000" in too_long.content[0].text
    assert bad_date.is_error and bad_date.content[0].text.endswith(
        "date_from must be a date like 2024-11-15, got '2024-13-01'")
    assert missing.is_error and "no article with id 'tidak-ada'" in missing.content[0].text
    assert not fine.is_error and fine.structured_content["found_answer"]


@pytest.mark.parametrize("question", ["harga emas hari ini", QUESTION])
def test_found_answer_agrees_with_the_answer_words(engine, question):
    found = search_results(engine.ask(question), engine.corpus())
    assert found.found_answer == (found.answer_words is not None) == (found.cited_answer is not None)
    assert found.found_answer == (question == QUESTION)


def test_a_chatbot_learns_what_is_indexed_and_pages_through_results(settings):
    """The instructions describe this index (not a fixed topic); list_sources gives publishers and
    dates; an unknown publisher is a tool error naming the valid ones; offset pages on."""
    async def steps(client):
        listed = await client.call_tool("list_sources", {})
        unknown = await client.call_tool("search_news", {"question": QUESTION, "sources": ["kompas"]})
        first = await client.call_tool("search_news", {"question": QUESTION, "top_k": 2})
        second = await client.call_tool("search_news", {"question": QUESTION, "top_k": 2, "offset": 2})
        newest = await client.call_tool("search_news", {"question": QUESTION, "top_k": 5, "sort": "newest"})
        return client.instructions, listed, unknown, first, second, newest

    told, listed, unknown, first, second, newest = session(settings.index_dir, steps)
    assert "5 news articles from KETIK, kumparan, marketeers and 1 more publisher" in told
    assert "industr" not in told.lower() and "2024-11-15" in told
    corpus = listed.structured_content
    assert {s["source"]: s["articles"] for s in corpus["sources"]} == {
        "KETIK": 1, "kumparan": 1, "marketeers": 1, "Republika": 1}
    assert (corpus["first_date"], corpus["last_date"], corpus["articles"]) == ("2022-08-10", "2024-11-15", 5)
    assert unknown.is_error and unknown.content[0].text.endswith(
        "unknown source(s): kompas; the sources are: KETIK, kumparan, marketeers, Republika")
    pages = first.structured_content, second.structured_content
    assert pages[0]["total"] == pages[1]["total"] == 5 and pages[1]["offset"] == 2
    assert pages[0]["news_until"] == "2024-11-15"
    ids = [p["article_id"] for page in pages for p in page["passages"]]
    assert len(ids) == len(set(ids)) == 4
    dates = [p["published"] for p in newest.structured_content["passages"]]
    assert dates == sorted(dates, reverse=True)
