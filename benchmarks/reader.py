"""What the trained reader costs a question, in process, on this CPU.

Over an index of the default corpus, every question of benchmarks/questions.jsonl is asked
with the trained reader (as configured; reading on past a sure answer from the best windows,
reader_stop_confidence=1; and reading each passage in its best window alone:
reader_whole_passages=0, what a CPU too slow for reader_budget_ms reads; and reading no later
results: reader_later_passages=0) and with the rules' answers (the baseline: the same ranking, no model for the answer), alternating, in one process;
then the same questions are read in batches of reader.MAX_BATCH, as `Engine.ask_many`, `qa ask`
on piped questions and a busy server read them.
Target (issue 16): the reader adds at most 50 ms p50 per question on 2 cores. The default
corpus's long passages fill the time budget; short ones (the general news) leave room for later
results, so measure both:

    python benchmarks/reader.py [--rounds 3] [--passages 2]
    python benchmarks/reader.py --questions benchmarks/general_questions.jsonl --corpus-dir benchmarks/general_news
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embedding import cpu_line  # noqa: E402

from qa import Engine, Settings  # noqa: E402
from qa.evaluation import load_questions  # noqa: E402
from qa.reader import MAX_BATCH, WINDOW_TOKENS  # noqa: E402


def p50_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def per_question_in_batches(engine: Engine, questions: list[str], rounds: int) -> list[float]:
    """Seconds per question when `questions` are asked MAX_BATCH at a time (`ask_many`)."""
    seconds = []
    for _ in range(rounds):
        for start in range(0, len(questions), MAX_BATCH):
            chunk = questions[start : start + MAX_BATCH]
            started = time.perf_counter()
            engine.ask_many(chunk)
            seconds.append((time.perf_counter() - started) / len(chunk))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked per way")
    parser.add_argument("--passages", type=int, default=Settings().reader_passages, help="results the reader reads")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks" / "questions.jsonl", help="question set")
    parser.add_argument("--corpus-dir", type=Path, default=ROOT / "corpus", help="articles to index")
    args = parser.parse_args()
    questions = [item.question for item in load_questions(args.questions)]
    with tempfile.TemporaryDirectory() as tmp:
        trained = Engine(index_dir=Path(tmp) / "index", reader="trained", reader_passages=args.passages)
        trained.build_index([args.corpus_dir])
        rules = Engine(trained.settings, trained.embedder, reader="rules")
        read_on = Engine(trained.settings, trained.embedder, reader="trained", reader_stop_confidence=1)
        windows = Engine(trained.settings, trained.embedder, reader="trained", reader_whole_passages=0)
        no_later = Engine(trained.settings, trained.embedder, reader="trained", reader_later_passages=0)
        engines = {"rules": rules, "trained": trained, "read on": read_on, "best windows": windows, "no later": no_later}
        for engine in engines.values():  # load, compile and warm each
            engine.ask(questions[0])
        timings: dict[str, list[float]] = {name: [] for name in engines}
        names = list(engines)
        for _ in range(args.rounds):
            for number, question in enumerate(questions):
                # each way goes first in turn: a passage laid out for one is already laid out for the next
                for name in names[number % len(names):] + names[: number % len(names)]:
                    engine = engines[name]
                    started = time.perf_counter()
                    engine.ask(question)
                    timings[name].append(time.perf_counter() - started)
        batched, rules_batched = (per_question_in_batches(engine, questions, args.rounds) for engine in (trained, rules))
    cpu, _ = cpu_line()
    base, together = p50_ms(timings["rules"]), p50_ms(batched)
    print(f"CPU: {cpu}")
    print(f"{len(questions)} questions ({args.questions.name}, over {args.corpus_dir.name}/) x {args.rounds} rounds; "
          f"the reader reads the best {args.passages} results, in windows of at most {WINDOW_TOKENS} tokens: the best "
          f"window of each, and the rest of the first {trained.settings.reader_whole_passages}, then, without a "
          f"confident answer, the best windows of the next {trained.settings.reader_later_passages}, as far as the "
          f"budget allows; the {trained.reader.weights.layers}-layer reader (reader_layers {trained.settings.reader_layers})")
    budget = trained.settings.reader_budget_ms
    windows = trained.reader.windows_within(budget)
    if windows is not None:
        print(f"budget: reader_budget_ms {budget:g} at {trained.reader.window_ms:.1f} ms a window (measured here at "
              f"first use): {windows} windows a question\n")
    else:
        print("budget: none (reader_budget_ms 0, or a forced number format, not measured)\n")
    print("| answers | ms p50 per question | ms p90 | added by the reader (p50) | × rules |")
    print("|---|---:|---:|---:|---:|")
    rows = [("rules (baseline)", timings["rules"], base), ("trained reader, one question at a time", timings["trained"], base),
            ("trained reader, the rest read even after a sure answer (`QA_READER_STOP_CONFIDENCE=1`), one at a time",
             timings["read on"], base),
            ("trained reader, best windows only (`QA_READER_WHOLE_PASSAGES=0`), one at a time",
             timings["best windows"], base),
            ("trained reader, no later results (`QA_READER_LATER_PASSAGES=0`), one at a time", timings["no later"], base)]
    for name, seconds, baseline in rows:
        ms = p50_ms(seconds)
        p90 = sorted(seconds)[int(0.9 * len(seconds))] * 1000
        print(f"| {name} | {ms:.1f} | {p90:.1f} | {ms - baseline:+.1f} | {ms / baseline:.2f} |")
    rules_together = p50_ms(rules_batched)
    print(f"| trained reader, {MAX_BATCH} questions per batch (per question) | {together:.1f} | - | "
          f"{together - rules_together:+.1f} | {together / rules_together:.2f} |")


if __name__ == "__main__":
    main()
