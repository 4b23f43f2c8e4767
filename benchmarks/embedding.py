"""Embedding speed and faithfulness of each backend, side by side in one process.

For every backend (plain sentence-transformers fp32 is the baseline):
  speed     - passages per second on the same real passages, short (FacQA, ~40 words) and
              long (four FacQA passages joined, ~160 words), in interleaved rounds (the median
              is printed, so a busy moment hits every backend alike), and the ratio to fp32;
  vectors   - cosine of each passage vector to the fp32 one (mean and minimum);
  retrieval - hit@1 and MRR@10 of plain dense and of the hybrid ranking, on FacQA valid (311
              questions over 1,295 passages) and on benchmarks/questions.jsonl over corpus/.

    python benchmarks/embedding.py [--facqa ../shared/data/facqa] [--rounds 3] [--no-quality]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine, Settings  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402
from qa.evaluation import PLAIN, Evaluation, facqa, load_questions  # noqa: E402

BACKENDS = {  # name: settings
    "sentence-transformers fp32 (baseline)": {"embedding_backend": "torch", "embedding_precision": "fp32"},
    "sentence-transformers bf16": {"embedding_backend": "torch", "embedding_precision": "bf16"},
    "openvino fp32": {"embedding_backend": "openvino", "embedding_precision": "fp32"},
    "openvino bf16 (default)": {"embedding_backend": "openvino", "embedding_precision": "bf16"},
}


def speed_and_vectors(sets: dict[str, list[str]], rounds: int) -> list[dict]:
    embedders = {name: load_embedder(Settings(**chosen)) for name, chosen in BACKENDS.items()}
    speeds = {(name, s): [] for name in embedders for s in sets}
    vectors = {}
    for _ in range(rounds):
        for name, embedder in embedders.items():
            for label, texts in sets.items():
                embedder.embed_passages(texts[:8])  # warm: compiled, buffers allocated
                started = time.perf_counter()
                vectors[name, label] = embedder.embed_passages(texts)
                speeds[name, label].append(len(texts) / (time.perf_counter() - started))
    baseline = next(iter(embedders))
    rows = []
    for name in embedders:
        row = {"backend": name}
        for label in sets:
            median = statistics.median(speeds[name, label])
            row[f"{label} p/s"] = f"{median:.1f}"
            row[f"{label} x fp32"] = f"{median / statistics.median(speeds[baseline, label]):.2f}"
        cosines = np.concatenate([np.sum(vectors[name, s] * vectors[baseline, s], axis=1) for s in sets])
        row["cosine mean"], row["cosine min"] = f"{cosines.mean():.5f}", f"{cosines.min():.5f}"
        rows.append(row)
    return rows


def retrieval(facqa_dir: Path) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "facqa.jsonl"
        sets = {
            "FacQA valid": (facqa(facqa_dir, "valid", corpus), [corpus]),
            "own set": (load_questions(ROOT / "benchmarks" / "questions.jsonl"), [ROOT / "corpus"]),
        }
        for name, chosen in BACKENDS.items():
            for set_name, (items, paths) in sets.items():
                engine = Engine(Settings(index_dir=Path(tmp) / f"{len(rows)}", corpus_dir=Path(tmp) / "none", **chosen))
                engine.build_index(paths)
                evaluation = Evaluation(engine, items)
                hybrid, dense = evaluation.run("hybrid"), evaluation.run("dense", PLAIN["dense"])
                rows.append({
                    "backend": name, "questions": set_name,
                    "dense hit@1": f"{dense.hit1:.3f}", "dense MRR@10": f"{dense.mrr10:.3f}",
                    "hybrid hit@1": f"{hybrid.hit1:.3f}", "hybrid MRR@10": f"{hybrid.mrr10:.3f}",
                })
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(map(str, row.values())) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-quality", action="store_true", help="skip the retrieval measures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "facqa.jsonl"
        facqa(args.facqa, "valid", corpus)
        texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")]
    sets = {"short": texts[:256], "long": [" ".join(texts[i : i + 4]) for i in range(256, 256 + 4 * 64, 4)]}
    words = {label: statistics.mean(len(t.split()) for t in ts) for label, ts in sets.items()}
    print(f"passages: short {len(sets['short'])} x {words['short']:.0f} words, "
          f"long {len(sets['long'])} x {words['long']:.0f} words; {args.rounds} rounds, medians\n")
    print(table(speed_and_vectors(sets, args.rounds)))
    if not args.no_quality:
        print()
        print(table(retrieval(args.facqa)))


if __name__ == "__main__":
    main()
