"""qa.results: ranked passages become one result per article, ordered and paged."""

from qa.periods import Period
from qa.query import Query, QueryPlan
from qa.ranking import Candidate
from qa.reader import FIRST_SPANS, Span
from qa.results import MORE_PER_ARTICLE, by_article, ordered, page, read_answer, shown_passages
from qa.short_answer import Calibration
from qa.types import Passage, ShortAnswer

PLAN = QueryPlan.of("berapa tenaga kerja IKM?")


def candidate(doc: str, position: int, score: float, date: str | None) -> Candidate:
    text = f"Tenaga kerja IKM di {doc} bagian {position}."
    passage = Passage(f"{doc}:{position}", doc, position, text, 0, len(text), source="s", date=date)
    return Candidate(key=f"{doc}:{position}", dense=0.0, lexical=0.0, passage=passage, score=score)


RANKED = [candidate("a", 0, 5, "2023-01-01"), candidate("b", 0, 4, "2024-01-01"), candidate("a", 1, 3, "2023-01-01"),
          candidate("c", 0, 2, None), candidate("a", 2, 1, "2023-01-01"), candidate("a", 3, 0, "2023-01-01")]


def test_passages_are_grouped_by_article_where_its_best_ranks():
    groups = by_article(RANKED)
    assert [[c.key for c in g] for g in groups] == [["a:0", "a:1", "a:2", "a:3"], ["b:0"], ["c:0"]]


def test_newest_first_puts_undated_last_and_keeps_ties_as_ranked():
    assert [g[0].passage.doc_id for g in ordered(by_article(RANKED), "newest")] == ["b", "a", "c"]
    assert [g[0].passage.doc_id for g in ordered(by_article(RANKED), "relevance")] == ["a", "b", "c"]


def test_a_page_holds_top_k_articles_from_the_offset_with_their_other_passages():
    groups = by_article(RANKED)
    first = page(Query(PLAN.question, 1), PLAN, ShortAnswer(None, False), groups, {})
    assert (first.total, first.offset, [r.doc_id for r in first.results]) == (3, 0, ["a"])
    assert [m.passage_id for m in first.results[0].more] == ["a:1", "a:2"][:MORE_PER_ARTICLE]
    second = page(Query(PLAN.question, 2, offset=1), PLAN, ShortAnswer(None, False), groups, {})
    assert [(r.rank, r.doc_id) for r in second.results] == [(2, "b"), (3, "c")]
    assert [c.key for c in shown_passages(Query(PLAN.question, 1), groups)] == ["a:0", "a:1", "a:2"]


def test_each_read_passage_marks_the_answer_the_short_answer_gives():
    """A factoid question marks the reader's span; a why question the sentence that holds it,
    and the next one when that only restates the question, as the short answer gives it."""
    text = ("IKM didorong mengembangkan produk yang lebih inovatif dan berkualitas tinggi. Tujuannya agar produknya "
            "mampu bersaing di pasar global. Pameran digelar di Jakarta.")
    passage = Passage("a:0", "a", 0, text, 0, len(text), source="s", date="2024-01-01")
    ranked = [Candidate(key="a:0", dense=0.0, lexical=0.0, passage=passage, score=1.0)]
    start = text.index("berkualitas tinggi")
    spans = [[Span(start, start + len("berkualitas tinggi"), 5.0, 0.9)]]
    sure = Calibration((1.0,) + (0.0,) * 8, 0.0, 0.5)
    why = QueryPlan.of("mengapa IKM didorong mengembangkan produk inovatif?")
    short, _, marks = read_answer(why, ranked, spans, sure)
    assert text[slice(*marks["a:0"].span)] == short.text == text[: text.index(" Pameran")]
    what = QueryPlan.of("produk IKM seperti apa yang didorong?")
    short, _, marks = read_answer(what, ranked, spans, sure)
    assert text[slice(*marks["a:0"].span)] == short.text == "berkualitas tinggi"


def test_a_span_of_the_wrong_kind_is_not_marked_as_a_passages_answer():
    """"berapa ..." asks for a figure: a passage whose best reading is a name shows none, and
    one whose reading is a figure shows it."""
    text = "Pameran menampilkan One Village One Product (OVOP). Pameran itu diikuti 137 IKM unggulan."
    passage = Passage("a:0", "a", 0, text, 0, len(text), source="s", date="2024-11-15")
    ranked = [Candidate(key="a:0", dense=0.0, lexical=0.0, passage=passage, score=1.0)]
    sure = Calibration((1.0,) + (0.0,) * 8, 0.0, 0.5)
    plan = QueryPlan.of("berapa IKM yang ikut pameran?")
    name, figure = text.index("One Village"), text.index("137 IKM")
    _, _, marks = read_answer(plan, ranked, [[Span(name, name + len("One Village One Product (OVOP)"), 3.0, 0.8)]], sure)
    assert marks == {}
    _, _, marks = read_answer(plan, ranked, [[Span(figure, figure + len("137 IKM"), 3.0, 0.8)]], sure)
    assert text[slice(*marks["a:0"].span)] == "137 IKM"


def test_a_passage_marks_its_answer_confident_only_where_the_short_answer_would_be():
    """A sure reading of another period than the one asked (or of an undated passage, for a
    question about a period) is the passage's answer, with its confidence, but not a confident
    one: the short answer says there is none, and the passage must not say otherwise."""
    text = "Tenaga kerja IKM pada 2022 mencapai 12,39 juta orang."
    sure = Calibration((1.0,) + (0.0,) * 8, 0.0, 0.5)
    figure = text.index("12,39")
    spans = [[Span(figure, figure + len("12,39 juta orang"), 5.0, 0.9)]]

    def ranked(date, period):
        passage = Passage("a:0", "a", 0, text, 0, len(text), source="s", date=date, period=period)
        return [Candidate(key="a:0", dense=0.0, lexical=0.0, passage=passage, score=1.0)]

    for date, period in (("2023-01-07", Period.year(2022)), (None, None)):
        short, _, marks = read_answer(QueryPlan.of("berapa tenaga kerja IKM 2025?"), ranked(date, period), spans, sure)
        assert not short.confident and short.note and not marks["a:0"].confident
        assert text[slice(*marks["a:0"].span)] == "12,39 juta orang"
    short, _, marks = read_answer(QueryPlan.of("berapa tenaga kerja IKM 2022?"), ranked("2023-01-07", Period.year(2022)),
                                  spans, sure)
    assert short.confident and marks["a:0"].confident


def test_the_readers_later_spans_are_weighed_only_when_its_best_cannot_answer():
    """"berapa ..." asks for a figure: when the reader's best FIRST_SPANS spans are names, its
    next best figure is the answer; when one of its best is a figure, a later figure, however
    sure, is not weighed."""
    text = "Indeks Kepercayaan Industri (IKI) pada September 2024 mencapai 52,48 poin, kata Agus di Jakarta."
    passage = Passage("a:0", "a", 0, text, 0, len(text), source="s", date="2024-10-01")
    ranked = [Candidate(key="a:0", dense=0.0, lexical=0.0, passage=passage, score=1.0)]
    sure = Calibration((1.0,) + (0.0,) * 8, 0.0, 0.5)
    plan = QueryPlan.of("berapa IKI September 2024?")

    def span(words: str, margin: float, place: int) -> Span:
        start = text.index(words)
        return Span(start, start + len(words), margin, 0.5, place=place)

    names = [span(words, 4.0 - n, n) for n, words in enumerate(["Indeks Kepercayaan Industri", "Agus", "Jakarta"])]
    short, _, marks = read_answer(plan, ranked, [[*names, span("52,48 poin", 1.0, FIRST_SPANS)]], sure)
    assert short.text == text[slice(*marks["a:0"].span)] == "52,48 poin"
    first = [*names[:-1], span("52,48", 0.5, FIRST_SPANS - 1)]
    short, _, _ = read_answer(plan, ranked, [[*first, span("52,48 poin, kata Agus", 3.0, FIRST_SPANS)]], sure)
    assert short.text == "52,48"


def test_every_span_is_weighed_for_a_question_a_sentence_answers():
    """For a why-question every span can answer, so the reader's later spans are weighed too:
    the sentence that says what is asked may hold only those."""
    text = ("Gebyar IKMA 2024 dibuka Faisol Riza di Jakarta. IKM didorong mengembangkan produk inovatif. "
            "Tujuannya agar mampu bersaing di pasar global.")
    passage = Passage("a:0", "a", 0, text, 0, len(text), source="s", date="2024-10-01")
    ranked = [Candidate(key="a:0", dense=0.0, lexical=0.0, passage=passage, score=1.0)]
    sure = Calibration((1.0,) + (0.0,) * 8, 0.0, 0.5)

    def span(words: str, margin: float, place: int) -> Span:
        start = text.index(words)
        return Span(start, start + len(words), margin, 0.5, place=place)

    names = [span(words, 4.0 - n, n) for n, words in enumerate(["Gebyar IKMA 2024", "Faisol Riza", "Jakarta"])]
    short, _, marks = read_answer(QueryPlan.of("mengapa IKM didorong mengembangkan produk inovatif?"), ranked,
                                  [[*names, span("produk inovatif", 0.5, FIRST_SPANS)]], sure)
    assert short.text == text[slice(*marks["a:0"].span)]
    assert short.text.startswith("IKM didorong") and short.text.endswith("pasar global.")
