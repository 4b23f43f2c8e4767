"""Ranked candidates → what every interface returns: `Result`s with highlights, citations and
the passages printed elsewhere too, and the `Answer` with its short answer (from the trained
reader's spans, or by the answer-type rules)."""

from __future__ import annotations

from qa.answers import highlight
from qa.citations import citation, cited_sentence
from qa.query import QueryPlan
from qa.ranking import Candidate
from qa.reader import Span
from qa.short_answer import Calibration, best_by_result, first_by_reading, readings, short_answer
from qa.types import Answer, Passage, Result, ShortAnswer, Source


def results_of(ranked: list[Candidate], plan: QueryPlan) -> list[Result]:
    """One result per ranked candidate, numbered from 1."""
    return [_result(number, candidate, plan) for number, candidate in enumerate(ranked, 1)]


def _result(number: int, candidate: Candidate, plan: QueryPlan) -> Result:
    passage = candidate.passage
    span = candidate.found.span if candidate.found else None
    return Result(
        rank=number,
        score=round(candidate.score, 4),
        text=passage.text,
        title=passage.title,
        source=passage.source,
        date=passage.date,
        url=passage.url,
        doc_id=passage.doc_id,
        passage_id=passage.id,
        highlights=highlight(plan.words, passage.text, span),
        period=passage.period.to_dict() if passage.period else None,
        answer=list(span) if span else None,
        citation=citation(passage.source, passage.date),
        article_span=[passage.start, passage.end],
        also_in=[_source(d.passage) for d in candidate.duplicates],
    )


def read_answer(plan: QueryPlan, ranked: list[Candidate], results: list[Result], spans: list[list[Span]],
                calibration: Calibration) -> Answer:
    """The answer from the reader's `spans` in the best results: each result gets its best
    reading, and one the reader is clearly surer of goes first."""
    passages = [c.passage for c in ranked]
    found = readings(plan, passages, spans, calibration)
    short = short_answer(plan, passages, found, calibration)
    best_readings = best_by_result(found, len(results))
    for result, best in zip(results, best_readings):
        confident = bool(best and best.acceptable and best.confidence >= calibration.threshold)
        result.answer = list(best.span) if best else None
        result.answer_confidence = round(best.confidence, 4) if best else None
        result.highlights = highlight(plan.words, result.text, best.span if confident else None)
    first = first_by_reading(plan, passages, best_readings)
    if first:
        results.insert(0, results.pop(first))
        for number, result in enumerate(results, 1):
            result.rank = number
    return Answer(question=plan.question, answer=short, results=results)


def rules_answer(plan: QueryPlan, ranked: list[Candidate], results: list[Result], min_coverage: float) -> Answer:
    """With reader=rules: the rules' answer span in the best result, if its sentence holds at
    least `min_coverage` of the question."""
    if not ranked or not ranked[0].found or ranked[0].found.span is None:
        return Answer(question=plan.question, answer=ShortAnswer(text=None, confident=False), results=results)
    best, found, result = ranked[0], ranked[0].found, results[0]
    confident = found.coverage >= min_coverage
    short = ShortAnswer(
        text=result.text[found.span[0] : found.span[1]] if confident else None,
        confident=confident,
        confidence=1.0 if confident else 0.0,
        passage_id=result.passage_id,
        source=result.source,
        date=result.date,
        period=best.passage.period.label if best.passage.period else None,
        cited=cited_sentence(result.source, result.date, result.text[slice(*found.sentence)]) if confident else None,
    )
    return Answer(question=plan.question, answer=short, results=results)


def _source(passage: Passage) -> Source:
    return Source(
        source=passage.source, date=passage.date, title=passage.title, url=passage.url,
        doc_id=passage.doc_id, passage_id=passage.id,
    )
