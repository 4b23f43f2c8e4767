"""How cost grows with corpus size: build time, disk, memory, query latency by stage, recall.

Sizes default to 1k, 10k, 100k and 1M passages. Texts are real: FacQA's 1,295 passages and the
default corpus's, repeated (as distinct articles) to reach a size. Vectors: the real passages
are embedded with the configured model; beyond them, vectors are synthetic, drawn from a
Gaussian with the mean and covariance of the real ones and normalised (embedding 1M passages
would take hours here; `benchmarks/embedding.py` gives the embedding rate, and the table shows
the time it implies). Each size runs in its own process, so memory figures are its own.

Up to --engine-up-to passages (default 100k) the whole engine is measured: passages written to
the store ("build s" includes it), the snapshot loaded ("load s": vectors and BM25 into memory,
what every reader pays once after a write), then FacQA valid questions asked in-process, warm,
with the time of every stage. Above it, only the vector index is built and searched.
Recall@10 compares the index's top 10 with exact search over the same vectors.

    python benchmarks/scaling.py [--sizes 1000,10000,100000,1000000] [--engine-up-to 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine, Settings  # noqa: E402
from qa.chunking import split_article  # noqa: E402
from qa.evaluation import facqa  # noqa: E402
from qa.reading import read_paths  # noqa: E402
from qa.store import Entry  # noqa: E402
from qa.types import Article  # noqa: E402
from qa.vectors import VectorOptions, vector_index  # noqa: E402

STAGES = ("snapshot", "embed", "dense", "lexical", "passages", "rank", "results")
QUESTIONS = 200


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def prepare(work: Path, facqa_dir: Path) -> None:
    """Real passages, their vectors and the questions' vectors, shared by every size."""
    articles = read_paths([ROOT / "corpus"]).articles
    jsonl = work / "facqa.jsonl"
    items = facqa(facqa_dir, "valid", jsonl)
    articles += read_paths([jsonl]).articles
    texts = [p.text for a in articles for p in split_article(a)]
    engine = Engine(Settings(index_dir=work / "unused", corpus_dir=work / "none"))
    started = time.perf_counter()
    vectors = engine.embedder.embed_passages(texts)
    rate = len(texts) / (time.perf_counter() - started)
    questions = [i.question for i in items][:QUESTIONS]
    np.save(work / "vectors.npy", vectors)
    np.save(work / "questions.npy", np.stack([engine.embedder.embed_query(q) for q in questions]))
    (work / "texts.json").write_text(json.dumps({"texts": texts, "questions": questions, "rate": rate}))


def synthetic(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` unit vectors: the real ones first, then draws from their fitted Gaussian."""
    if n <= len(real):
        return real[:n]
    rng = np.random.default_rng(seed)
    drawn = rng.multivariate_normal(real.mean(0), np.cov(real, rowvar=False), n - len(real), method="cholesky")
    drawn = (drawn / np.linalg.norm(drawn, axis=1, keepdims=True)).astype(np.float32)
    return np.concatenate([real, drawn])


def recall_at_10(index, vectors: np.ndarray, queries: np.ndarray) -> float:
    hits = []
    for query in queries:
        exact = set(np.argpartition(-(vectors @ query), 10)[:10].tolist())
        hits.append(len(exact & {p for p, _ in index.search(query, 10)}) / 10)
    return float(np.mean(hits))


def one_size(work: Path, n: int, engine_up_to: int, options: VectorOptions) -> dict:
    shared = json.loads((work / "texts.json").read_text())
    texts, questions, rate = shared["texts"], shared["questions"], shared["rate"]
    if n <= engine_up_to:
        settings = Settings(index_dir=work / f"index-{n}", corpus_dir=work / "none",
                            exact_search_below=options.exact_below, hnsw_m=options.hnsw_m,
                            hnsw_ef_construction=options.hnsw_ef_construction, hnsw_ef_search=options.hnsw_ef_search)
        engine = Engine(settings)
        engine.embedder  # the model is loaded before memory is counted
    base_rss = rss_mb()  # before the vectors exist: they are freed once indexed
    vectors = synthetic(np.load(work / "vectors.npy"), n)
    queries = np.load(work / "questions.npy")
    row = {"passages": n, "vectors": "real" if n <= len(texts) else f"{len(texts)} real + synthetic",
           "embed h (est.)": n / rate / 3600}
    if n > engine_up_to:
        started = time.perf_counter()
        index = vector_index(vectors, options)
        row["build s"] = time.perf_counter() - started
        row["index"] = index.kind
        row["disk MB"] = float("nan")
        del vectors  # the index keeps its own copy
        row["RSS MB"] = rss_mb() - base_rss
        times = []
        for query in queries:
            t = time.perf_counter()
            index.search(query, 50)
            times.append(time.perf_counter() - t)
        row["p50 ms"], row["p99 ms"] = percentile(times, 50) * 1000, percentile(times, 99) * 1000
        row["recall@10"] = recall_at_10(index, index.vectors(), queries)
        row["stages"] = "vector search only"
        return row

    started = time.perf_counter()
    index = engine._writable_index()
    for start in range(0, n, 5000):
        entries = []
        for i in range(start, min(n, start + 5000)):
            article = Article(id=f"p{i}", text=texts[i % len(texts)], source="bench", date="2024-01-01")
            passages = split_article(article)[:1]
            entries.append(Entry(article, passages, vectors[i : i + 1]))
        index.write(entries)
    written = time.perf_counter()
    snapshot = index.refresh()
    loaded = time.perf_counter()
    del vectors
    row.update({"build s": loaded - started, "store s": written - started, "load s": loaded - written,
                "index": snapshot.vectors.kind,
                "disk MB": sum(f.stat().st_size for f in settings.index_dir.rglob("*") if f.is_file()) / 2**20,
                "RSS MB": rss_mb() - base_rss})
    engine.ask(questions[0])
    totals, stages = [], {s: [] for s in STAGES}
    for question in questions:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        engine.ask(question, timings=timings)
        totals.append(time.perf_counter() - t)
        for s in STAGES:
            stages[s].append(timings.get(s, 0.0))
    row["p50 ms"], row["p99 ms"] = percentile(totals, 50) * 1000, percentile(totals, 99) * 1000
    row["recall@10"] = recall_at_10(snapshot.vectors, snapshot.vectors.vectors(), queries)
    row["stages"] = " ".join(f"{s} {statistics.median(v) * 1000:.1f}" for s, v in stages.items())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--engine-up-to", type=int, default=100_000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    defaults = Settings()
    parser.add_argument("--exact-below", type=int, default=defaults.exact_search_below)
    parser.add_argument("--hnsw-m", type=int, default=defaults.hnsw_m)
    parser.add_argument("--ef-construction", type=int, default=defaults.hnsw_ef_construction)
    parser.add_argument("--ef-search", type=int, default=defaults.hnsw_ef_search)
    args = parser.parse_args()
    options = VectorOptions(args.exact_below, args.hnsw_m, args.ef_construction, args.ef_search)
    if args.one:
        print(json.dumps(one_size(args.work, args.one, args.engine_up_to, options)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work, args.facqa)
        for n in map(int, args.sizes.split(",")):
            command = [sys.executable, __file__, "--one", str(n), "--work", str(work), "--engine-up-to",
                       str(args.engine_up_to), "--exact-below", str(args.exact_below), "--hnsw-m", str(args.hnsw_m),
                       "--ef-construction", str(args.ef_construction), "--ef-search", str(args.ef_search)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"size {n} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"done {n}", file=sys.stderr, flush=True)
    columns = ["passages", "vectors", "index", "build s", "load s", "embed h (est.)", "disk MB", "RSS MB",
               "p50 ms", "p99 ms", "recall@10"]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        cells = [row.get(c, float("nan")) for c in columns]
        print("| " + " | ".join(f"{c:.2f}" if isinstance(c, float) else str(c) for c in cells) + " |")
    print("\nmedian ms per stage (in-process, warm):")
    for row in rows:
        print(f"  {row['passages']:>9,}: {row['stages']}")
    print(f"\n{QUESTIONS} FacQA valid questions per size; peak RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB (largest size)")


if __name__ == "__main__":
    main()
