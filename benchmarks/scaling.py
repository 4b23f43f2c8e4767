"""How cost grows with corpus size: build time, disk, memory, query latency by stage, recall.

Sizes default to 1k, 10k, 100k and 1M passages. Texts are real: FacQA's 1,295 passages and the
default corpus's, repeated (as distinct articles) to reach a size. Vectors: the 1,308 real
passages are embedded with the configured model; beyond them, vectors are synthetic (embedding
1M passages would take hours here; "embed h (est.)" is the time the measured rate implies).

A synthetic vector stands for a passage made of 1-4 real sentences: the length-weighted mean of
their real vectors, plus a residual drawn from a Gaussian fitted to how the real embedding of
such a passage differs from that mean (measured on real embeddings of random sentence mixes,
whose cosine to the mean is printed). The benchmark also prints how hard each kind of vector
is for approximate search: a small HNSW graph's recall@10 on real mixes, on synthetic vectors
and on plain Gaussian draws of the same size. Synthetic vectors come out harder than real
ones, so parameters that reach recall 0.98 on them are on the safe side.

Up to --engine-up-to passages (default 100k) the whole engine is measured: passages written to
the store ("build s" includes it), the snapshot loaded ("load s": vectors and BM25 into memory,
the graph built and saved), then FacQA valid questions asked in-process, warm, with the time of
every stage, then one article added ("write s": committed and searchable), one replaced
("replace s": its old passage deleted, a new one added), and the index opened afresh
("reopen s": what a restarted server pays, reading the saved graph). Above it, only the vector
index is built, searched, saved and read back ("reopen s").
Recall@10 compares the index's top 10 with exact search over the same vectors. From
--sweep-from passages (default 100k), the approximate index is also built and searched at
several search depths (HNSW efSearch, IVF probes), to show which reach recall@10 ≥ 0.98.

Index settings come from the QA_* environment, as for the product (QA_APPROXIMATE_INDEX,
QA_HNSW_EF_SEARCH, ...); each size's process inherits them.

    python benchmarks/scaling.py [--sizes 1000,10000,100000,1000000] [--engine-up-to 100000]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine, Settings  # noqa: E402
from qa.chunking import split_article  # noqa: E402
from qa.evaluation import facqa  # noqa: E402
from qa.backends.local import LocalBackend  # noqa: E402
from qa.reading import read_paths  # noqa: E402
from qa.store import Entry  # noqa: E402
from qa.types import Article  # noqa: E402
from qa.vectors import FaissHNSW, VectorOptions, read_vector_index, vector_index  # noqa: E402

STAGES = ("snapshot", "lexical", "embed", "dense", "passages", "rank", "answer")
QUESTIONS = 200


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“])")
MIXES = 3000  # real embeddings of sentence mixes, to fit the synthetic residual
SWEEP_DEPTHS = {"FaissHNSW": [128, 256, 512, 1024, 2048], "FaissIVF": [32, 64, 128, 256, 512]}
HARDNESS = dict(m=8, ef_construction=40, ef_search=16)  # a small graph, so recall differences show


def prepare(work: Path, facqa_dir: Path) -> None:
    """Real passages, their vectors, the questions' vectors and the synthetic vectors' model,
    shared by every size."""
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

    sentences = list(dict.fromkeys(s for t in texts for s in SENTENCE_END.split(t) if len(s.split()) >= 4))
    sentence_vectors = engine.embedder.embed_passages(sentences)
    weights = np.array([len(s.split()) for s in sentences], dtype=np.float32)
    rng = np.random.default_rng(1)
    picks = [rng.choice(len(sentences), rng.integers(1, 5), replace=False) for _ in range(MIXES)]
    mixes = engine.embedder.embed_passages([" ".join(sentences[i] for i in p) for p in picks])
    means = np.stack([_unit(weights[p] @ sentence_vectors[p]) for p in picks])
    residuals = mixes - means
    np.savez(work / "synthetic.npz", sentences=sentence_vectors, weights=weights, residual_mean=residuals.mean(0),
             residual_factor=np.linalg.cholesky(np.cov(residuals, rowvar=False) + 1e-9 * np.eye(mixes.shape[1])),
             mixes=mixes)
    (work / "texts.json").write_text(json.dumps({
        "texts": texts, "questions": questions, "rate": rate,
        "mix cosine": float(np.mean(np.sum(means * mixes, axis=1))), "sentences": len(sentences),
    }))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def synthetic(work: Path, n: int, seed: int = 0) -> np.ndarray:
    """`n` unit vectors: the real passages' first, then synthetic ones (see the top)."""
    real = np.load(work / "vectors.npy")
    if n <= len(real):
        return real[:n]
    model = np.load(work / "synthetic.npz")
    sentences, weights = model["sentences"], model["weights"]
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), np.float32)
    out[: len(real)] = real
    for start in range(len(real), n, 100_000):
        m = min(n, start + 100_000) - start
        chosen = rng.integers(0, len(sentences), size=(m, 4))
        used = weights[chosen] * (np.arange(4) < rng.integers(1, 5, size=(m, 1)))  # 1-4 sentences
        mean = _unit(np.einsum("mk,mkd->md", used, sentences[chosen]))
        noise = rng.standard_normal((m, real.shape[1]), dtype=np.float32) @ model["residual_factor"].T
        out[start : start + m] = _unit(mean + model["residual_mean"] + noise)
    return out


def hardness(work: Path) -> dict[str, float]:
    """Recall@10 of a small HNSW graph on real sentence mixes, synthetic vectors and Gaussian
    draws, as many of each, for the questions: lower is harder."""
    mixes = np.load(work / "synthetic.npz")["mixes"]
    queries = np.load(work / "questions.npy")
    rng = np.random.default_rng(2)
    gaussian = _unit(rng.multivariate_normal(mixes.mean(0), np.cov(mixes, rowvar=False), len(mixes)))
    drawn = synthetic(work, len(np.load(work / "vectors.npy")) + len(mixes))[-len(mixes):]
    options = VectorOptions(hnsw_m=HARDNESS["m"], hnsw_ef_construction=HARDNESS["ef_construction"],
                            hnsw_ef_search=HARDNESS["ef_search"])
    return {name: recall_at_10(FaissHNSW(vectors, options), vectors, queries)
            for name, vectors in (("real mixes", mixes), ("synthetic", drawn), ("gaussian", gaussian))}


def recall_at_10(index, vectors: np.ndarray, queries: np.ndarray) -> float:
    hits = []
    for query in queries:
        exact = set(np.argpartition(-(vectors @ query), 10)[:10].tolist())
        hits.append(len(exact & {p for p, _ in index.search(query, 10)}) / 10)
    return float(np.mean(hits))


def search_times(index, queries: np.ndarray) -> tuple[float, float]:
    """p50 and p99 milliseconds of a 50-candidate search, one question at a time."""
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, 50)
        times.append(time.perf_counter() - started)
    return percentile(times, 50) * 1000, percentile(times, 99) * 1000


def sweep(index, vectors: np.ndarray, queries: np.ndarray) -> list[dict]:
    """Recall@10 and latency of the approximate `index` at several search depths."""
    rows = []
    for depth in SWEEP_DEPTHS[type(index).__name__]:
        index.search_depth = depth
        p50, p99 = search_times(index, queries)
        rows.append({"index": index.kind, "recall@10": recall_at_10(index, vectors, queries), "p50 ms": p50,
                     "p99 ms": p99})
    return rows


def one_size(work: Path, n: int, engine_up_to: int, sweep_from: int) -> dict:
    shared = json.loads((work / "texts.json").read_text())
    texts, questions, rate = shared["texts"], shared["questions"], shared["rate"]
    settings = Settings(index_dir=work / f"index-{n}", corpus_dir=work / "none")  # index settings: QA_*
    options = VectorOptions.from_settings(settings)
    approximate = replace(options, exact_search_below=0)
    if n <= engine_up_to:
        engine = Engine(settings)
        engine.embedder  # the model is loaded before memory is counted
    base_rss = rss_mb()  # before the vectors exist: they are freed once indexed
    vectors = synthetic(work, n)
    queries = np.load(work / "questions.npy")
    row = {"passages": n, "vectors": "real" if n <= len(texts) else f"{len(texts)} real + synthetic",
           "embed h (est.)": n / rate / 3600, "sweep": []}
    if n > engine_up_to:
        started = time.perf_counter()
        index = vector_index(vectors, options)
        row["build s"] = time.perf_counter() - started
        row["index"] = index.kind
        del vectors  # the index keeps its own copy
        row["RSS MB"] = rss_mb() - base_rss
        if index.worth_saving:
            with tempfile.TemporaryFile() as file:
                index.save(file)
                file.seek(0)
                started = time.perf_counter()
                read_vector_index(file, options)
                row["reopen s"] = time.perf_counter() - started
        row["p50 ms"], row["p99 ms"] = search_times(index, queries)
        row["recall@10"] = recall_at_10(index, index.vectors(), queries)
        row["stages"] = "vector search only"
        if n >= sweep_from and index.search_depth is not None:
            row["sweep"] = sweep(index, index.vectors(), queries)
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
    for column, article in (("write s", Article(id="one-more", text=texts[0], source="bench", date="2024-01-02")),
                            ("replace s", Article(id="p1", text=texts[0], source="bench", date="2024-01-02"))):
        started = time.perf_counter()  # then searchable: what a news feed costs
        index.write([Entry(article, split_article(article)[:1], vectors[:1])])
        index.refresh()
        row[column] = time.perf_counter() - started
    started = time.perf_counter()
    LocalBackend(settings).snapshot()
    row["reopen s"] = time.perf_counter() - started
    if n >= sweep_from:
        row["sweep"] = sweep(vector_index(vectors, approximate), vectors, queries)
    return row


def table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [row.get(c, float("nan")) for c in columns]
        lines.append("| " + " | ".join(f"{c:.3f}" if name == "recall@10" else f"{c:.2f}" if isinstance(c, float)
                                        else str(c) for name, c in zip(columns, cells)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--engine-up-to", type=int, default=100_000)
    parser.add_argument("--sweep-from", type=int, default=100_000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.work, args.one, args.engine_up_to, args.sweep_from)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work, args.facqa)
        shared = json.loads((work / "texts.json").read_text())
        hard = hardness(work)
        for n in map(int, args.sizes.split(",")):
            command = [sys.executable, __file__, "--one", str(n), "--work", str(work), "--engine-up-to",
                       str(args.engine_up_to), "--sweep-from", str(args.sweep_from)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"size {n} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"done {n}", file=sys.stderr, flush=True)
    options = VectorOptions.from_settings(Settings())
    print(f"index settings: {options}\n")
    print(table(rows, ["passages", "vectors", "index", "build s", "load s", "write s", "replace s", "reopen s",
                       "embed h (est.)", "disk MB",
                       "RSS MB", "p50 ms", "p99 ms", "recall@10"]))
    print("\nmedian ms per stage (in-process, warm):")
    for row in rows:
        print(f"  {row['passages']:>9,}: {row['stages']}")
    sweeps = [{"passages": row["passages"], **s} for row in rows for s in row["sweep"]]
    if sweeps:
        print("\napproximate index by search depth (vector search alone, 50 candidates; target recall@10 >= 0.98):")
        print(table(sweeps, ["passages", "index", "recall@10", "p50 ms", "p99 ms"]))
    print(f"\nsynthetic vectors: {shared['sentences']} real sentences; real embedding of a mix vs its mean: "
          f"cosine {shared['mix cosine']:.3f}")
    print(f"how hard for approximate search (HNSW M={HARDNESS['m']} efSearch={HARDNESS['ef_search']} recall@10, "
          f"{MIXES:,} vectors each; lower is harder): " + ", ".join(f"{k} {v:.3f}" for k, v in hard.items()))
    print(f"{QUESTIONS} FacQA valid questions per size; peak RSS of a size's process "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB (largest size)")


if __name__ == "__main__":
    main()
