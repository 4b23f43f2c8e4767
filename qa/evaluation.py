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

import ast
import csv
import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.engine import Engine
from qa.errors import InvalidInputError
from qa.ranking import Weights

DEPTH = 10
PLAIN = {"bm25": Weights(dense=0.0, lexical=1.0), "dense": Weights(dense=1.0, lexical=0.0)}


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
    ranking: str
    questions: int
    hit1: float
    hit3: float
    hit10: float
    mrr10: float
    exact: float  # short answer equals the expected answer (questions with one)
    abstained: float  # questions without an answer flagged as not confident
    ms: float  # median time per question

    ROW = ("ranking", "questions", "hit@1", "hit@3", "hit@10", "MRR@10", "answer EM", "no-answer flagged", "ms p50")

    def row(self) -> list[str]:
        return [self.ranking, str(self.questions)] + [
            f"{v:.3f}" if v == v else "-" for v in (self.hit1, self.hit3, self.hit10, self.mrr10, self.exact, self.abstained)
        ] + [f"{self.ms:.1f}"]


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


def detokenize(tokens: list[str]) -> tuple[str, list[int]]:
    """Text from FacQA's tokens (punctuation re-attached), and where each token starts in it."""
    text, starts = "", []
    for token in tokens:
        if text and token[:1] not in ".,;:!?)%" and not text.endswith("("):
            text += " "
        starts.append(len(text))
        text += token
    return text, starts


@dataclass
class FacQARow:
    """One FacQA question with its passage and the answer's place in it."""

    question: str
    passage: str
    answer: str  # "" when the row marks none
    answer_start: int  # character offset of the answer in `passage`; -1 when none


def facqa_rows(directory: Path, split: str) -> list[FacQARow]:
    """The rows of FacQA's `split` file (train or valid) in `directory`."""
    path = Path(directory) / f"{split}.csv"
    if not path.is_file():
        raise InvalidInputError(f"FacQA file {path} not found")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            tokens = ast.literal_eval(row["passage"])
            passage, starts = detokenize(tokens)
            inside = [i for i, label in enumerate(ast.literal_eval(row["seq_label"])) if label != "O"]
            first, last = (inside[0], inside[-1]) if inside else (0, -1)
            answer = passage[starts[first] : starts[last] + len(tokens[last])] if inside else ""
            rows.append(FacQARow(detokenize(ast.literal_eval(row["question"]))[0], passage, answer,
                                 starts[first] if inside else -1))
    return rows


def facqa(directory: Path, split: str, corpus_out: Path) -> list[Item]:
    """FacQA's `split` as question items; every distinct passage of both splits is written to
    `corpus_out` as JSONL articles, the corpus the questions are asked against."""
    passages: dict[str, int] = {}
    items = []
    for name in ("train", "valid"):
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
        snapshot = engine.index.snapshot()
        passages = list(engine.index.passages(snapshot, snapshot.rows.tolist()).values())
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
        """Scores of one ranking; `asked()` is called after each question (progress bars)."""
        ranks, exact, abstained, times = [], [], [], []
        for item, relevant in zip(self.items, self.relevant):
            started = time.perf_counter()
            answer = self.engine.ask(item.question, DEPTH, weights=weights)
            times.append((time.perf_counter() - started) * 1000)
            if asked:
                asked()
            if not item.answerable:
                abstained.append(not answer.answer.confident)
                continue
            found = [
                n for n, r in enumerate(answer.results, 1)
                if r.passage_id in relevant or any(o.passage_id in relevant for o in r.also_in)
            ]
            ranks.append(found[0] if found else None)
            if item.answer:
                exact.append(normalize(answer.answer.text or "") == normalize(item.answer))
        n = len(ranks)

        def hit(k: int) -> float:
            return sum(1 for r in ranks if r and r <= k) / n if n else float("nan")

        return Scores(
            ranking=name,
            questions=len(self.items),
            hit1=hit(1), hit3=hit(3), hit10=hit(10),
            mrr10=sum(1 / r for r in ranks if r) / n if n else float("nan"),
            exact=statistics.mean(exact) if exact else float("nan"),
            abstained=statistics.mean(abstained) if abstained else float("nan"),
            ms=statistics.median(times),
        )

    def compare(self, asked: Callable[[], None] | None = None) -> list[Scores]:
        """The configured ranking, then plain BM25 and plain dense."""
        return [self.run("hybrid (settings)", asked=asked)] + [self.run(n, w, asked) for n, w in PLAIN.items()]


def markdown(scores: list[Scores]) -> str:
    lines = ["| " + " | ".join(Scores.ROW) + " |", "|" + "---|" * len(Scores.ROW)]
    lines += ["| " + " | ".join(s.row()) + " |" for s in scores]
    return "\n".join(lines)
