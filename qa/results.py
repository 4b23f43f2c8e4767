"""Ranked candidates → what every interface returns: the short answer (from the trained
reader's spans, or by the answer-type rules), then one `Result` per article, in the order
asked for, one page of them, with highlights, citations, the article's other matching
passages and the passages printed elsewhere too."""

from __future__ import annotations

from dataclasses import dataclass

from qa.answers import highlight
from qa.citations import citation, cited_sentence
from qa.query import Query, QueryPlan
from qa.ranking import Candidate, answer_in
from qa.reader import FIRST_SPANS, Span
from qa.short_answer import (
    SENTENCE, Calibration, Reading, answer_kind, answers_as_asked, best_by_result, first_by_reading, readings, short_answer,
    shown_range, spelled_out_readings, sure_as_asked, vouching,
)
from qa.types import Answer, Passage, Result, ShortAnswer, Snippet, Source

MORE_PER_ARTICLE = 2  # other matching passages a result holds besides its best one


@dataclass(frozen=True)
class Marked:
    """The answer span found in one passage, how sure of it, and whether it is shown as the answer."""

    span: tuple[int, int] | None
    confidence: float | None
    confident: bool


# the short answer, the candidates reordered by what the reader found, each read passage's mark
Read = tuple[ShortAnswer, list[Candidate], dict[str, Marked]]


def read_answer(plan: QueryPlan, ranked: list[Candidate], spans: list[list[Span]],
                calibration: Calibration) -> Read:
    """The short answer from the reader's `spans` in the first passages of `ranked`; `ranked`
    again, with a passage whose answer the reader is clearly surer of moved first; and each
    read passage's best reading, where it can answer: a card never highlights as its answer a
    span of the wrong kind ("One Village One Product (OVOP)" for "IKI bulan September 2024
    berapa?", when the passage's figure is October's)."""
    passages = [c.passage for c in ranked]
    # what the passages spell out answers "apa itu IKM?" better than any span the reader proposes
    found = spelled_out_readings(plan, passages) or _readings(plan, passages, spans, calibration)
    short = short_answer(plan, passages, found, calibration)
    best = best_by_result(plan, passages, found, len(spans))
    vouched = [b and vouching(plan, passages, found, b) for b in best]
    marks = {
        c.passage.id: Marked(shown_range(plan, c.passage, b), round(v.confidence, 4),
                             sure_as_asked(plan, c.passage, v, calibration))
        for c, b, v in zip(ranked, best, vouched) if b and b.can_answer
    }
    first = first_by_reading(plan, passages, best)
    if first:
        ranked = [ranked[first], *ranked[:first], *ranked[first + 1:]]
    return short, ranked, marks


def _readings(plan: QueryPlan, passages: list[Passage], spans: list[list[Span]],
              calibration: Calibration) -> list[Reading]:
    """The readings of each window's best FIRST_SPANS spans; of all the reader's spans when none
    of those can answer of the period asked (the reader's best are often the asked thing's name,
    its figure comes later), or when a sentence answers (why, how): there every span can
    answer, and what counts is which sentence it is in (`preference`). The others are not
    weighed first: they would cost every question their checks, and a later span that the
    reader rates lower would outvote its best ones."""
    if answer_kind(plan.written) == SENTENCE:
        return readings(plan, passages, spans, calibration)
    first = [[span for span in passage_spans if span.place < FIRST_SPANS] for passage_spans in spans]
    found = readings(plan, passages, first, calibration)
    if sum(map(len, first)) == sum(map(len, spans)) or any(answers_as_asked(plan, passages[r.rank], r) for r in found):
        return found
    return readings(plan, passages, spans, calibration)


def rules_answer(plan: QueryPlan, ranked: list[Candidate], min_coverage: float) -> ShortAnswer:
    """With reader=rules: the rules' answer span in the best passage, if its sentence holds at
    least `min_coverage` of the question."""
    found = answer_in(plan, ranked[0]) if ranked else None
    if found is None or found.span is None:
        return ShortAnswer(text=None, confident=False)
    passage = ranked[0].passage
    confident = found.coverage >= min_coverage
    return ShortAnswer(
        text=passage.text[found.span[0] : found.span[1]] if confident else None,
        confident=confident,
        confidence=1.0 if confident else 0.0,
        passage_id=passage.id,
        source=passage.source,
        date=passage.date,
        period=passage.period.label if passage.period else None,
        cited=cited_sentence(passage.source, passage.date, passage.text[slice(*found.sentence)]) if confident else None,
    )


def rules_marks(plan: QueryPlan, candidates: list[Candidate]) -> dict[str, Marked]:
    """With reader=rules: the rules' answer span in each of `candidates` (those shown)."""
    marks = {}
    for candidate in candidates:
        found = answer_in(plan, candidate)
        if found and found.span:
            marks[candidate.passage.id] = Marked(found.span, None, True)
    return marks


def by_article(ranked: list[Candidate]) -> list[list[Candidate]]:
    """The ranked passages grouped by article, each article where its best passage ranks."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in ranked:
        groups.setdefault(candidate.passage.doc_id, []).append(candidate)
    return list(groups.values())


def ordered(groups: list[list[Candidate]], sort: str) -> list[list[Candidate]]:
    """"relevance": as ranked; "newest": by publication date, newest first (undated last),
    equal dates as ranked."""
    if sort == "newest":
        return sorted(groups, key=lambda group: group[0].passage.date or "", reverse=True)  # (a stable sort)
    return groups


def page(query: Query, plan: QueryPlan, short: ShortAnswer, groups: list[list[Candidate]],
         marks: dict[str, Marked]) -> Answer:
    """The Answer: `short`, and one Result per group of the query's page."""
    results = [_result(query.offset + number, group, plan, marks)
               for number, group in enumerate(_page_of(query, groups), 1)]
    return Answer(question=plan.question, answer=short, results=results, total=len(groups),
                  offset=query.offset, sort=query.sort)


def shown_passages(query: Query, groups: list[list[Candidate]]) -> list[Candidate]:
    """The candidates a page shows: each article's best passage and up to MORE_PER_ARTICLE others."""
    return [c for group in _page_of(query, groups) for c in group[: 1 + MORE_PER_ARTICLE]]


def _page_of(query: Query, groups: list[list[Candidate]]) -> list[list[Candidate]]:
    """The groups the query's page shows: `top_k` of them from its offset."""
    return groups[query.offset : query.offset + query.top_k]


def _result(number: int, group: list[Candidate], plan: QueryPlan, marks: dict[str, Marked]) -> Result:
    best = group[0]
    passage = best.passage
    mark = marks.get(passage.id)
    return Result(
        rank=number,
        score=round(best.score, 4),
        text=passage.text,
        title=passage.title,
        source=passage.source,
        date=passage.date,
        url=passage.url,
        doc_id=passage.doc_id,
        passage_id=passage.id,
        highlights=_highlights(plan, passage, mark),
        period=passage.period.to_dict() if passage.period else None,
        answer=list(mark.span) if mark and mark.span else None,
        answer_confidence=mark.confidence if mark else None,
        citation=citation(passage.source, passage.date),
        article_span=[passage.start, passage.end],
        also_in=[_source(d.passage) for d in best.duplicates],
        more=[_snippet(c, plan, marks.get(c.passage.id)) for c in group[1 : 1 + MORE_PER_ARTICLE]],
        author=passage.author,
    )


def _snippet(candidate: Candidate, plan: QueryPlan, mark: Marked | None) -> Snippet:
    passage = candidate.passage
    return Snippet(
        passage_id=passage.id,
        text=passage.text,
        score=round(candidate.score, 4),
        highlights=_highlights(plan, passage, mark),
        answer=list(mark.span) if mark and mark.span else None,
        answer_confidence=mark.confidence if mark else None,
        article_span=[passage.start, passage.end],
    )


def _highlights(plan: QueryPlan, passage: Passage, mark: Marked | None) -> list[list[int]]:
    return highlight(plan.words, passage.text, mark.span if mark and mark.confident else None)


def _source(passage: Passage) -> Source:
    return Source(
        source=passage.source, date=passage.date, title=passage.title, url=passage.url,
        doc_id=passage.doc_id, passage_id=passage.id,
    )
