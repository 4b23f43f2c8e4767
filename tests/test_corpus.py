"""qa.corpus: what the index holds, in one line and in messages that name valid sources."""

from qa.backends import IndexFacts
from qa.corpus import SOURCES_NAMED, corpus_of, sources_hint, summary
from qa.types import Facets, SourceCount


def facets(*names: str, first="2023-01-02", last="2024-05-06") -> Facets:
    return Facets([SourceCount(n, 1) for n in names], first, last, 0)


def test_the_summary_names_a_few_publishers_and_counts_the_rest():
    assert summary(facets("kompas"), 1) == "1 news article from kompas, published 2023-01-02 to 2024-05-06"
    assert summary(facets("a", "b"), 2) == "2 news articles from a and b, published 2023-01-02 to 2024-05-06"
    assert summary(facets("a", "b", "c"), 3).startswith("3 news articles from a, b and c,")
    assert summary(facets("a", "b", "c", "d", "e"), 1200).startswith("1,200 news articles from a, b, c and 2 more "
                                                                      "publishers,")
    assert summary(facets(first=None, last=None), 0) == "0 news articles"


def test_settings_name_and_describe_the_corpus():
    corpus = corpus_of(facets("a"), IndexFacts(3, 7, 1, "2024-01-01"), "Arsip", "Berita daerah.")
    assert (corpus.name, corpus.description, corpus.articles, corpus.passages) == ("Arsip", "Berita daerah.", 3, 7)
    assert corpus.summary.startswith("3 news articles from a")


def test_the_hint_names_the_valid_sources_and_where_the_rest_are():
    assert sources_hint(["a", "b"]) == "the sources are: a, b"
    many = sources_hint([f"s{n}" for n in range(SOURCES_NAMED + 5)])
    assert many.startswith("the sources are: s0, s1") and "and 5 more (all: GET /corpus" in many
    assert sources_hint([]) == "the index holds no articles with a source"
