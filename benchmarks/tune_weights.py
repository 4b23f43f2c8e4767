"""Choose the fusion weights by measurement: coordinate ascent on FacQA train (MRR@10), then the
chosen weights checked on FacQA valid and on the project's own question set.

Candidates and answer spans are worked out once per question; each trial only re-scores them
with `qa.ranking.rank`, so a trial costs seconds.

    python benchmarks/tune_weights.py [--facqa ../shared/data/facqa] [--rounds 2]

Prints one line per trial and a final table; put the winning weights into qa/config.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine, Settings  # noqa: E402
from qa.answers import find_answer  # noqa: E402
from qa.evaluation import Evaluation, facqa, load_questions, markdown  # noqa: E402
from qa.query import Query, QueryPlan  # noqa: E402
from qa.ranking import Weights, rank  # noqa: E402

GRID = {
    "lexical": [0.0, 0.3, 0.5, 0.7, 1.0, 1.5],
    "coverage": [0.0, 0.5, 1.0, 1.5, 2.0, 3.0],
    "answer": [0.0, 0.25, 0.5, 1.0, 1.5],
    "period": [0.0, 0.5, 1.0, 1.5, 2.0],
    "recency": [0.0, 0.25, 0.5, 1.0],
}
DEPTH = 10


class Cache:
    """Each question's candidates with their answer spans, found once."""

    def __init__(self, engine: Engine, evaluation: Evaluation):
        everything = Weights.only(dense=1, lexical=1)
        self.questions = []
        for item, relevant in zip(evaluation.items, evaluation.relevant):
            plan = QueryPlan.of(item.question)
            candidates = engine.candidates(Query(item.question, DEPTH), plan, everything)
            for candidate in candidates:
                candidate.found = find_answer(plan.content_stems, plan.kind, plan.words, candidate.passage.text)
            self.questions.append((plan, candidates, relevant))

    def mrr(self, weights: Weights) -> tuple[float, float]:
        """MRR@10 and hit@1 of `weights` over the cached questions."""
        total, first = 0.0, 0
        for plan, candidates, relevant in self.questions:
            fresh = [dataclasses.replace(c, score=0.0, duplicates=[]) for c in candidates]
            for number, c in enumerate(rank(plan, fresh, weights, DEPTH), 1):
                if c.passage.id in relevant or any(d.passage.id in relevant for d in c.duplicates):
                    total += 1 / number
                    first += number == 1
                    break
        return total / len(self.questions), first / len(self.questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Settings(index_dir=Path(tmp) / "index", corpus_dir=Path(tmp) / "none"))
        train = facqa(args.facqa, "train", Path(tmp) / "facqa.jsonl")
        engine.build_index([Path(tmp) / "facqa.jsonl"])
        cache = Cache(engine, Evaluation(engine, train))

        weights = Weights.only(dense=1.0)
        best = cache.mrr(weights)
        print(f"start {weights}: MRR@10 {best[0]:.4f} hit@1 {best[1]:.4f}")
        for round_ in range(args.rounds):
            for name, values in GRID.items():
                for value in values:
                    trial = dataclasses.replace(weights, **{name: value})
                    score = cache.mrr(trial)
                    if score > best:
                        best, weights = score, trial
                    print(f"round {round_ + 1} {name}={value}: MRR@10 {score[0]:.4f} hit@1 {score[1]:.4f}")
        print(f"\nchosen on FacQA train: {weights} (MRR@10 {best[0]:.4f}, hit@1 {best[1]:.4f})\n")

        valid = Evaluation(engine, facqa(args.facqa, "valid", Path(tmp) / "unused.jsonl"))
        print("FacQA valid:")
        print(markdown([valid.run("chosen", weights), valid.run("bm25", Weights.only(dense=0, lexical=1)),
                        valid.run("dense", Weights.only(dense=1))]))

        engine.build_index([ROOT / "corpus"])
        own = Evaluation(engine, load_questions(ROOT / "benchmarks" / "questions.jsonl"))
        print("\nOwn question set:")
        print(markdown([own.run("chosen", weights), own.run("bm25", Weights.only(dense=0, lexical=1)),
                        own.run("dense", Weights.only(dense=1))]))


if __name__ == "__main__":
    main()
