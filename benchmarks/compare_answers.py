"""What a change did to the answers of one question set: two runs of `qa eval --answers-out`,
before and after, compared question by question.

    qa eval benchmarks/general_questions.jsonl --corpus-dir benchmarks/general_news --answers-out before.jsonl
    (make the change)
    qa eval benchmarks/general_questions.jsonl --corpus-dir benchmarks/general_news --answers-out after.jsonl
    python benchmarks/compare_answers.py before.jsonl after.jsonl

Prints the counts of each run (questions with an expected answer, answers that hold it,
confident ones and the right among them, unanswerable questions answered confidently), then
every question whose answer or confidence changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.errors import QAError  # noqa: E402
from qa.evaluation import changed_answers, read_records, tally  # noqa: E402


def shown(record: dict) -> str:
    mark = ("right" if record["right"] else "wrong") if record["expected"] else "no answer expected"
    return f"{record['answer'] or '-'!r} ({'confident' if record['confident'] else 'not confident'}, {mark})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="answer records of the run before")
    parser.add_argument("after", type=Path, help="answer records of the run after")
    args = parser.parse_args()
    try:
        before, after = read_records(args.before), read_records(args.after)
    except QAError as exc:
        sys.exit(f"error: {exc}")
    counts = {"before": tally(before), "after": tally(after)}
    names = list(counts["before"])
    print("| run | " + " | ".join(name.replace("_", " ") for name in names) + " |")
    print("|---|" + "---:|" * len(names))
    for run, numbers in counts.items():
        print(f"| {run} | " + " | ".join(str(numbers[name]) for name in names) + " |")
    changes = changed_answers(before, after)
    print(f"\n{len(changes)} questions changed")
    for old, new in changes:
        print(f"- {new['question']} (expected {new['expected']!r}): {shown(old)} -> {shown(new)}")


if __name__ == "__main__":
    main()
