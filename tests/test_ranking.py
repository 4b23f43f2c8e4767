import datetime as dt

from qa.periods import Period
from qa.query import QueryPlan
from qa.ranking import Candidate, Weights, group_duplicates, matching, rank, word_reach
from qa.types import Passage

TODAY = dt.date(2026, 11, 22)


def _candidate(row, text, dense=0.8, lexical=1.0, year=None, source="site"):
    passage = Passage(id=f"d{row}:0", doc_id=f"d{row}", position=0, text=text, start=0, end=len(text),
                      source=source, period=Period.year(year) if year else None)
    return Candidate(key=row, dense=dense, lexical=lexical, passage=passage)


def test_dense_and_lexical_are_fused_as_z_scores():
    plan = QueryPlan.of("tenaga kerja IKM", TODAY)
    candidates = [_candidate(0, "IKM a", dense=0.90, lexical=1.0), _candidate(1, "tenaga kerja b", dense=0.80, lexical=9.0),
                  _candidate(2, "c", dense=0.85, lexical=8.0)]
    assert [c.key for c in rank(plan, candidates, Weights.only(dense=1), 3)] == [0, 2, 1]
    assert [c.key for c in rank(plan, candidates, Weights.only(dense=0, lexical=1), 3)] == [1, 2, 0]
    assert [c.key for c in rank(plan, candidates, Weights.only(dense=1, lexical=1), 3)][0] == 2


def test_word_signals_weigh_by_the_share_of_question_words_the_candidates_hold():
    english = QueryPlan.of("how many workers did small industries employ?", TODAY)
    held = [_candidate(0, "IKM menyerap 12,37 juta tenaga kerja", dense=0.90, lexical=1.0),
            _candidate(1, "Industri kecil di Jawa", dense=0.80, lexical=9.0),
            _candidate(2, "Small industries, kata Reni", dense=0.70, lexical=8.0)]
    assert word_reach(english, held) == 2 / 4  # "small" and "industries" are in a candidate; "workers", "employ" in none
    fused = Weights.only(dense=1, lexical=1)
    assert [c.key for c in rank(english, held, fused, 3)] == [0, 1, 2]  # lexical at half weight: dense decides
    indonesian = QueryPlan.of("berapa tenaga kerja IKM?", TODAY)
    assert word_reach(indonesian, held) == 1.0
    assert [c.key for c in rank(indonesian, held, fused, 3)] == [1, 0, 2]  # lexical at full weight
    assert word_reach(QueryPlan.of("menulis", TODAY), [_candidate(0, "penulis buku")]) == 1.0  # a stem's other form
    assert word_reach(QueryPlan.of("siapa yang di mana?", TODAY), held) == 1.0  # only stop words: nothing to weigh
    assert word_reach(QueryPlan.of("harga emas", TODAY), held) == 0.0


def test_the_period_asked_lifts_passages_about_it():
    plan = QueryPlan.of("tenaga kerja IKM 2022", TODAY)
    candidates = [_candidate(0, "IKM 2024", dense=0.9, year=2024), _candidate(1, "IKM 2022", dense=0.8, year=2022)]
    assert rank(plan, candidates, Weights.only(dense=1, period=3), 2)[0].key == 1


def test_without_a_period_recent_passages_go_first():
    plan = QueryPlan.of("tenaga kerja IKM", TODAY)
    candidates = [_candidate(0, "IKM lama", dense=0.81, year=2022), _candidate(1, "IKM baru", dense=0.80, year=2024)]
    assert rank(plan, candidates, Weights.only(dense=1, recency=3), 2)[0].key == 1
    assert rank(plan, candidates, Weights.only(dense=1), 2)[0].key == 0


def test_a_period_no_passage_speaks_of_lifts_the_nearest():
    """For a year the news has not reached, the latest figure found; for one before it, the earliest."""
    candidates = [_candidate(0, "IKM 2022", dense=0.82, year=2022), _candidate(1, "IKM 2023", dense=0.81, year=2023),
                  _candidate(2, "IKM 2024", dense=0.80, year=2024)]
    weights = Weights.only(dense=1, period=3, recency=3)
    assert [c.key for c in rank(QueryPlan.of("tenaga kerja IKM 2025", TODAY), candidates, weights, 3)] == [2, 1, 0]
    assert [c.key for c in rank(QueryPlan.of("tenaga kerja IKM 2019", TODAY), candidates, weights, 3)] == [0, 1, 2]
    # a passage of the period asked: the period decides, and nearness does not weigh
    assert [c.key for c in rank(QueryPlan.of("tenaga kerja IKM 2023", TODAY), candidates, weights, 3)] == [1, 0, 2]


def test_the_nearest_year_stands_in_for_one_no_passage_speaks_of():
    """Asked about 2025, the 2024 passage outweighs a closer match of 2022 as a passage of 2025
    would; the year passed, the earliest. Undated passages alone: nothing stands in."""
    candidates = [_candidate(0, "IKM 2022", dense=0.84, year=2022), _candidate(1, "IKM 2024", dense=0.80, year=2024),
                  _candidate(2, "IKM 2023", dense=0.70, year=2023)]
    weights = Weights.only(dense=1, period=1, recency=0.25)
    assert [c.key for c in rank(QueryPlan.of("tenaga kerja IKM 2025", TODAY), candidates, weights, 3)] == [1, 0, 2]
    assert rank(QueryPlan.of("tenaga kerja IKM", TODAY), candidates, weights, 3)[0].key == 0  # no year asked
    later = [_candidate(0, "IKM 2024", dense=0.84, year=2024), _candidate(1, "IKM 2022", dense=0.80, year=2022),
             _candidate(2, "IKM 2023", dense=0.70, year=2023)]
    assert [c.key for c in rank(QueryPlan.of("tenaga kerja IKM 2019", TODAY), later, weights, 3)] == [1, 0, 2]
    undated = [_candidate(0, "IKM a", dense=0.84), _candidate(1, "IKM b", dense=0.80)]
    assert [c.key for c in rank(QueryPlan.of("tenaga kerja IKM 2025", TODAY), undated, weights, 2)] == [0, 1]


def test_a_quoted_figure_outranks_recency():
    plan = QueryPlan.of("siapa yang menyebut 4,4 juta unit usaha IKM?", TODAY)
    candidates = [_candidate(0, "IKM mencapai 4,52 juta unit", dense=0.82, year=2024),
                  _candidate(1, "IKM mencapai 4,4 juta unit usaha", dense=0.80, year=2022),
                  _candidate(2, "IKM mencapai 14,4 juta unit usaha", dense=0.81, year=2023)]  # "4,4" inside a number
    assert rank(plan, candidates, Weights.only(dense=1, recency=0.25), 3)[0].key == 0
    assert rank(plan, candidates, Weights.only(dense=1, recency=0.25, figure=3), 3)[0].key == 1


def test_a_question_without_figures_quotes_none():
    assert QueryPlan.of("berapa tenaga kerja IKM tahun 2024?", TODAY).figures == []  # a year is not a figure
    assert [f.pattern for f in QueryPlan.of("sentra IKM 10.514 di mana?", TODAY).figures] == [
        r"(?<![\d.,])10\.514(?![\d]|[.,]\d)"]


def test_a_sentence_with_the_asked_kind_of_answer_is_preferred():
    plan = QueryPlan.of("berapa tenaga kerja IKM?", TODAY)
    candidates = [_candidate(0, "Tenaga kerja IKM penting.", dense=0.81),
                  _candidate(1, "IKM menyerap 12,37 juta tenaga kerja.", dense=0.80)]
    assert rank(plan, candidates, Weights.only(dense=1, answer=3), 2)[0].key == 1


def test_near_duplicates_are_grouped_under_the_first():
    text = "Kemenperin mencatat IKM menyerap 12,37 juta tenaga kerja hingga saat ini di seluruh Indonesia."
    first, reprint, other = (_candidate(0, text, source="kumparan"),
                             _candidate(1, text.replace("Kemenperin", "Kementerian"), source="Warta"),
                             _candidate(2, "Pameran Gebyar IKMA digelar di Jakarta.", source="x"))
    kept = group_duplicates([first, reprint, other], limit=10)
    assert kept == [first, other] and first.duplicates == [reprint]
    assert group_duplicates([first, other], limit=1) == [first]


def test_found_are_the_candidates_that_match_about_as_well_as_the_best():
    """Near the best dense score, or with a fair share of the best BM25 score: found. A
    candidate weak by both is not listed (nor counted), wherever the fused ranking put it."""
    close = [_candidate(n, f"dekat {n}", dense=0.85 - 0.001 * n, lexical=0.0) for n in range(20)]
    worded = _candidate(20, "kata", dense=0.70, lexical=3.0)
    weak = _candidate(21, "lemah", dense=0.70, lexical=0.5)
    best = _candidate(22, "terbaik", dense=0.86, lexical=10.0)
    ranked = [best, weak, *close, worded]
    found = matching(ranked, dense_z=2.0, lexical=0.2)
    assert found == [best, *close, worded]
    assert matching(ranked, dense_z=1e9, lexical=1.0) == ranked  # a floor nothing falls below
    assert matching([weak, best], dense_z=0.0, lexical=1.0) == [weak, best]  # the first is always found
