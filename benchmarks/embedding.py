"""Embedding speed and faithfulness of each backend and number format, side by side in one
process, on the CPU it runs on (printed first: formats are only fast where the CPU computes
them natively, so a figure means nothing without its CPU).

Rows: plain sentence-transformers fp32 (the baseline), sentence-transformers bf16 (where the
CPU has bf16 instructions), OpenVINO forced to each format this CPU runs natively, OpenVINO bf16
(the default before formats were chosen by measurement), and OpenVINO as it runs by default
(`auto`: the choice measured at first use on this CPU). For each:
  speed     - passages per second on the same real passages, short (FacQA, ~40 words) and
              long (four FacQA passages joined, ~160 words), and the median milliseconds of a
              lone question, in interleaved rounds (a busy moment hits every row alike), with
              the ratio to the baseline (for questions: baseline ms / ms, so higher is faster);
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

def cpu_line() -> tuple[str, dict[str, dict]]:
    """The CPU in words, and the rows to measure on it (name: settings)."""
    import openvino as ov

    from qa.runtime_choice import CpuIdentity, native_candidates

    cpu = CpuIdentity.current(ov.Core())
    shown = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8") if f in cpu.flags]
    words = f"{cpu.model}, {cpu.cores} cores, flags {' '.join(shown) or '-'}, OpenVINO native {'/'.join(cpu.capabilities)}"
    rows = {"sentence-transformers fp32 (baseline)": {"embedding_backend": "torch", "embedding_precision": "fp32"}}
    if "BF16" in cpu.capabilities:  # emulated bf16 in PyTorch is many times slower than fp32
        rows["sentence-transformers bf16"] = {"embedding_backend": "torch", "embedding_precision": "bf16"}
    precisions = [c.precision for c in native_candidates(cpu)]
    for precision in precisions + ([] if "bf16" in precisions else ["bf16"]):
        label = f"openvino {precision}" + (" (the former default)" if precision == "bf16" else "")
        rows[label] = {"embedding_backend": "openvino", "embedding_precision": precision}
    rows["openvino auto (default)"] = {"embedding_backend": "openvino", "embedding_precision": "auto"}
    return words, rows


def speed_and_vectors(backends: dict[str, dict], sets: dict[str, list[str]], questions: list[str],
                      rounds: int) -> list[dict]:
    embedders = {name: load_embedder(Settings(**chosen)) for name, chosen in backends.items()}
    speeds = {(name, s): [] for name in embedders for s in [*sets, "question"]}
    vectors = {}
    for _ in range(rounds):
        for name, embedder in embedders.items():
            for label, texts in sets.items():
                embedder.embed_passages(texts[:8])  # warm: compiled, buffers allocated
                started = time.perf_counter()
                vectors[name, label] = embedder.embed_passages(texts)
                speeds[name, label].append(len(texts) / (time.perf_counter() - started))
            embedder.embed_query(questions[0])
            for question in questions:
                started = time.perf_counter()
                embedder.embed_query(question)
                speeds[name, "question"].append((time.perf_counter() - started) * 1000)
    baseline = next(iter(embedders))
    rows = []
    for name, embedder in embedders.items():
        row = {"backend": name}
        if name.endswith("(default)"):
            described = embedder.describe()
            row["backend"] += f": passages {described['passages']['precision']}, questions {described['questions']['precision']}"
        for label in sets:
            median = statistics.median(speeds[name, label])
            row[f"{label} p/s"] = f"{median:.1f}"
            row[f"{label} x fp32"] = f"{median / statistics.median(speeds[baseline, label]):.2f}"
        median = statistics.median(speeds[name, "question"])
        row["question p50 ms"] = f"{median:.1f}"
        row["question x fp32"] = f"{statistics.median(speeds[baseline, 'question']) / median:.2f}"
        cosines = np.concatenate([np.sum(vectors[name, s] * vectors[baseline, s], axis=1) for s in sets])
        row["cosine mean"], row["cosine min"] = f"{cosines.mean():.5f}", f"{cosines.min():.5f}"
        rows.append(row)
    return rows


def retrieval(backends: dict[str, dict], facqa_dir: Path) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "facqa.jsonl"
        sets = {
            "FacQA valid": (facqa(facqa_dir, "valid", corpus), [corpus]),
            "own set": (load_questions(ROOT / "benchmarks" / "questions.jsonl"), [ROOT / "corpus"]),
        }
        for name, chosen in backends.items():
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
        items = facqa(args.facqa, "valid", corpus)
        texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")]
    sets = {"short": texts[:256], "long": [" ".join(texts[i : i + 4]) for i in range(256, 256 + 4 * 64, 4)]}
    questions = [item.question for item in items[:64]]
    words = {label: statistics.mean(len(t.split()) for t in ts) for label, ts in sets.items()}
    cpu, backends = cpu_line()
    print(f"CPU: {cpu}")
    print(f"passages: short {len(sets['short'])} x {words['short']:.0f} words, "
          f"long {len(sets['long'])} x {words['long']:.0f} words; {len(questions)} lone questions; "
          f"{args.rounds} rounds, medians\n")
    print(table(speed_and_vectors(backends, sets, questions, args.rounds)))
    if not args.no_quality:
        print()
        print(table(retrieval(backends, args.facqa)))


if __name__ == "__main__":
    main()
