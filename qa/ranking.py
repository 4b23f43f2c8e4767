"""Candidates in, ranked results out: dense and BM25 scores fused, time taken into account,
answers found, near-duplicates grouped.

The score of a candidate is a weighted sum (weights in `Weights`, chosen by measurement with
`qa eval`, see README):
  dense, lexical  each signal as a z-score over the candidates, so neither dominates by scale;
  period          1 if the passage speaks of the period the question names, or, when none does,
                  of the nearest year any candidate speaks of; for "terbaru" or "latest", the
                  period is the most recent year any candidate speaks of;
  recency         0..1, how recent the passage's period is among the candidates, when the
                  question names no period (the latest data first); how near it is to the
                  period named, when no candidate speaks of that one;
  coverage        share of the question's words in the passage's best sentence;
  answer          1 if that sentence holds a span of the kind asked for (a figure, a name...);
  figure          share of the figures the question quotes ("10.514 sentra") that the passage
                  holds: a quoted figure names the passage meant, whatever its period.
The word signals (lexical, coverage) weigh in by the share of the question's words that any
candidate holds (`word_reach`): a word no candidate holds, such as every word of an English
question over Indonesian news, can match nothing, and a lexical score built from its few other
words (a name, an acronym) would outweigh the embedding, which reads across languages.
The last two need the passage text, so they rerank the best `RERANK_DEPTH` candidates only;
without them (a plain baseline) answers are looked for in the results shown alone.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from qa.answers import CACHED_PASSAGES, Found, find_answer
from qa.config import Settings, default_of
from qa.periods import Period
from qa.query import QueryPlan
from qa.types import Passage

RERANK_DEPTH = 30
SAME_TEXT = 0.8  # word-set overlap (Jaccard) above which two passages are one text printed twice


@dataclass(frozen=True)
class Weights:
    dense: float = default_of("weight_dense")
    lexical: float = default_of("weight_lexical")
    period: float = default_of("weight_period")
    recency: float = default_of("weight_recency")
    coverage: float = default_of("weight_coverage")
    answer: float = default_of("weight_answer")
    figure: float = default_of("weight_figure")

    @classmethod
    def only(cls, **weights: float) -> Weights:
        """These weights and no others (every other one 0): a plain ranking to compare with."""
        return cls(**{name: weights.get(name, 0.0) for name in cls.__dataclass_fields__})

    @classmethod
    def from_settings(cls, settings: Settings) -> Weights:
        return cls(**{name: getattr(settings, f"weight_{name}") for name in cls.__dataclass_fields__})


@dataclass
class Candidate:
    key: int | str  # where the backend keeps the passage (qa.backends.base.Hit)
    dense: float
    lexical: float
    passage: Passage
    score: float = 0.0
    found: Found | None = None
    duplicates: list[Candidate] = field(default_factory=list)


def _zscores(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def _nearness(candidates: list[Candidate], asked: Period | None) -> np.ndarray:
    """0..1 among the candidates: how near each passage's period is to the one `asked` (None: how
    recent it is); 0 for an undated passage."""
    def key(period: Period) -> float:
        if asked is None:
            return period.end.toordinal()
        before, after = asked.start.toordinal() - period.end.toordinal(), period.start.toordinal() - asked.end.toordinal()
        return -max(before, after, 0)
    keys = np.array([key(c.passage.period) if c.passage.period else np.nan for c in candidates])
    known = keys[~np.isnan(keys)]
    if len(known) < 2 or known.max() == known.min():
        return np.zeros(len(candidates))
    return np.nan_to_num((keys - known.min()) / (known.max() - known.min()), nan=0.0)


def _of_the_period(candidates: list[Candidate], asked: Period | None) -> np.ndarray:
    return np.array([bool(asked and c.passage.period and c.passage.period.overlaps(asked)) for c in candidates])


def _nearest_year(candidates: list[Candidate], asked: Period) -> Period | None:
    """The year, of those the candidates speak of, nearest to `asked` (the earlier on a tie)."""
    def distance(period: Period) -> tuple[int, bool]:  # days apart, and whether it comes after
        before = asked.start.toordinal() - period.end.toordinal()
        after = period.start.toordinal() - asked.end.toordinal()
        return max(before, after), after > before
    periods = [c.passage.period for c in candidates if c.passage.period]
    if not periods:
        return None
    nearest = min(periods, key=distance)
    return Period.year(nearest.start.year if distance(nearest)[1] else nearest.end.year)


def rank(plan: QueryPlan, candidates: list[Candidate], weights: Weights, limit: int | None = None) -> list[Candidate]:
    """The best `limit` of `candidates` (None: all), best first, scored; near-duplicates folded
    into the first of them. Answers are looked for (`answer_in`) in the best RERANK_DEPTH
    candidates whose `found` is not yet set."""
    if not candidates:
        return []
    reach = word_reach(plan, candidates)
    score = (
        weights.dense * _zscores(np.array([c.dense for c in candidates]))
        + reach * weights.lexical * _zscores(np.array([c.lexical for c in candidates]))
    )
    asked = plan.asked.period
    if plan.asked.latest:
        ends = [c.passage.period.end for c in candidates if c.passage.period]
        asked = Period.year(max(ends).year) if ends else None
    of_the_period = _of_the_period(candidates, asked)
    if not of_the_period.any():
        # nothing speaks of the period asked (or none is): the nearest, or the latest, first; a
        # question about a year the news has not reached gets the latest figure, with its period
        score += weights.recency * _nearness(candidates, asked)
        if asked:
            # and the nearest year the news speaks of stands in for the one asked, as the latest
            # does for "terbaru": how near a passage is weighs as much as the period would have
            of_the_period = _of_the_period(candidates, _nearest_year(candidates, asked))
    score += weights.period * of_the_period
    if plan.figures and weights.figure:
        score += weights.figure * np.array(
            [sum(bool(f.search(c.passage.text)) for f in plan.figures) / len(plan.figures) for c in candidates])
    for candidate, value in zip(candidates, score):
        candidate.score = float(value)
    ordered = sorted(candidates, key=lambda c: -c.score)
    depth = RERANK_DEPTH if weights.coverage or weights.answer else 0
    for candidate in ordered[:depth]:
        if found := answer_in(plan, candidate):
            candidate.score += reach * weights.coverage * found.coverage
            candidate.score += weights.answer * (found.span is not None)
    head = sorted(ordered[:depth], key=lambda c: -c.score)
    return group_duplicates(head + ordered[depth:], limit)


def word_reach(plan: QueryPlan, candidates: list[Candidate]) -> float:
    """The share of the question's content words (each a stem, in any of the forms the question
    writes it) that at least one candidate's text holds; 1 for a question without such words.
    Measured on English SQuAD questions over their paragraphs machine-translated into Indonesian
    (README, "Ranking"): weighing the word signals by it lifts hit@1 from 0.66 to 0.74."""
    if not plan.content_forms:
        return 1.0
    texts = [c.passage.text.lower() for c in candidates]
    held = sum(any(form in text for form in forms for text in texts) for forms in plan.content_forms)
    return held / len(plan.content_forms)


def matching(ranked: list[Candidate], dense_z: float, lexical: float) -> list[Candidate]:
    """The candidates of `ranked` that match the question about as well as the best one does
    by either signal, in their order (the first of `ranked` always): a dense score within
    `dense_z` standard deviations (over the candidates: the same for any embedding model's
    scale) of the best, or a BM25 score at least `lexical` of the best. These are the results
    listed and counted in `total`: without the floor every one of the ~100 candidates counted,
    and sorting by date put weak matches first."""
    if len(ranked) < 2:
        return ranked
    dense = _zscores(np.array([c.dense for c in ranked]))
    dense_floor = dense.max() - dense_z
    lexical_floor = lexical * max(c.lexical for c in ranked)
    return [c for n, (c, z) in enumerate(zip(ranked, dense))
            if n == 0 or z >= dense_floor or (c.lexical > 0 and c.lexical >= lexical_floor)]


def answer_in(plan: QueryPlan, candidate: Candidate) -> Found | None:
    """The answer-type rules' answer in a candidate's passage, found once."""
    if candidate.found is None:
        candidate.found = find_answer(plan.content_stems, plan.kind, plan.words, candidate.passage.text)
    return candidate.found


@functools.lru_cache(maxsize=CACHED_PASSAGES)
def _words_and_prefix(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """A passage's word set and the prefix words `group_duplicates` looks it up by, cached as
    the answer rules cache a passage's analysis: the same passages come back as candidates
    question after question, and working these out was most of the cost of grouping."""
    words = frozenset(re.findall(r"\w+", text.lower()))
    ordered_words = sorted(sorted(words), key=len, reverse=True)  # longest first, then alphabetical
    return words, tuple(ordered_words[: len(words) - math.ceil(SAME_TEXT * len(words)) + 1])


def group_duplicates(ordered: list[Candidate], limit: int | None = None) -> list[Candidate]:
    """Keep the first of each group of near-identical passages (the same press release on two
    sites), up to `limit` of them (None: all); the others go into its `duplicates`.

    Near-linear, by prefix filtering: two word sets with Jaccard >= SAME_TEXT share a word among
    the first `len - ceil(SAME_TEXT * len) + 1` words of each in any fixed order, so a passage
    is compared only with the kept ones it shares such a word with. Longest words first: they
    are the rarer, so few passages share a prefix word by chance."""
    kept: list[tuple[Candidate, frozenset[str]]] = []
    by_word: dict[str, list[int]] = {}  # a prefix word -> the kept passages whose prefix holds it
    for candidate in ordered:
        if limit is not None and len(kept) == limit:
            break
        words, prefix = _words_and_prefix(candidate.passage.text)
        sharing = sorted({i for word in prefix for i in by_word.get(word, ())})
        same = next((i for i in sharing if _same_text(words, kept[i][1])), None)
        if same is not None:
            kept[same][0].duplicates.append(candidate)
            continue
        for word in prefix:
            by_word.setdefault(word, []).append(len(kept))
        kept.append((candidate, words))
    return [candidate for candidate, _ in kept]


def _same_text(words: frozenset[str], other: frozenset[str]) -> bool:
    if min(len(words), len(other)) < SAME_TEXT * max(len(words), len(other)):
        return False  # too different in size to overlap that much
    shared = len(words & other)
    return shared / (len(words) + len(other) - shared) >= SAME_TEXT
