"""How well the ranking answers a question set, next to plain BM25 and plain dense rankings
measured in the same run on the same index.

A question set is JSONL, one question per line:
    {"question": "...", "evidence": ["text the right passage contains", ...],
     "articles": ["id of an article whose passages all count", ...],
     "answer": "expected answer words" or null, "tags": ["id", "year", ...]}
A result is a hit when its passage (or a passage grouped with it) contains one of the
evidence texts or belongs to one of the articles. A question with neither is one the corpus
cannot answer: the right response is a low-confidence answer.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa import atomic
from qa.engine import Engine
from qa.errors import InvalidInputError
from qa.facqa import facqa_rows
from qa.query import QueryPlan
from qa.ranking import Weights
from qa.reader_training import RIGHT_F1, answer_words, token_f1
from qa.short_answer import readings
from qa.types import Passage

DEPTH = 10
_NUMBERS = re.compile(r"\d+(?:[.,]\d+)*")
NAN = float("nan")
# question tags also scored apart (from the same run): English questions, and the questions
# written after the reader was built and never used to tune anything
SUBSETS = {"en": "English questions", "held-out": "held-out questions (never tuned on)"}
PLAIN = {"bm25": Weights.only(dense=0.0, lexical=1.0), "dense": Weights.only(dense=1.0, lexical=0.0)}


@dataclass
class Item:
    question: str
    evidence: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)
    answer: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.evidence or self.articles)


@dataclass
class Scores:
    """How one ranking (and the short answers over it) did on a question set.

    Answers are scored on the questions with an expected answer: `f1` and `exact` compare the
    best answer found (confident or not) with it, SQuAD-style; `contains` is the share whose
    answer holds the expected words; `coverage` the share answered confidently; `precision`
    the share of confident answers that are right (token F1 >= 0.5, or holding the expected
    words); `abstained` the share of unanswerable questions left without a confident answer."""

    ranking: str
    questions: int
    hit1: float
    hit3: float
    hit10: float
    mrr10: float
    f1: float = NAN
    exact: float = NAN
    contains: float = NAN
    coverage: float = NAN
    precision: float = NAN
    abstained: float = NAN
    ms: float = NAN  # median time per question

    ROW = ("ranking", "questions", "hit@1", "hit@3", "hit@10", "MRR@10", "answer F1", "answer EM",
           "answer holds expected", "confident", "right when confident", "no-answer left unanswered", "ms p50")

    def row(self) -> list[str]:
        values = (self.hit1, self.hit3, self.hit10, self.mrr10, self.f1, self.exact, self.contains, self.coverage,
                  self.precision, self.abstained)
        return [self.ranking, str(self.questions)] + [f"{v:.3f}" if v == v else "-" for v in values] + [
            f"{self.ms:.1f}"]


@dataclass
class _Asked:
    """One question's outcome."""

    item: Item
    rank: int | None  # of the first relevant result; None: not in the results
    guess: str  # the best answer found, confident or not ("" when none)
    confident: bool
    ms: float
    found: int  # articles found (the answer's `total`)


def normalize(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def load_questions(path: Path) -> list[Item]:
    items = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                items.append(Item(
                    record["question"], list(record.get("evidence") or []), list(record.get("articles") or []),
                    record.get("answer"), list(record.get("tags") or []),
                ))
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInputError(f"{path}:{number}: not a question record ({exc})") from None
    if not items:
        raise InvalidInputError(f"{path}: no questions")
    return items


def facqa(directory: Path, split: str, corpus_out: Path) -> list[Item]:
    """FacQA's `split` (train, valid, or test: IndoNLU's `test_preprocess.csv` saved as test.csv
    beside the others) as question items; every distinct passage of train, valid and the split
    asked is written to `corpus_out` as JSONL articles, the corpus the questions are asked against."""
    passages: dict[str, int] = {}
    items = []
    for name in dict.fromkeys(("train", "valid", split)):
        for row in facqa_rows(directory, name):
            passages.setdefault(row.passage, len(passages))
            if name == split:
                items.append(Item(row.question, articles=[f"facqa-{passages[row.passage]}"], answer=row.answer or None))
    with open(corpus_out, "w", encoding="utf-8") as handle:
        for text, number in passages.items():
            handle.write(json.dumps({"id": f"facqa-{number}", "text": text}, ensure_ascii=False) + "\n")
    return items


class Evaluation:
    """Runs question `items` against the engine's index under several rankings."""

    def __init__(self, engine: Engine, items: list[Item]):
        self.engine = engine
        self.items = items
        self.answered: dict[str, list[_Asked]] = {}  # by reader, from the last `compare`
        passages = list(engine.index.passages())
        texts = {p.id: normalize(p.text) for p in passages}
        by_article: dict[str, set[str]] = {}
        for p in passages:
            by_article.setdefault(p.doc_id, set()).add(p.id)
        self.relevant = [
            {pid for pid, text in texts.items() if any(normalize(e) in text for e in item.evidence)}
            | {pid for doc in item.articles for pid in by_article.get(doc, ())}
            for item in items
        ]
        missing = [i.question for i, r in zip(items, self.relevant) if i.answerable and not r]
        if missing:
            raise InvalidInputError(f"{len(missing)} questions have evidence no passage contains, e.g. {missing[0]!r}")

    def run(self, name: str, weights: Weights | None = None, asked: Callable[[], None] | None = None) -> Scores:
        """Scores of one ranking and its answers; `asked()` is called after each question."""
        return scores(name, self.outcomes(weights, asked))

    def outcomes(self, weights: Weights | None = None, asked: Callable[[], None] | None = None,
                 engine: Engine | None = None) -> list[_Asked]:
        """Every question asked under one ranking (`engine`: another engine over the same
        index, e.g. with other answer settings)."""
        engine = engine or self.engine
        outcomes = []
        for item, relevant in zip(self.items, self.relevant):
            started = time.perf_counter()
            answer = engine.ask(item.question, DEPTH, weights=weights)
            ms = (time.perf_counter() - started) * 1000
            if asked:
                asked()
            found = [
                n for n, r in enumerate(answer.results, 1)
                if r.passage_id in relevant or any(o.passage_id in relevant for o in [*r.also_in, *r.more])
            ]
            outcomes.append(_Asked(item, found[0] if found else None, _guess(answer), answer.answer.confident, ms,
                                   answer.total))
        return outcomes

    def compare(self, asked: Callable[[], None] | None = None) -> list[Scores]:
        """The configured ranking with the trained reader's answers and with the rules' answers
        (only the answers differ), each also on SUBSETS alone; then plain BM25 and plain dense.
        Each reader's outcomes are kept in `answered`."""
        rows = []
        for reader in ("trained", "rules"):
            engine = Engine(self.engine.settings, self.engine.embedder, reader=reader)
            outcomes = self.answered[reader] = self.outcomes(asked=asked, engine=engine)
            rows.append(scores(f"hybrid, {reader} answers", outcomes))
            for tag, label in SUBSETS.items():
                subset = [o for o in outcomes if tag in o.item.tags]
                if subset:
                    rows.append(scores(f"hybrid, {reader} answers: {label}", subset))
        rules = Engine(self.engine.settings, self.engine.embedder, reader="rules")
        # plain rankings are measured for their ranking only: their answers would be the rules'
        return rows + [scores(n, self.outcomes(w, asked, rules), answers=False) for n, w in PLAIN.items()]

    def given_passages(self, batch: int = 16) -> dict[str, float]:
        """Token F1 and EM of the trained reader given each question's own article as its only
        passage (no retrieval): FacQA's usual setting, comparable to IndoNLU's table."""
        asked = [(item, self.engine.article(item.articles[0])[1]) for item in self.items
                 if item.answer and len(item.articles) == 1]
        f1, exact = [], []
        for start in range(0, len(asked), batch):
            chunk = asked[start : start + batch]
            plans = [QueryPlan.of(item.question) for item, _ in chunk]
            spans = self.engine.read([(plan.untimed, [text]) for plan, (_, text) in zip(plans, chunk)])
            for plan, (item, text), found in zip(plans, chunk, spans):
                passage = Passage(item.articles[0], item.articles[0], 0, text, 0, len(text))
                read = readings(plan, [passage], found, self.engine.calibration)
                guess = max(read, key=lambda r: r.confidence).words if read else ""
                f1.append(token_f1(guess, item.answer))
                exact.append(float(answer_words(guess) == answer_words(item.answer)))
        return {"questions": len(asked), "f1": statistics.mean(f1), "em": statistics.mean(exact)}


def _guess(answer) -> str:
    """The best answer found: the short answer, or when it is not confident, the reader's best
    span (which the result of `answer.passage_id` shows)."""
    if answer.answer.text:
        return answer.answer.text
    for shown in (p for result in answer.results for p in (result, *result.more)):
        if shown.passage_id == answer.answer.passage_id and shown.answer:
            return shown.text[slice(*shown.answer)]
    return ""


def holds(guess: str, expected: str) -> bool:
    """Whether the answer holds the expected words ("answer holds expected")."""
    return normalize(expected) in normalize(guess)


def is_right(guess: str, expected: str) -> bool:
    """An answer is right when it holds the expected words or its token F1 with them is >=
    RIGHT_F1, and it gives every number the expected answer gives: "21 sentra IKM" shares two
    words of three with "89 sentra IKM" and is still wrong."""
    if not set(_NUMBERS.findall(expected)) <= set(_NUMBERS.findall(guess)):
        return False
    return token_f1(guess, expected) >= RIGHT_F1 or bool(normalize(expected)) and holds(guess, expected)


def scores(name: str, outcomes: list[_Asked], answers: bool = True) -> Scores:
    """The ranking's scores over `outcomes`, and with `answers`, the answers' scores."""
    ranks = [o.rank for o in outcomes if o.item.answerable]
    n = len(ranks)

    def hit(k: int) -> float:
        return sum(1 for r in ranks if r and r <= k) / n if n else NAN

    def mean(values: list[float]) -> float:
        return statistics.mean(values) if values else NAN

    expected = [o for o in outcomes if o.item.answerable and o.item.answer] if answers else []
    confident = [o for o in expected if o.confident]
    return Scores(
        ranking=name,
        questions=len(outcomes),
        hit1=hit(1), hit3=hit(3), hit10=hit(10),
        mrr10=sum(1 / r for r in ranks if r) / n if n else NAN,
        f1=mean([token_f1(o.guess, o.item.answer) for o in expected]),
        exact=mean([float(answer_words(o.guess) == answer_words(o.item.answer)) for o in expected]),
        contains=mean([float(holds(o.guess, o.item.answer)) for o in expected]),
        coverage=mean([float(o.confident) for o in expected]),
        precision=mean([float(is_right(o.guess, o.item.answer)) for o in confident]),
        abstained=mean([float(not o.confident) for o in outcomes if not o.item.answerable and answers]),
        ms=statistics.median(o.ms for o in outcomes),
    )


# what each of `answer_records` holds
RECORD_KEYS = frozenset({"question", "expected", "answer", "confident", "holds", "right", "rank", "answerable", "tags"})


def answer_records(outcomes: list[_Asked]) -> list[dict]:
    """Each question's outcome as a JSON record (`qa eval --answers-out`): the answer as scored
    (the best found, confident or not), whether it is confident, holds the expected words and
    is right, the rank of the first relevant result (null: not in the results), and its tags."""
    return [{"question": o.item.question, "expected": o.item.answer, "answer": o.guess, "confident": o.confident,
             "holds": bool(o.item.answer) and holds(o.guess, o.item.answer),
             "right": bool(o.item.answer) and is_right(o.guess, o.item.answer),
             "rank": o.rank, "answerable": o.item.answerable, "tags": o.item.tags} for o in outcomes]


def write_records(path: Path, records: list[dict]) -> None:
    """`records` as JSONL at `path`, whole or not at all."""
    try:
        atomic.write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_records(path: Path) -> list[dict]:
    """The records `write_records` wrote at `path` (each as `answer_records` makes them)."""
    try:
        with open(path, encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        if not all(isinstance(r, dict) and RECORD_KEYS <= r.keys() for r in records):
            raise ValueError(f"each line needs {', '.join(sorted(RECORD_KEYS))}")
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a file of answer records ({exc})") from None
    return records


def tally(records: list[dict]) -> dict[str, int]:
    """Counts over `answer_records`: questions with an expected answer, those whose answer holds
    it, those answered confidently and of those the right ones, and unanswerable questions
    answered confidently (none is right)."""
    expected = [r for r in records if r["expected"]]
    return {"expected": len(expected), "holds": sum(r["holds"] for r in expected),
            "confident": sum(r["confident"] for r in expected),
            "right_when_confident": sum(r["confident"] and r["right"] for r in expected),
            "unanswerable_confident": sum(r["confident"] for r in records if not r["answerable"])}


def changed_answers(before: list[dict], after: list[dict]) -> list[tuple[dict, dict]]:
    """The questions whose answer or confidence differs between two runs of one question set
    (`answer_records`, matched by question; a question asked twice counts once)."""
    earlier = {r["question"]: r for r in before}
    pairs = [(earlier[r["question"]], r) for r in after if r["question"] in earlier]
    return [(old, new) for old, new in pairs if (old["answer"], old["confident"]) != (new["answer"], new["confident"])]


def markdown(scores: list[Scores]) -> str:
    lines = ["| " + " | ".join(Scores.ROW) + " |", "|" + "---|" * len(Scores.ROW)]
    lines += ["| " + " | ".join(s.row()) + " |" for s in scores]
    return "\n".join(lines)
