"""Choose which results count as found (`match_dense_z`, `match_lexical`; qa.ranking.matching)
by measurement: the fewer weak matches listed and counted in `total` the better, as long as
the relevant article stays in the first ten.

For each floor, every question is asked as `qa eval` asks it (the configured ranking, the
trained reader), and the table gives hit@1 and hit@10 and the mean and median of `total` (the
articles found). The floor is chosen on FacQA train; FacQA valid, the own question set and the
general-news set check it. "none" lists every candidate (the behaviour before the floor).

    python benchmarks/matching.py [--facqa ../shared/data/facqa]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine, Settings  # noqa: E402
from qa.evaluation import Evaluation, facqa, load_questions  # noqa: E402

NONE = 1e9  # a dense floor no candidate falls below: every candidate is found
FLOORS = [("none", NONE, 1.0), ("z 1.5, BM25 0.2", 1.5, 0.2), ("z 2.0, BM25 0.2 (default)", 2.0, 0.2),
          ("z 2.0, BM25 0.3", 2.0, 0.3), ("z 2.5, BM25 0.2", 2.5, 0.2)]


def measure(name: str, engine: Engine, items) -> list[list[str]]:
    evaluation = Evaluation(engine, items)
    rows = []
    for label, dense_z, lexical in FLOORS:
        floored = Engine(engine.settings, engine.embedder, match_dense_z=dense_z, match_lexical=lexical)
        outcomes = [o for o in evaluation.outcomes(engine=floored) if o.item.answerable]
        found = [o.found for o in outcomes]
        rows.append([name, label, str(len(outcomes)),
                     f"{sum(o.rank == 1 for o in outcomes) / len(outcomes):.3f}",
                     f"{sum(bool(o.rank) for o in outcomes) / len(outcomes):.3f}",
                     f"{statistics.mean(found):.1f}", f"{statistics.median(found):.0f}"])
        print(" | ".join(rows[-1]), file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for split in ("train", "valid"):
            folder = Path(tmp) / split
            folder.mkdir()
            items = facqa(args.facqa, split, folder / "facqa.jsonl")
            engine = Engine(Settings(index_dir=folder / "index", corpus_dir=folder))
            engine.build_index([folder / "facqa.jsonl"])
            rows += measure(f"FacQA {split}" + (" (tuning)" if split == "train" else ""), engine, items)
        for name, questions, corpus in [("own set", "questions.jsonl", ROOT / "corpus"),
                                        ("general news", "general_questions.jsonl", ROOT / "benchmarks" / "general_news")]:
            engine = Engine(Settings(index_dir=Path(tmp) / name.replace(" ", "-"), corpus_dir=corpus))
            engine.build_index([corpus])
            rows += measure(name, engine, load_questions(ROOT / "benchmarks" / questions))
    head = ["questions", "floor", "answerable", "hit@1", "hit@10", "found, mean", "found, median"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    print("\n".join("| " + " | ".join(row) + " |" for row in rows))


if __name__ == "__main__":
    main()
