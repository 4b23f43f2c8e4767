"""Indexing throughput and query latency, on the default corpus and on FacQA's passages.

Each figure is paired with a baseline measured in the same process on the same inputs:
  indexing  - the whole pipeline (read, clean, split, embed, save) against a bare
              SentenceTransformer.encode of the same passages;
  querying  - Engine.ask with the configured hybrid ranking (embed, dense + BM25 search,
              fusion, periods, answer finding, grouping) against Engine.ask with plain
              dense ranking, and against embedding the question alone.

    python benchmarks/bench_index_query.py [--facqa ../shared/data/facqa] [--queries 200]
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

from qa import Engine, Settings  # noqa: E402
from qa.chunking import split_articles  # noqa: E402
from qa.evaluation import facqa  # noqa: E402
from qa.ranking import Weights  # noqa: E402
from qa.reading import read_paths  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(engine: Engine, name: str, paths: list[Path], questions: list[str], n_queries: int) -> dict:
    passages = split_articles(read_paths(paths).articles)
    texts = [p.text for p in passages]
    model = engine.embedder._model
    started = time.perf_counter()
    model.encode(texts, prompt=engine.embedder.passage_prefix, batch_size=engine.settings.batch_size,
                 normalize_embeddings=True)
    encode_seconds = time.perf_counter() - started

    started = time.perf_counter()
    report = engine.build_index(paths)
    pipeline_seconds = time.perf_counter() - started

    questions = (questions * (n_queries // max(len(questions), 1) + 1))[:n_queries]
    engine.ask(questions[0])  # warm
    plain = Weights(dense=1.0)
    ask_ms, dense_ms, embed_ms = [], [], []
    for question in questions:  # interleaved, so load changes hit all three alike
        t0 = time.perf_counter()
        engine.embedder.embed_query(question)
        t1 = time.perf_counter()
        engine.ask(question, 10, weights=plain)
        t2 = time.perf_counter()
        engine.ask(question, 10)
        t3 = time.perf_counter()
        embed_ms.append((t1 - t0) * 1000)
        dense_ms.append((t2 - t1) * 1000)
        ask_ms.append((t3 - t2) * 1000)
    return {
        "corpus": name,
        "articles": report.articles,
        "passages": report.passages,
        "words/passage": statistics.mean(len(t.split()) for t in texts),
        "index p/s": report.passages / pipeline_seconds,
        "encode p/s": len(texts) / encode_seconds,
        "index/encode": (report.passages / pipeline_seconds) / (len(texts) / encode_seconds),
        "hybrid ask p50 ms": percentile(ask_ms, 50),
        "hybrid ask p95 ms": percentile(ask_ms, 95),
        "plain dense ask p50 ms": percentile(dense_ms, 50),
        "hybrid/dense p50": percentile(ask_ms, 50) / percentile(dense_ms, 50),
        "embed p50 ms": percentile(embed_ms, 50),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    default_questions = [
        "berapa tenaga kerja IKM 2024?", "berapa jumlah IKM tahun 2022?", "siapa Dirjen IKMA?",
        "berapa nilai restrukturisasi mesin IKM?", "how many workers do small industries employ?",
        "kapan Gebyar IKMA 2024 dilaksanakan?", "berapa jumlah sentra IKM?",
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Settings(index_dir=Path(tmp) / "index", corpus_dir=Path(tmp) / "none"))
        rows.append(measure(engine, "default corpus", [ROOT / "corpus"], default_questions, args.queries))
        if args.facqa.is_dir():
            jsonl = Path(tmp) / "facqa.jsonl"
            questions = [item.question for item in facqa(args.facqa, "valid", jsonl)]
            rows.append(measure(engine, "FacQA passages", [jsonl], questions, args.queries))
        else:
            print(f"(FacQA not found at {args.facqa}; skipped)")

    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")
    print(f"\nmodel {engine.embedder.model_id}, batch size {engine.settings.batch_size}, "
          f"{args.queries} warm in-process queries per corpus")


if __name__ == "__main__":
    main()
