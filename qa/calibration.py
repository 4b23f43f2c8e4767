"""Choosing how far to trust the reader: a logistic curve from what is known about an answer
(`qa.short_answer.FEATURES`: the reader's margin and probability, how many passages agree, the
passage's rank, the answer's length and kind) to the chance that it is right, and the
confidence threshold at which 9 confident answers in 10 are right.

Fitted on the FacQA train questions held out of training (`qa.reader_training.split_held_in`),
asked end to end against every FacQA passage as users ask (retrieval, then the reader on the
best passages); on the same questions asked in English (`qa/data/held_in_english.jsonl`,
translated by hand for this: FacQA has none in English, and users ask in English too); and on
the own question set's questions over the default corpus that are not tagged held-out (news as
people ask it: terse, colloquial, English). Each question is read twice: with the passages
retrieval serves, and with every passage that holds its answer left out, where any answer
counts as wrong, so that the curve learns what an unanswerable question looks like. The curve is
fitted on the questions in Indonesian; whether a question is in English is one more feature,
whose weight alone is then fitted on the questions in English (`_fit_languages`); a threshold
is chosen for each language on its questions' first reading (FacQA repeats facts across
passages in other words, so the second overstates wrong answers).
FacQA valid is never used here.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.engine import Engine
from qa.evaluation import facqa, is_right, load_questions
from qa.facqa import FacQARow, facqa_rows
from qa.query import QueryPlan
from qa.reader_training import READERS, ReaderWeights, split_held_in
from qa.short_answer import FEATURES, Calibration, Reading, readings
from qa.types import Passage

log = logging.getLogger(__name__)

TARGET_PRECISION = 0.9
OWN_QUESTIONS = Path(__file__).parent.parent / "benchmarks" / "questions.jsonl"
HELD_IN_ENGLISH = Path(__file__).parent / "data" / "held_in_english.jsonl"
DEFAULT_CORPUS = Path(__file__).parent.parent / "corpus"
BATCH = 16


def fit_logistic(features: np.ndarray, right: np.ndarray, ridge: float = 1e-2, steps: int = 100,
                 offset: np.ndarray | float = 0.0) -> np.ndarray:
    """Weights (the intercept last) of P(right) = sigmoid(offset + features · w), by Newton's
    method with a small ridge (a separable sample would otherwise send a weight to infinity)."""
    x = np.c_[features, np.ones(len(features))]
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(offset + x @ w)))
        gradient = x.T @ (p - right) + ridge * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w


def threshold_for(confidences: np.ndarray, right: np.ndarray, precision: float = TARGET_PRECISION) -> float:
    """The lowest confidence at which the answers at or above it are right at least
    `precision` of the time (1.0 when no cut is)."""
    order = np.argsort(-confidences)
    running = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    good = np.flatnonzero(running >= precision)
    return float(confidences[order][good[-1]]) if len(good) else 1.0


def calibrate(facqa_dir: Path, weights: ReaderWeights, settings: Settings | None = None) -> dict:
    """Fit the curve and the threshold of the reader `weights` on held-in FacQA questions and
    save them beside its adapter."""
    _, held_in = split_held_in(facqa_rows(facqa_dir, "train"))
    if not weights.calibration_file.is_file():
        # a new reader: which of a passage's readings is read as its best follows a curve, so it
        # is first read with another reader's, then given its own
        start = next(w.calibration_file for w in READERS if w.calibration_file.is_file())
        shutil.copyfile(start, weights.calibration_file)
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "facqa.jsonl"
        facqa(facqa_dir, "train", corpus)
        engine = Engine(settings, index_dir=Path(work) / "index", reader_layers=str(weights.layers))
        engine.build_index([corpus])
        read = _read_held_in(engine, held_in) + _read_held_in(engine, in_english(held_in))
        if OWN_QUESTIONS.is_file() and DEFAULT_CORPUS.is_dir():  # a checkout of the repository
            own = Engine(engine.settings, engine.embedder, index_dir=Path(work) / "own")
            own.build_index([DEFAULT_CORPUS])
            read += _read_held_in(own, own_tune_rows())
    indonesian, english = [r for r in read if not r[3]], [r for r in read if r[3]]
    w = _fit_languages(indonesian, english)
    curve = Calibration(tuple(w[:-1]), float(w[-1]), 0.0)
    held_in = {"indonesian": _threshold(curve, indonesian), "english": _threshold(curve, english)}
    report = {
        "features": list(FEATURES), "weights": [float(v) for v in w[:-1]], "intercept": float(w[-1]),
        "threshold": held_in["indonesian"]["threshold"], "english_threshold": held_in["english"]["threshold"],
        "held_in": held_in,
    }
    weights.calibration_file.write_text(json.dumps(report, indent=2) + "\n")
    return report


Read = tuple[str, list[Reading], bool, bool]  # gold answer, readings, answerable, asked in English


def _fit_languages(indonesian: list[Read], english: list[Read]) -> np.ndarray:
    """The curve's weights (the intercept last): every weight fitted on the questions in
    Indonesian, then only the English feature's, on the questions in English with the others
    held. The English questions shift their answers' confidence by one amount, and so change
    neither which reading of a question is preferred nor anything for Indonesian questions."""
    english_feature = FEATURES.index("english")
    features, right = _labelled(indonesian)
    w = fit_logistic(features, right)
    features, right = _labelled(english)
    held = features @ w[:-1] + w[-1]
    w[english_feature] = fit_logistic(np.empty((len(right), 0)), right, offset=held)[0]
    return w


def _labelled(read: list[Read]) -> tuple[np.ndarray, np.ndarray]:
    """Every reading's features, and whether it is right (never, for a question read without
    its answer's passages)."""
    features = np.array([r.features for _, found, _, _ in read for r in found])
    right = np.array([answerable and is_right(r.words, gold) for gold, found, answerable, _ in read for r in found],
                     dtype=float)
    return features, right


def _threshold(curve: Calibration, read: list[Read]) -> dict:
    """The threshold at which 9 in 10 of the answers to `read`'s answerable questions at or
    above it are right, and what it gives there."""
    chosen = [(max(curve.confidence(r.features) for r in found),
               is_right(max(found, key=lambda r: curve.confidence(r.features)).words, gold))
              for gold, found, answerable, _ in read if answerable and found]
    confidences, chosen_right = np.array([c for c, _ in chosen]), np.array([r for _, r in chosen], dtype=float)
    threshold = threshold_for(confidences, chosen_right)
    unanswerable = [max(curve.confidence(r.features) for r in found) if found else 0.0
                    for _, found, answerable, _ in read if not answerable]
    confident = confidences >= threshold
    return {
        "threshold": threshold,
        "questions": len(chosen),
        "coverage": float(confident.mean()),
        "precision_when_confident": float(chosen_right[confident].mean()) if confident.any() else 0.0,
        "left_unanswered_without_their_passages": float(np.mean(np.array(unanswerable) < threshold)),
    }


def own_tune_rows() -> list[FacQARow]:
    """The questions of the own question set with an expected answer, except those tagged
    held-out (the final check, never tuned on), as rows over the default corpus."""
    items = load_questions(OWN_QUESTIONS)
    return [FacQARow(i.question, "", i.answer, 0) for i in items if i.answer and "held-out" not in i.tags]


def in_english(rows: list[FacQARow]) -> list[FacQARow]:
    """The rows whose question has an English translation in HELD_IN_ENGLISH, asked in English."""
    english = {r["question"]: r["english"] for r in map(json.loads, HELD_IN_ENGLISH.read_text().splitlines())}
    return [FacQARow(english[r.question], r.passage, r.answer, r.answer_start) for r in rows if r.question in english]


def _read_held_in(engine: Engine, rows) -> list[Read]:
    """Each row's gold answer and the reader's readings, as served and without its answer's
    passages (`answerable` False), and whether the question is in English."""
    depth = engine.settings.reader_passages
    curve = Calibration((0.0,) * len(FEATURES), 0.0, 0.0)  # confidences are not needed yet
    read = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        answers = engine.ask_many([r.question for r in chunk], top_k=depth * 2)
        asked = []
        for row, answer in zip(chunk, answers):
            served = [r for r in answer.results[:depth]]
            without = [r for r in answer.results if row.answer.lower() not in r.text.lower()][:depth]
            asked += [(row, served, True), (row, without, False)]
        spans = engine.read([(QueryPlan.of(row.question).untimed, [r.text for r in results])
                             for row, results, _ in asked])
        for (row, results, answerable), found in zip(asked, spans):
            passages = [Passage(r.passage_id, r.doc_id, 0, r.text, *r.article_span) for r in results]
            plan = QueryPlan.of(row.question)
            read.append((row.answer, readings(plan, passages, found, curve), answerable, plan.english))
    return read
