"""The Milvus backend against the local one, and embedding on Ray against one process: all in one
run, each ratio against its baseline measured in the same process.

1. Quality: the own question set (over corpus/) and FacQA valid (over FacQA's 1,295 passages),
   asked on a local index and on a Milvus Lite index of the same passages and vectors (or on a
   Milvus server: --milvus-uri): hit@1, MRR@10 and the short answers' F1 must be equal (within
   0.01).
2. Speed and recall: retrieval alone (both sides: BM25 over the question's stems and the 50
   nearest vectors, both scores for every candidate, the passages read), over 10k and 100k
   passages (the real ones first, then synthetic vectors as in benchmarks/scaling.py), 200
   FacQA valid questions one at a time, warm; recall@10 of the dense side against exact search.
3. Ray: passages per second embedding FacQA's passages in this process, and through a local
   Ray (or the cluster at --ray-address) with 1 and 2 workers.

    python benchmarks/backends.py [--sizes 10000,100000] [--questions 200] [--skip quality,speed,ray] [--ray-address HEAD:PORT]
                                  [--milvus-uri http://host:19530]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import ROOT, percentile, prepare, synthetic, table  # noqa: E402

from qa import Engine, Settings  # noqa: E402
from qa.backends import Filters, Manifest, open_backend  # noqa: E402
from qa.chunking import split_article  # noqa: E402
from qa.embedding.base import PassageEmbedder  # noqa: E402
from qa.evaluation import Evaluation, facqa, load_questions  # noqa: E402
from qa.lexical import stems  # noqa: E402
from qa.reading import read_paths  # noqa: E402
from qa.store import Entry  # noqa: E402
from qa.types import Article, Passage  # noqa: E402

DEPTH = 50


class Remembered(PassageEmbedder):
    """The model's vectors, each text embedded once however many indexes it goes into."""

    def __init__(self, embedder):
        self.embedder, self.dimension, self.known = embedder, embedder.dimension, {}

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.known]
        if new:
            self.known.update(zip(new, self.embedder.embed_passages(new)))
        if progress:
            progress(len(texts))
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_chunks(self, chunks: Iterable[Sequence[str]], progress=None) -> Iterator[np.ndarray]:
        for texts in chunks:
            yield self.embed_passages(texts, progress)


def milvus_settings(uri: str | None, name: str) -> dict:
    """Settings of a Milvus index for the run: Milvus Lite in the work folder, or collections of
    their own on the server at `uri`."""
    return {"milvus_uri": uri, "milvus_collection": f"bench_{name}"} if uri else {}


def quality(work: Path, facqa_dir: Path, milvus_uri: str | None = None) -> list[dict]:
    base = Engine(Settings(index_dir=work / "unused", corpus_dir=work / "none"))
    remembered = Remembered(base.embedder)
    items = {"own questions": (load_questions(ROOT / "benchmarks" / "questions.jsonl"), [ROOT / "corpus"]),
             "FacQA valid": (facqa(facqa_dir, "valid", work / "facqa.jsonl"), [work / "facqa.jsonl"])}
    rows = []
    for name, (questions, paths) in items.items():
        for backend in ("local", "milvus"):
            engine = Engine(base.settings, embedder=base.embedder, backend=backend,
                            index_dir=work / f"quality-{backend}-{len(rows)}",
                            **(milvus_settings(milvus_uri, f"quality{len(rows)}") if backend == "milvus" else {}))
            engine.passage_embedder = remembered
            engine.build_index(paths)
            started = time.perf_counter()
            scores = Evaluation(engine, questions).run(f"{name}, {backend}")
            rows.append({"set": name, "backend": backend, "questions": scores.questions, "hit@1": scores.hit1,
                         "MRR@10": scores.mrr10, "answer F1": scores.f1,
                         "s/question": (time.perf_counter() - started) / scores.questions})
            engine.backend.close()
    return rows


def speed(work: Path, n: int, texts: list[str], questions: list[str], queries: np.ndarray,
          milvus_uri: str | None = None) -> list[dict]:
    vectors = synthetic(work, n)
    manifest = Manifest(model="bench", dimension=vectors.shape[1], query_prefix="", passage_prefix="",
                        built_at="")
    rows = []
    for name in ("local", "milvus"):
        backend = open_backend(Settings(backend=name, index_dir=work / f"speed-{name}-{n}",
                                        **(milvus_settings(milvus_uri, f"speed{n}") if name == "milvus" else {})))
        started = time.perf_counter()
        with backend.rebuild(manifest, resume=False) as build:
            for start in range(0, n, 5000):
                entries = []
                for i in range(start, min(n, start + 5000)):
                    text = texts[i % len(texts)]
                    article = Article(id=f"p{i}", text=text, source="bench", date="2024-01-01")
                    passage = Passage(f"p{i}:0", article.id, 0, text, 0, len(text), source="bench", date="2024-01-01")
                    entries.append(Entry(article, [passage], vectors[i : i + 1]))
                build.write(entries)
        backend.refresh()
        search = lambda stems_, vector, depth=DEPTH: backend.search(stems_, (lambda: vector) if vector is not None else None,  # noqa: E731
                                                                   depth, Filters())
        built = time.perf_counter() - started
        question_stems = [stems(q) for q in questions]
        search(question_stems[0], queries[0])  # warm: loaded, caches filled
        times = []
        for words, query in zip(question_stems, queries):
            t = time.perf_counter()
            search(words, query)
            times.append(time.perf_counter() - t)
        recall = []
        for query in queries:
            exact = {f"p{i}" for i in np.argpartition(-(vectors @ query), 10)[:10]}
            recall.append(len(exact & {h.passage.doc_id for h in search(None, query, 10)}) / 10)
        filtered_t = []
        for words, query in zip(question_stems[:50], queries[:50]):  # (all of them when fewer)
            t = time.perf_counter()
            backend.search(words, lambda: query, DEPTH, Filters(date_from="2024-01-01", sources=("bench",)))
            filtered_t.append(time.perf_counter() - t)
        rows.append({"passages": n, "backend": name, "build s": built, "p50 ms": percentile(times, 50) * 1000,
                     "p99 ms": percentile(times, 99) * 1000, "filtered p50 ms": percentile(filtered_t, 50) * 1000,
                     "recall@10": float(np.mean(recall))})
        backend.close()
    local, milvus = rows
    milvus["p50 x local"] = milvus["p50 ms"] / local["p50 ms"]
    return rows


def ray_throughput(texts: list[str], workers: list[int], address: str | None = None) -> list[dict]:
    from qa.embedding.ray_pool import RayEmbedder

    engine = Engine(Settings(index_dir="/nonexistent", corpus_dir="/nonexistent"))
    embedder = engine.embedder
    embedder.embed_passages(texts[:64])  # warm
    started = time.perf_counter()
    embedder.embed_passages(texts)
    baseline = len(texts) / (time.perf_counter() - started)
    rows = [{"embedding": "this process", "workers": 1, "passages/s": baseline, "x one process": 1.0}]
    for count in workers:
        started = time.perf_counter()
        ray = RayEmbedder(engine.settings, embedder.dimension, address=address, workers=count)
        list(ray.embed_chunks([texts[:64]]))  # the actors start and load the model
        ready = time.perf_counter()
        list(ray.embed_chunks([texts[i : i + 256] for i in range(0, len(texts), 256)]))
        rate = len(texts) / (time.perf_counter() - ready)
        rows.append({"embedding": f"Ray at {address}" if address else "local Ray", "workers": count,
                     "passages/s": rate, "x one process": rate / baseline,
                     "start s": ready - started})
        ray.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--ray-workers", default="1,2")
    parser.add_argument("--ray-address", help="a Ray cluster's head (head:6379) to measure instead of a local Ray")
    parser.add_argument("--questions", type=int, default=200, help="questions per size (Milvus Lite searches are slow)")
    parser.add_argument("--skip", default="", help="comma-separated: quality, speed, ray")
    parser.add_argument("--milvus-uri", help="a Milvus server to measure instead of Milvus Lite (collections bench_*)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    flags = next((line.split(":", 1)[1].split() for line in
                  subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                  if line.startswith("Flags")), [])
    model = next((line.split(":", 1)[1].strip() for line in
                  subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                  if line.startswith("Model name")), platform.processor())
    print(f"CPU: {model}, {os.cpu_count()} cores; AVX-512: {'avx512f' in flags}, AMX: {'amx_tile' in flags}\n")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "quality" not in skip:
            print(f"quality, local vs {args.milvus_uri or 'Milvus Lite'} (same passages, same vectors):")
            print(table(quality(work, args.facqa, args.milvus_uri), ["set", "backend", "questions", "hit@1", "MRR@10", "answer F1",
                                                     "s/question"]) + "\n", flush=True)
        if "speed" not in skip:
            prepare(work, args.facqa)
            shared = json.loads((work / "texts.json").read_text())
            questions, queries = shared["questions"][: args.questions], np.load(work / "questions.npy")[: args.questions]
            print(f"retrieval alone (BM25 + {DEPTH} nearest, both scores, passages read), {len(questions)} FacQA "
                  f"questions, warm (filtered: {min(50, len(questions))} of them, a date and a source filter):")
            columns = ["passages", "backend", "build s", "p50 ms", "p99 ms", "filtered p50 ms", "recall@10",
                       "p50 x local"]
            print(table([], columns), flush=True)
            for n in map(int, args.sizes.split(",")):
                rows = speed(work, n, shared["texts"], questions, queries, args.milvus_uri)
                print("\n".join(table(rows, columns).splitlines()[2:]), flush=True)
            print()
        if "ray" not in skip:
            facqa(args.facqa, "valid", work / "facqa.jsonl")
            texts = [p.text for a in read_paths([ROOT / "corpus", work / "facqa.jsonl"]).articles
                     for p in split_article(a)]
            print(f"embedding {len(texts)} passages (FacQA + corpus/):")
            print(table(ray_throughput(texts, [int(w) for w in args.ray_workers.split(",")], args.ray_address),
                        ["embedding", "workers", "passages/s", "x one process", "start s"]))


if __name__ == "__main__":
    main()
